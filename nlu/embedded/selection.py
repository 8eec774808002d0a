"""Model selection: fit candidate configurations on the 85% split and score them on what was left out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from catalog.loader import load_catalog
from nlu.embedded.augment import catalog_examples
from nlu.embedded.features import FeatureConfig
from nlu.embedded.model import TrainConfig, fit, fit_temperature, fit_threshold, split_holdout
from nlu.embedded.parser import EmbeddedParser
from nlu.evaluation import Report, evaluate
from nlu.normalize import normalize
from nlu.parse import NONE_INTENT
from nlu.paths import DATA_DIR, EXAMPLES_FILE, HELDOUT_DIR
from nlu.training_data import Example, read_dir, read_examples_file

CANDIDATES: dict[str, TrainConfig] = {
    "svc C=1 (default)": TrainConfig(),
    "svc C=0.5": TrainConfig(c=0.5),
    "svc C=1 chars 1-3 + word bigrams": TrainConfig(features=FeatureConfig(char_max=3, word_bigrams=True)),
    "svc C=1 balanced": TrainConfig(balanced=True),
    "svc C=1 +word bigrams": TrainConfig(features=FeatureConfig(word_bigrams=True)),
    "svc C=1 +pinyin": TrainConfig(features=FeatureConfig(pinyin=True)),
    "svc C=1 min_df=2": TrainConfig(min_df=2),
    "svc no catalog augmentation": TrainConfig(augment=False),
    "sgd modified_huber a=1e-5": TrainConfig(classifier="sgd", c=1e-5),
    "logreg C=20": TrainConfig(classifier="logreg", c=20.0),
}


def _score(
    config: TrainConfig, train: Sequence[Example], held: Sequence[Example], tests: dict[str, list[Example]]
) -> dict[str, Report | float]:
    started = time.perf_counter()
    extra = catalog_examples(load_catalog()) if config.augment else []
    model = fit(train, config, extra)
    texts = [normalize(e.text) for e in held]
    labels = [e.label for e in held]
    model.temperature = fit_temperature(model, texts, labels)
    model.threshold = fit_threshold(model, texts, labels) if NONE_INTENT in model.labels else 0.0
    seconds = time.perf_counter() - started
    parser = EmbeddedParser(model)
    out: dict[str, Report | float] = {"fit_s": seconds}
    out["split"] = evaluate(parser.parse_sync, held)
    for name, examples in tests.items():
        out[name] = evaluate(parser.parse_sync, examples)
    return out


def test_sets() -> dict[str, list[Example]]:
    """The cross-author held-out files and examples.yml, where present."""
    sets: dict[str, list[Example]] = {}
    heldout = read_dir(HELDOUT_DIR, reader="examples") if HELDOUT_DIR.exists() else []
    if heldout:
        sets["heldout"] = heldout
    if EXAMPLES_FILE.exists():
        sets["examples"] = read_examples_file(EXAMPLES_FILE)
    return sets


def select(names: Sequence[str] | None = None) -> list[str]:
    """Score each candidate and return printable lines, one per candidate."""
    examples = read_dir(DATA_DIR)
    train, held = split_holdout(examples)
    tests = test_sets()
    lines = [
        f"split: train {len(train)}, held out {len(held)}; "
        + ", ".join(f"{k}: {len(v)}" for k, v in tests.items())
    ]
    for name in names or list(CANDIDATES):
        res = _score(replace(CANDIDATES[name]), train, held, tests)
        cols = [f"fit {res['fit_s']:.1f}s"]
        for key in ("split", *tests):
            rep = res[key]
            assert isinstance(rep, Report)
            cols.append(
                f"{key} top1 {rep.catalog_top1:.3f} top3 {rep.catalog_top3:.3f} "
                f"all {rep.top1:.3f} none R {rep.none_recall:.2f}"
            )
        lines.append(f"{name:<30} " + " | ".join(cols))
        print(lines[-1], flush=True)
    return lines
