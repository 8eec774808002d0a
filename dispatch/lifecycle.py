"""The case lifecycle: statuses, actions and the explicit table of allowed transitions."""

from __future__ import annotations

from enum import StrEnum

from dispatch.errors import IllegalTransition


class CaseStatus(StrEnum):
    SUBMITTED = "submitted"  # reported, waiting for the dispatch decision
    ASSIGNED = "assigned"  # a department has it (routing, transfer or the center's decision)
    ACCEPTED = "accepted"  # the department has taken it on (受理)
    RESOLVED = "resolved"  # the department reports it handled; survey pending
    CLOSED = "closed"  # done (satisfied, or survey unanswered)
    RETURNED = "returned"  # sent back to the dispatch center (退回) with a reason
    REOPENED = "reopened"  # unsatisfied survey: back to the same department under 督办
    CANCELLED = "cancelled"  # withdrawn before any department accepted it
    DUPLICATE = "duplicate"  # the same problem as an earlier case (duplicate_of)


class Action(StrEnum):
    ASSIGN = "assign"
    ACCEPT = "accept"
    RESOLVE = "resolve"
    CLOSE = "close"
    RETURN = "return"
    TRANSFER = "transfer"
    REOPEN = "reopen"
    CANCEL = "cancel"
    MARK_DUPLICATE = "mark_duplicate"
    ESCALATE = "escalate"  # overdue / 督办 notice; the status stays
    RATE = "rate"  # the requester's survey answer; the status stays


S, A = CaseStatus, Action

TRANSITIONS: dict[tuple[CaseStatus, Action], CaseStatus] = {
    # Submission creates the case in SUBMITTED (Case.submit); it is not a move between statuses.
    (S.SUBMITTED, A.ASSIGN): S.ASSIGNED,
    (S.SUBMITTED, A.CANCEL): S.CANCELLED,
    (S.SUBMITTED, A.MARK_DUPLICATE): S.DUPLICATE,
    (S.SUBMITTED, A.ESCALATE): S.SUBMITTED,
    (S.ASSIGNED, A.ACCEPT): S.ACCEPTED,
    (S.ASSIGNED, A.RETURN): S.RETURNED,
    (S.ASSIGNED, A.TRANSFER): S.ASSIGNED,
    (S.ASSIGNED, A.CANCEL): S.CANCELLED,
    (S.ASSIGNED, A.MARK_DUPLICATE): S.DUPLICATE,
    (S.ASSIGNED, A.ESCALATE): S.ASSIGNED,
    (S.ACCEPTED, A.RESOLVE): S.RESOLVED,
    (S.ACCEPTED, A.RETURN): S.RETURNED,
    (S.ACCEPTED, A.TRANSFER): S.ASSIGNED,
    (S.ACCEPTED, A.ESCALATE): S.ACCEPTED,
    (S.RETURNED, A.ASSIGN): S.ASSIGNED,  # the center's decision, which binds
    (S.RETURNED, A.TRANSFER): S.ASSIGNED,
    (S.RETURNED, A.CANCEL): S.CANCELLED,
    (S.RETURNED, A.MARK_DUPLICATE): S.DUPLICATE,
    (S.RETURNED, A.ESCALATE): S.RETURNED,
    (S.RESOLVED, A.RATE): S.RESOLVED,
    (S.RESOLVED, A.CLOSE): S.CLOSED,
    (S.RESOLVED, A.REOPEN): S.REOPENED,
    (S.REOPENED, A.ACCEPT): S.ACCEPTED,
    (S.REOPENED, A.RESOLVE): S.RESOLVED,
    (S.REOPENED, A.RETURN): S.RETURNED,
    (S.REOPENED, A.TRANSFER): S.ASSIGNED,
    (S.REOPENED, A.ESCALATE): S.REOPENED,
}
"""Every allowed (status, action) pair and the status it leads to; anything else is illegal.

Cancelling and marking a duplicate are allowed only while no department has accepted the case.
"""

TERMINAL: frozenset[CaseStatus] = frozenset({S.CLOSED, S.CANCELLED, S.DUPLICATE})
"""Statuses no action leaves."""

OPEN: frozenset[CaseStatus] = frozenset(set(CaseStatus) - TERMINAL)
"""Statuses of cases that still need someone to act."""


def next_status(status: CaseStatus, action: Action, case_number: str = "") -> CaseStatus:
    """The status ``action`` leads to from ``status``; raises :class:`IllegalTransition` if not allowed."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action, case_number) from None


def allowed_actions(status: CaseStatus) -> list[Action]:
    """The actions the table allows from ``status``, in the order of :class:`Action`."""
    return [a for a in Action if (status, a) in TRANSITIONS]


def format_transition_table() -> str:
    """The transition table as a Markdown table (used by docs/domain.md and the tests)."""
    lines = ["| from | action | to |", "|---|---|---|"]
    for status in CaseStatus:
        for action in Action:
            target = TRANSITIONS.get((status, action))
            if target is not None:
                lines.append(f"| {status} | {action} | {target} |")
    return "\n".join(lines)


def print_transition_table() -> None:
    """Print :func:`format_transition_table` (``python -m dispatch`` does this)."""
    print(format_transition_table())
