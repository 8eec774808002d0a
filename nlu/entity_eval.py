"""Precision and recall of the entity extractor against the spans annotated in Rasa training files.

A predicted entity counts as correct when it overlaps an annotated span of the same type. Only
examples with at least one annotation are scored, since annotators mark the entities that matter for
the example rather than every one, and unannotated examples would charge the extractor for that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from nlu.entities import extract_entities
from nlu.normalize import normalize
from nlu.training_data import Example, read_rasa_nlu

ENTITY_TYPES = ("address", "phone", "time", "person", "age")
_NOW = datetime(2025, 3, 3, 10, 0)  # a fixed Monday morning: the scores must not depend on the day


def _gold_spans(ex: Example, clean: str) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    search_from = 0
    for sp in ex.spans:
        target = normalize(sp.text)
        at = clean.find(target, search_from)
        if at < 0:
            at = clean.find(target)
        if at < 0 or not target:
            continue
        spans.append((sp.entity, at, at + len(target)))
        search_from = at + len(target)
    return spans


def score_entities(examples: Sequence[Example]) -> dict[str, tuple[int, int, int, int]]:
    """Per entity type: (correct predictions, predictions, gold spans, gold spans found)."""
    tp: Counter[str] = Counter()
    pred: Counter[str] = Counter()
    gold: Counter[str] = Counter()
    for ex in examples:
        if not ex.spans:
            continue
        clean = normalize(ex.text)
        golds = _gold_spans(ex, clean)
        found = extract_entities(clean, _NOW)
        for kind, _, _ in golds:
            gold[kind] += 1
        for e in found:
            pred[e.entity] += 1
            if any(k == e.entity and e.start < end and start < e.end for k, start, end in golds):
                tp[e.entity] += 1
        # recall counts each gold span once, however many predictions overlap it
        for kind, start, end in golds:
            if any(e.entity == kind and e.start < end and start < e.end for e in found):
                tp["_recall_" + kind] += 1
    return {k: (tp[k], pred[k], gold[k], tp["_recall_" + k]) for k in ENTITY_TYPES}


def entity_report(files: Sequence[Path]) -> list[str]:
    examples = [ex for f in files for ex in read_rasa_nlu(f)]
    annotated = sum(1 for ex in examples if ex.spans)
    lines = [
        f"annotated examples: {annotated} of {len(examples)}",
        f"{'entity':<8} {'gold':>5} {'found':>6} {'precision':>9} {'recall':>7}",
    ]
    for kind, (tp, pred, gold, hit) in score_entities(examples).items():
        precision = tp / pred if pred else 0.0
        recall = hit / gold if gold else 0.0
        lines.append(f"{kind:<8} {gold:>5} {pred:>6} {precision:>9.3f} {recall:>7.3f}")
    return lines
