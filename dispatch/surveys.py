"""Satisfaction surveys (满意度回访): the answer scale, timing and what an answer leads to.

Buttons carry a level 1..5 (``sv|<number>|<level>``); 5 is 非常满意 and 1 is 非常不满意.
- 非常满意 / 满意 / 基本满意 → the case is closed;
- 不满意 / 非常不满意 → reopened to the same department under supervision (督办); when the case
  was reopened before, the center is alerted as well (escalation ``unsatisfied_again``);
- no answer: one reminder after 24 h; after 72 h 未评价 is recorded and the case closed.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from dispatch.case import Case, SurveyResult

SURVEY_REMINDER_AFTER = timedelta(hours=24)
SURVEY_TIMEOUT_AFTER = timedelta(hours=72)

LEVELS: dict[int, SurveyResult] = {
    5: SurveyResult.VERY_SATISFIED,
    4: SurveyResult.SATISFIED,
    3: SurveyResult.BASIC,
    2: SurveyResult.UNSATISFIED,
    1: SurveyResult.VERY_UNSATISFIED,
}
LABELS: dict[SurveyResult, str] = {
    SurveyResult.VERY_SATISFIED: "非常满意",
    SurveyResult.SATISFIED: "满意",
    SurveyResult.BASIC: "基本满意",
    SurveyResult.UNSATISFIED: "不满意",
    SurveyResult.VERY_UNSATISFIED: "非常不满意",
    SurveyResult.NO_ANSWER: "未评价",
}
SATISFIED: frozenset[SurveyResult] = frozenset({SurveyResult.VERY_SATISFIED, SurveyResult.SATISFIED})
"""Counted as satisfied by the scoring (share of 非常满意 + 满意 among answered surveys)."""


class SurveyOutcome(StrEnum):
    CLOSE = "close"
    REOPEN = "reopen"
    REOPEN_AND_ESCALATE = "reopen_and_escalate"


def result_of_level(level: int | str) -> SurveyResult:
    """The survey result of a button level; ``ValueError`` for anything but 1..5."""
    try:
        return LEVELS[int(level)]
    except (KeyError, ValueError):
        raise ValueError(f"not a survey level: {level!r}") from None


def outcome_of(case: Case, result: SurveyResult) -> SurveyOutcome:
    """What an answer does to ``case`` (which must be resolved)."""
    if not result.is_unsatisfied:
        return SurveyOutcome.CLOSE
    return SurveyOutcome.REOPEN_AND_ESCALATE if case.reopen_count >= 1 else SurveyOutcome.REOPEN
