"""The transition table, exhaustively: every (status, action) pair is either legal or refused."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from catalog.loader import load_catalog
from dispatch.case import Case, EventKind, SurveyResult
from dispatch.errors import IllegalTransition
from dispatch.lifecycle import (
    OPEN,
    TERMINAL,
    TRANSITIONS,
    Action,
    CaseStatus,
    allowed_actions,
    format_transition_table,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
AT = T0 + timedelta(hours=1)


def _case_in(status: CaseStatus) -> Case:
    case = Case.submit(
        id="case-1",
        number="SC-20261128-0001",
        item=load_catalog().case_types["HJ01"],
        requester_id="resident-1",
        channel="telegram",
        chat_id="100",
        text="垃圾没人清",
        at=T0,
    )
    # Put the aggregate straight into the status under test, as storage would load it.
    case.status = status
    case.department = "CGJ" if status is not CaseStatus.SUBMITTED else None
    case.pending_notifications.clear()
    return case


PERFORM: dict[Action, Callable[[Case], None]] = {
    Action.ASSIGN: lambda c: c.assign("CGJ", actor="op-1", at=AT, note="n"),
    Action.ACCEPT: lambda c: c.accept(actor="op-1", at=AT, note="n"),
    Action.RESOLVE: lambda c: c.resolve(actor="op-1", at=AT, note="n"),
    Action.CLOSE: lambda c: c.close(actor="op-1", at=AT, note="n"),
    Action.RETURN: lambda c: c.return_to_center(actor="op-1", at=AT, reason="n"),
    Action.TRANSFER: lambda c: c.transfer("ZJJ", actor="op-1", at=AT, note="n"),
    Action.REOPEN: lambda c: c.reopen(actor="op-1", at=AT, note="n"),
    Action.CANCEL: lambda c: c.cancel(actor="op-1", at=AT, note="n"),
    Action.MARK_DUPLICATE: lambda c: c.mark_duplicate("case-0", actor="op-1", at=AT, note="n"),
    Action.ESCALATE: lambda c: c.escalate(actor="op-1", at=AT, note="n"),
    Action.RATE: lambda c: c.rate(SurveyResult.SATISFIED, actor="op-1", at=AT, note="n"),
}


def test_every_action_has_a_method() -> None:
    assert set(PERFORM) == set(Action)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(CaseStatus, Action)))
def test_transition(status: CaseStatus, action: Action) -> None:
    case = _case_in(status)
    before = len(case.history)
    target = TRANSITIONS.get((status, action))
    if target is None:
        with pytest.raises(IllegalTransition) as err:
            PERFORM[action](case)
        assert err.value.status is status and err.value.action is action
        assert case.status is status and len(case.history) == before, "a refused move changes nothing"
        assert case.pending_notifications == []
        return
    PERFORM[action](case)
    assert case.status is target
    event = case.history[-1]
    assert len(case.history) == before + 1 and event.seq == before + 1
    assert (event.actor, event.at, event.note) == ("op-1", AT, "n")
    assert (event.from_status, event.to_status) == (status, target)
    assert event.kind.value.startswith(action.value[:4]) or (action, event.kind) in {
        (Action.RETURN, EventKind.RETURNED),
        (Action.MARK_DUPLICATE, EventKind.MARKED_DUPLICATE),
    }


def test_terminal_statuses_allow_nothing_and_open_ones_allow_something() -> None:
    for status in TERMINAL:
        assert allowed_actions(status) == []
    for status in OPEN:
        assert allowed_actions(status), status


def test_cancel_only_before_a_department_accepts() -> None:
    cancellable = {s for s in CaseStatus if (s, Action.CANCEL) in TRANSITIONS}
    assert cancellable == {CaseStatus.SUBMITTED, CaseStatus.ASSIGNED, CaseStatus.RETURNED}


def test_every_status_is_reachable_from_submitted() -> None:
    reached, frontier = {CaseStatus.SUBMITTED}, [CaseStatus.SUBMITTED]
    while frontier:
        status = frontier.pop()
        for action in allowed_actions(status):
            target = TRANSITIONS[(status, action)]
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(CaseStatus)


def test_printed_table_lists_every_transition() -> None:
    rows = format_transition_table().splitlines()[2:]
    assert len(rows) == len(TRANSITIONS)
    assert "| submitted | assign | assigned |" in rows
    assert "| resolved | reopen | reopened |" in rows


def test_docs_show_the_current_table() -> None:
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "domain.md"
    assert format_transition_table() in doc.read_text(encoding="utf-8"), (
        "regenerate with `python -m dispatch`"
    )
