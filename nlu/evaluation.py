"""Scoring a parser on labelled examples: accuracy, top-3, per-category scores, confusions, none."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from nlu.parse import NONE_INTENT, Parse, ParseKind, kind_of
from nlu.training_data import Example

SERVICE_CATEGORIES = {
    "YL": "居家养老",
    "JY": "居家教育",
    "YI": "居家医疗",
    "SY": "居家三优",
    "JU": "居家就业",
    "WH": "居家文化",
    "AY": "居家安养",
    "BS": "居家办事",
}


def category_of(label: str) -> str:
    """The scoring bucket of a label: a service category or 365 group code, `dialogue` or `none`."""
    kind = kind_of(label)
    if kind in (ParseKind.SERVICE, ParseKind.CASE):
        return label[:2]
    return "dialogue" if kind is ParseKind.DIALOGUE else "none"


@dataclass
class Report:
    n: int = 0
    top1: float = 0.0
    catalog_n: int = 0
    catalog_top1: float = 0.0
    catalog_top3: float = 0.0
    none_n: int = 0
    none_precision: float = 0.0
    none_recall: float = 0.0
    per_category: dict[str, tuple[int, float]] = field(default_factory=dict)  # bucket -> (n, top-1)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)  # gold, predicted, count
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # text, gold, predicted

    def lines(self, worst: int = 12) -> list[str]:
        out = [
            f"examples: {self.n}   top-1 (all labels): {self.top1:.3f}",
            f"catalog codes: {self.catalog_n}   top-1: {self.catalog_top1:.3f}   top-3: {self.catalog_top3:.3f}",
            f"none: {self.none_n}   precision: {self.none_precision:.3f}   recall: {self.none_recall:.3f}",
            "per category (n, top-1):",
        ]
        for bucket, (n, acc) in sorted(self.per_category.items()):
            name = SERVICE_CATEGORIES.get(bucket, "")
            out.append(f"  {bucket:<9}{name:<6} {n:>4}  {acc:.3f}")
        if self.confusions:
            out.append("worst confusions (gold -> predicted: count):")
            out.extend(f"  {g} -> {p}: {c}" for g, p, c in self.confusions[:worst])
        return out


def _same(gold: str, parse: Parse) -> bool:
    if gold == NONE_INTENT:
        return parse.kind is ParseKind.NONE
    return parse.label == gold


def evaluate(parse: Callable[[str], Parse], examples: Sequence[Example]) -> Report:
    """Parse every example and score the results against its label."""
    results = [(ex, parse(ex.text)) for ex in examples]
    rep = Report(n=len(results))
    if not results:
        return rep
    rep.top1 = sum(_same(ex.label, p) for ex, p in results) / len(results)
    catalog = [(ex, p) for ex, p in results if kind_of(ex.label) in (ParseKind.SERVICE, ParseKind.CASE)]
    rep.catalog_n = len(catalog)
    if catalog:
        rep.catalog_top1 = sum(p.label == ex.label for ex, p in catalog) / len(catalog)
        rep.catalog_top3 = sum(ex.label in [r.label for r in p.ranking[:3]] for ex, p in catalog) / len(
            catalog
        )
    gold_none = [p for ex, p in results if ex.label == NONE_INTENT]
    pred_none = [ex for ex, p in results if p.kind is ParseKind.NONE]
    rep.none_n = len(gold_none)
    rep.none_recall = sum(p.kind is ParseKind.NONE for p in gold_none) / len(gold_none) if gold_none else 0.0
    rep.none_precision = (
        sum(ex.label == NONE_INTENT for ex in pred_none) / len(pred_none) if pred_none else 0.0
    )
    buckets: dict[str, list[bool]] = defaultdict(list)
    confusions: Counter[tuple[str, str]] = Counter()
    for ex, p in results:
        ok = _same(ex.label, p)
        buckets[category_of(ex.label)].append(ok)
        if not ok:
            confusions[(ex.label, p.label)] += 1
            rep.errors.append((ex.text, ex.label, p.label))
    rep.per_category = {b: (len(v), sum(v) / len(v)) for b, v in buckets.items()}
    rep.confusions = [(g, p, c) for (g, p), c in confusions.most_common()]
    return rep
