"""Deadline timers: what to schedule for a case and what a due timer does. Pure: time is passed in.

Each work cycle of a case (the first assignment, then each reopening) gets timers named
``<window>_<step>@<cycle>``: window ``response`` (accept) or ``resolve``; step ``50`` and ``80``
(reminders to the department at 50 % and 80 % of the window) and ``due`` (overdue: escalation to
the department lead and the dispatch center, recorded on the case). Survey timers are
``survey_remind@<cycle>`` and ``survey_timeout@<cycle>``. The cycle is ``case.reopen_count``, so
a reopened case gets fresh timers (the table's key is (case id, kind)).

A timer whose condition no longer holds when it comes due (the case was accepted, resolved,
closed...) is marked fired and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dispatch.case import Case
from dispatch.deadlines import reminder_time
from dispatch.lifecycle import CaseStatus
from dispatch.surveys import SURVEY_REMINDER_AFTER, SURVEY_TIMEOUT_AFTER

REMINDER_FRACTIONS = (0.5, 0.8)
_NOT_YET_ACCEPTED = frozenset(
    {CaseStatus.SUBMITTED, CaseStatus.ASSIGNED, CaseStatus.RETURNED, CaseStatus.REOPENED}
)


class Window(StrEnum):
    RESPONSE = "response"
    RESOLVE = "resolve"
    SURVEY = "survey"


@dataclass(frozen=True, slots=True)
class TimerKind:
    """A parsed timer kind such as ``response_80@0``."""

    window: Window
    step: str  # "50", "80", "due" for deadlines; "remind", "timeout" for surveys
    cycle: int

    def __str__(self) -> str:
        return f"{self.window}_{self.step}@{self.cycle}"

    @property
    def fraction(self) -> float | None:
        return int(self.step) / 100 if self.step.isdigit() else None

    @classmethod
    def parse(cls, text: str) -> TimerKind:
        head, _, cycle = text.partition("@")
        window, _, step = head.partition("_")
        return cls(Window(window), step, int(cycle or 0))


def deadline_timers(case: Case, start: datetime) -> list[tuple[str, datetime]]:
    """Timers for the response and resolve windows that begin at ``start`` (submission or reopening)."""
    cycle = case.reopen_count
    plan: list[tuple[str, datetime]] = []
    for window, due in ((Window.RESPONSE, case.response_due), (Window.RESOLVE, case.resolve_due)):
        for f in REMINDER_FRACTIONS:
            plan.append((str(TimerKind(window, str(round(f * 100)), cycle)), reminder_time(start, due, f)))
        plan.append((str(TimerKind(window, "due", cycle)), due))
    return plan


def survey_timers(case: Case, resolved_at: datetime) -> list[tuple[str, datetime]]:
    cycle = case.reopen_count
    return [
        (str(TimerKind(Window.SURVEY, "remind", cycle)), resolved_at + SURVEY_REMINDER_AFTER),
        (str(TimerKind(Window.SURVEY, "timeout", cycle)), resolved_at + SURVEY_TIMEOUT_AFTER),
    ]


def window_timer_kinds(case: Case, window: Window) -> list[str]:
    """The kinds of the current cycle's timers of ``window`` (to cancel them when they are moot)."""
    steps = ("remind", "timeout") if window is Window.SURVEY else ("50", "80", "due")
    return [str(TimerKind(window, s, case.reopen_count)) for s in steps]


def still_applies(case: Case, kind: TimerKind) -> bool:
    """Whether a due timer should still act on ``case`` (else it is consumed silently)."""
    if not case.is_open or kind.cycle != case.reopen_count:
        return False
    if kind.window is Window.RESPONSE:
        return case.status in _NOT_YET_ACCEPTED
    if kind.window is Window.RESOLVE:
        return case.status is not CaseStatus.RESOLVED
    return case.status is CaseStatus.RESOLVED and case.survey_result is None


def overtaken(case: Case, kind: TimerKind, timer_due: datetime, now: datetime) -> bool:
    """A reminder whose next step is also due already (the service was down): skip it.

    After downtime every missed timer is due at once; the 50 % reminder is pointless when the
    80 % one fires too, and both are when the deadline itself has passed. Survey reminders are
    overtaken by the timeout.
    """
    if kind.window is Window.SURVEY:
        return kind.step == "remind" and now >= timer_due - SURVEY_REMINDER_AFTER + SURVEY_TIMEOUT_AFTER
    fraction = kind.fraction
    if fraction is None:
        return False
    due = case.response_due if kind.window is Window.RESPONSE else case.resolve_due
    start = due - (due - timer_due) / (1 - fraction)
    later = [f for f in REMINDER_FRACTIONS if f > fraction]
    next_at = reminder_time(start, due, later[0]) if later else due
    return now >= next_at
