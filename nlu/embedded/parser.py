"""The in-process parser: normalise, classify, extract entities."""

from __future__ import annotations

import gc
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from nlu.embedded.model import Model, load_or_train
from nlu.entities import extract_entities
from nlu.normalize import normalize
from nlu.parse import NONE_INTENT, Parse, ParseKind, Ranked, kind_of

TOP_K = 5


class EmbeddedParser:
    """`nlu.parse.Parser` backed by the linear model in var/models/nlu/embedded.pkl.

    The model is loaded (or trained, when missing or stale) on first use, once per process.
    """

    def __init__(self, model: Model | None = None, path: Path | None = None) -> None:
        self._model = model
        self._path = path
        self._lock = threading.Lock()

    @property
    def model(self) -> Model:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = load_or_train(self._path)
                    # the model is read-only from now on: keep its many objects out of every GC pass
                    gc.freeze()
        return self._model

    async def parse(self, text: str, *, now: Any = None) -> Parse:
        return self.parse_sync(text, now=now)

    def parse_sync(self, text: str, *, now: datetime | None = None) -> Parse:
        """Parse one message; the same result as `parse`, without an event loop."""
        model = self.model
        clean = normalize(text)
        entities = extract_entities(clean, now)
        if not clean:
            return Parse(text, ParseKind.NONE, NONE_INTENT, 1.0, (Ranked(NONE_INTENT, 1.0),), entities)
        probs = model.proba(clean)
        top = np.argsort(-probs)[:TOP_K]
        ranking = tuple(Ranked(model.labels[i], round(float(probs[i]), 4)) for i in top)
        best = ranking[0]
        if best.confidence < model.threshold and best.label != NONE_INTENT:
            label, confidence = NONE_INTENT, round(1.0 - best.confidence, 4)
        else:
            label, confidence = best.label, best.confidence
        return Parse(text, kind_of(label), label, confidence, ranking, entities)


_default: EmbeddedParser | None = None


def default_parser() -> EmbeddedParser:
    """The process-wide embedded parser."""
    global _default
    if _default is None:
        _default = EmbeddedParser()
    return _default
