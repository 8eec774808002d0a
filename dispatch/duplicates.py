"""Duplicate reports: the same 365 case type in the same grid within 24 hours is probably one problem."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from dispatch.case import Case, CaseKind

DUPLICATE_WINDOW = timedelta(hours=24)


def pick_original(recent: Iterable[Case]) -> str | None:
    """The id of the case a new report would duplicate: the earliest still-open 365 case among ``recent``.

    Closed, cancelled and duplicate cases are not offered: a problem reported again after it was
    handled is a new problem.
    """
    open_cases = [c for c in recent if c.kind is CaseKind.CASE and c.is_open]
    if not open_cases:
        return None
    return min(open_cases, key=lambda c: (c.submitted_at, c.number)).id
