"""Monthly department scores (考核), computed from the cases' event histories. Pure.

Every event is credited to the department that held the case when it happened (replaying the
``assigned`` / ``transferred`` / ``returned`` events). Per department and month [start, end):

- acceptance on time: ``accepted`` events whose ``on_time`` is true, over all ``accepted`` events;
- resolution on time: the same for ``resolved`` events;
- satisfaction: 非常满意 + 满意 over answered surveys (``rated`` events other than 未评价);
- reopen rate: ``reopened`` events over ``resolved`` events;
- overdue: ``escalated`` events with reason ``response_overdue`` / ``resolve_overdue``;
- points: ``100 − 2 × overdue acceptances − 3 × overdue resolutions``, at least 0.

Rates with nothing to count are ``None`` (shown as "-"), not 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from catalog.model import DISPATCH_CENTER
from dispatch.case import Case, EventKind, SurveyResult
from dispatch.numbering import CHINA_TZ
from dispatch.surveys import SATISFIED

BASE_POINTS = 100
POINTS_PER_LATE_ACCEPTANCE = 2
POINTS_PER_LATE_RESOLUTION = 3
RESPONSE_OVERDUE = "response_overdue"
RESOLVE_OVERDUE = "resolve_overdue"


@dataclass
class DepartmentScore:
    department: str
    accepted: int = 0
    accepted_on_time: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    surveyed: int = 0
    satisfied: int = 0
    reopened: int = 0
    response_overdue: int = 0
    resolve_overdue: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted_on_time / self.accepted if self.accepted else None

    @property
    def resolution_rate(self) -> float | None:
        return self.resolved_on_time / self.resolved if self.resolved else None

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.surveyed if self.surveyed else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.resolved if self.resolved else None

    @property
    def points(self) -> int:
        lost = (
            POINTS_PER_LATE_ACCEPTANCE * self.response_overdue
            + POINTS_PER_LATE_RESOLUTION * self.resolve_overdue
        )
        return max(BASE_POINTS - lost, 0)


def month_bounds(at: datetime) -> tuple[datetime, datetime, str]:
    """The district month (UTC+8) holding ``at``: (start, end, "YYYY-MM")."""
    local = at.astimezone(CHINA_TZ)
    return parse_month(f"{local:%Y-%m}")


def parse_month(label: str) -> tuple[datetime, datetime, str]:
    """``"2026-11"`` → (start, end, label) of that month in district time."""
    year, month = (int(p) for p in label.split("-"))
    start = datetime(year, month, 1, tzinfo=CHINA_TZ)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CHINA_TZ)
    return start, end, f"{year:04d}-{month:02d}"


def score_month(cases: Iterable[Case], start: datetime, end: datetime) -> list[DepartmentScore]:
    """Scores of every department with at least one counted event in [start, end), sorted by code."""
    scores: dict[str, DepartmentScore] = {}

    def of(dept: str) -> DepartmentScore:
        return scores.setdefault(dept, DepartmentScore(dept))

    for case in cases:
        holder: str | None = None
        for event in case.history:
            in_month = start <= event.at < end
            credited = holder
            if event.kind in (EventKind.ASSIGNED, EventKind.TRANSFERRED):
                holder = str(event.data.get("department") or "") or holder
                continue
            if event.kind is EventKind.RETURNED:
                holder = DISPATCH_CENTER
                continue
            if not in_month or credited is None:
                continue
            _count(of(credited), event.kind, event.data)
    return [s for _, s in sorted(scores.items()) if _counted(s)]


def _count(score: DepartmentScore, kind: EventKind, data: dict[str, object]) -> None:
    if kind is EventKind.ACCEPTED:
        score.accepted += 1
        score.accepted_on_time += bool(data.get("on_time"))
    elif kind is EventKind.RESOLVED:
        score.resolved += 1
        score.resolved_on_time += bool(data.get("on_time"))
    elif kind is EventKind.RATED and data.get("result") != SurveyResult.NO_ANSWER.value:
        score.surveyed += 1
        score.satisfied += SurveyResult(str(data.get("result"))) in SATISFIED
    elif kind is EventKind.REOPENED:
        score.reopened += 1
    elif kind is EventKind.ESCALATED:
        if data.get("reason") == RESPONSE_OVERDUE:
            score.response_overdue += 1
        elif data.get("reason") == RESOLVE_OVERDUE:
            score.resolve_overdue += 1


def _counted(score: DepartmentScore) -> bool:
    return any((score.accepted, score.resolved, score.surveyed, score.reopened,
                score.response_overdue, score.resolve_overdue))  # fmt: skip


def format_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"
