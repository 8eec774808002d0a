"""Training, saving and loading the embedded linear intent classifier."""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.svm import LinearSVC

from catalog.loader import load_catalog
from nlu.embedded.augment import catalog_examples, noised_examples
from nlu.embedded.features import FastVectorizer, FeatureConfig, analyze
from nlu.normalize import normalize
from nlu.parse import NONE_INTENT
from nlu.paths import CATALOG_DATA_DIR, DATA_DIR, model_dir
from nlu.training_data import Example, read_dir

log = logging.getLogger(__name__)

MODEL_NAME = "embedded.pkl"
FORMAT_VERSION = 5  # bump when features or the saved layout change, so old models count as stale
HOLDOUT_FRACTION = 0.15
CATALOG_WEIGHT = 0.5  # catalog names are clean but not how people talk


@dataclass(frozen=True, slots=True)
class TrainConfig:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    classifier: str = "svc"  # svc | logreg | sgd (c is then alpha)
    c: float = 1.0
    min_df: int = 1
    augment: bool = True
    balanced: bool = (
        False  # class_weight="balanced" shrinks the one big out_of_scope class to one intent's worth
    )
    asr_noise: float = 0.0  # share of in-scope examples that also get a recognizer-noised copy
    noise_weight: float = 0.5


@dataclass
class Model:
    """Everything needed to classify a normalised text, without scikit-learn objects."""

    labels: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray  # (n_features, n_labels) float32
    intercept: np.ndarray
    temperature: float
    threshold: float
    config: TrainConfig
    data_hash: str
    metrics: dict[str, Any] = field(default_factory=dict)
    _vectorizer: FastVectorizer | None = field(default=None, repr=False)

    def vectorizer(self) -> FastVectorizer:
        if self._vectorizer is None:
            self._vectorizer = FastVectorizer(self.vocabulary, self.idf, self.config.features)
        return self._vectorizer

    def scores(self, text: str) -> np.ndarray:
        idx, w = self.vectorizer().transform_one(text)
        return w.astype(np.float32) @ self.coef[idx] + self.intercept if len(idx) else self.intercept.copy()

    def proba(self, text: str) -> np.ndarray:
        """Class probabilities of a normalised text (temperature-scaled softmax of the scores)."""
        return softmax(self.scores(text), self.temperature)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores.astype(np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


def data_hash(data_dir: Path = DATA_DIR, catalog_dir: Path = CATALOG_DATA_DIR) -> str:
    """Hash of the training files, the catalog and the format version: a changed hash means retrain."""
    h = hashlib.sha256(f"format {FORMAT_VERSION}".encode())
    for path in sorted(data_dir.glob("*.yml")) + sorted(catalog_dir.glob("*.yml")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def split_holdout(
    examples: Sequence[Example], fraction: float = HOLDOUT_FRACTION
) -> tuple[list[Example], list[Example]]:
    """A deterministic random `fraction` of each intent's examples (at least one) held out."""
    by_label: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_label[ex.label].append(ex)
    train: list[Example] = []
    held: list[Example] = []
    for label in sorted(by_label):
        items = sorted(by_label[label], key=lambda e: e.text)
        random.Random(label).shuffle(items)
        k = max(1, round(len(items) * fraction)) if len(items) >= 4 else 0
        held.extend(items[:k])
        train.extend(items[k:])
    return train, held


def fit(examples: Sequence[Example], config: TrainConfig, extra: Sequence[Example] = ()) -> Model:
    """Fit features and classifier on examples (plus down-weighted catalog `extra` ones, and noised
    copies of the examples when the config asks for them)."""
    noised = noised_examples(examples, config.asr_noise)
    texts = [normalize(e.text) for e in (*examples, *extra, *noised)]
    labels = [e.label for e in (*examples, *extra, *noised)]
    weights = np.array(
        [1.0] * len(examples) + [CATALOG_WEIGHT] * len(extra) + [config.noise_weight] * len(noised)
    )
    vec = TfidfVectorizer(
        analyzer=lambda t: analyze(t, config.features),
        sublinear_tf=True,
        min_df=config.min_df,
        dtype=np.float32,
    )
    x = vec.fit_transform(texts)
    clf: LinearSVC | LogisticRegression | SGDClassifier
    weight = "balanced" if config.balanced else None
    if config.classifier == "svc":
        clf = LinearSVC(C=config.c, class_weight=weight)
    elif config.classifier == "sgd":
        clf = SGDClassifier(loss="modified_huber", alpha=config.c, class_weight=weight, random_state=0)
    else:
        clf = LogisticRegression(C=config.c, max_iter=300, class_weight=weight)
    clf.fit(x, labels, sample_weight=weights)
    coef = np.ascontiguousarray(clf.coef_.T, dtype=np.float32)
    intercept = clf.intercept_.astype(np.float32)
    classes = [str(c) for c in clf.classes_]
    if len(classes) == 2:  # scikit-learn keeps one column for two classes
        coef = np.hstack([-coef, coef])
        intercept = np.array([-intercept[0], intercept[0]], dtype=np.float32)
    vocabulary = {str(k): int(v) for k, v in vec.vocabulary_.items()}
    return Model(classes, vocabulary, vec.idf_.astype(np.float32), coef, intercept, 1.0, 0.0, config, "")


def fit_temperature(model: Model, texts: Sequence[str], labels: Sequence[str]) -> float:
    """The softmax temperature that minimises the held-out negative log-likelihood."""
    index = {lab: i for i, lab in enumerate(model.labels)}
    pairs = [(model.scores(t), index[lab]) for t, lab in zip(texts, labels, strict=True) if lab in index]
    if not pairs:
        return 1.0
    scores = np.stack([p[0] for p in pairs])
    gold = np.array([p[1] for p in pairs])
    best, best_nll = 1.0, math.inf
    for temp in np.geomspace(0.02, 5.0, 60):
        probs = softmax(scores, float(temp))
        nll = -np.log(probs[np.arange(len(gold)), gold] + 1e-12).mean()
        if nll < best_nll:
            best, best_nll = float(temp), float(nll)
    return best


def fit_threshold(model: Model, texts: Sequence[str], labels: Sequence[str]) -> float:
    """The confidence below which a message counts as out of scope.

    Chosen for the mean of two held-out figures, accuracy on in-scope messages and recall of
    out-of-scope ones, so that the few out-of-scope examples weigh as much as the many in-scope ones.
    Near-ties go to the lower threshold: the lowest one whose score is within one standard error of
    the best (the split holds few out-of-scope messages, ~60, so a few of them decide the best by
    chance). A wrong service guess can be corrected by the top-3 choices the conversation offers, a
    message wrongly called out of scope gets no choices at all; and voice transcripts, whose
    recognition errors lower the confidence, suffer most from a needlessly high threshold.
    """
    preds = []
    for t in texts:
        p = model.proba(t)
        i = int(p.argmax())
        preds.append((model.labels[i], float(p[i])))
    inside = [(pred, gold) for pred, gold in zip(preds, labels, strict=True) if gold != NONE_INTENT]
    outside = [pred for pred, gold in zip(preds, labels, strict=True) if gold == NONE_INTENT]
    if not outside or not inside:
        return 0.0
    curve: list[tuple[float, float, float]] = []  # threshold, score, standard error of the score
    for thr in np.arange(0.0, 0.8, 0.01):
        in_acc = sum(conf >= thr and lab == gold for (lab, conf), gold in inside) / len(inside)
        none_rec = sum(conf < thr or lab == NONE_INTENT for lab, conf in outside) / len(outside)
        se = math.sqrt(in_acc * (1 - in_acc) / len(inside) + none_rec * (1 - none_rec) / len(outside)) / 2
        curve.append((float(thr), (in_acc + none_rec) / 2, se))
    _, best_score, best_se = max(curve, key=lambda c: (c[1], -c[0]))
    return next(thr for thr, score, _ in curve if score >= best_score - best_se)


def train(data_dir: Path = DATA_DIR, config: TrainConfig | None = None, out: Path | None = None) -> Model:
    """Tune temperature and none threshold on the held-out split, then fit on all data and save."""
    config = config or TrainConfig()
    started = time.perf_counter()
    examples = read_dir(data_dir)
    if not examples:
        raise RuntimeError(f"no training examples in {data_dir}")
    extra = catalog_examples(load_catalog()) if config.augment else []
    train_part, held = split_holdout(examples)
    probe = fit(train_part, config, extra)
    held_texts = [normalize(e.text) for e in held]
    held_labels = [e.label for e in held]
    probe.temperature = fit_temperature(probe, held_texts, held_labels)
    threshold = fit_threshold(probe, held_texts, held_labels) if NONE_INTENT in probe.labels else 0.0
    split_acc = sum(
        probe.labels[int(probe.proba(t).argmax())] == lab
        for t, lab in zip(held_texts, held_labels, strict=True)
    ) / max(1, len(held))
    model = fit(examples, config, extra)
    model.temperature = probe.temperature
    model.threshold = threshold
    model.data_hash = data_hash(data_dir)
    model.metrics = {
        "examples": len(examples),
        "catalog_examples": len(extra),
        "labels": len(model.labels),
        "features": len(model.vocabulary),
        "split_holdout": len(held),
        "split_top1": round(split_acc, 4),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    save(model, out or model_dir() / MODEL_NAME)
    log.info("trained embedded NLU model: %s", model.metrics)
    return model


def save(model: Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    model._vectorizer = None
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def load(path: Path | None = None) -> Model:
    with (path or model_dir() / MODEL_NAME).open("rb") as f:
        model = pickle.load(f)
    if not isinstance(model, Model):
        raise TypeError(f"{path} does not hold an embedded NLU model")
    return model


def is_stale(path: Path | None = None, data_dir: Path = DATA_DIR) -> bool:
    """True when the saved model is missing or was trained on other data, catalog or format."""
    path = path or model_dir() / MODEL_NAME
    if not path.exists():
        return True
    try:
        return load(path).data_hash != data_hash(data_dir)
    except (OSError, pickle.UnpicklingError, TypeError, AttributeError, EOFError):
        return True


def load_or_train(path: Path | None = None, data_dir: Path = DATA_DIR) -> Model:
    """The saved model, retrained first when it is missing or stale."""
    path = path or model_dir() / MODEL_NAME
    if is_stale(path, data_dir):
        log.warning("embedded NLU model %s is missing or stale: training it now", path)
        return train(data_dir, out=path)
    return load(path)
