"""Rules of the Case aggregate beyond the table: deadlines, reasons, notifications, time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from catalog.loader import load_catalog
from catalog.model import Severity
from dispatch.case import Case, CaseKind, EventKind, SurveyResult
from dispatch.deadlines import (
    SERVICE_RESOLVE_MIN_HOURS,
    deadlines_for,
    fraction_elapsed,
    reminder_time,
    severity_of,
)
from dispatch.errors import DomainError, IllegalTransition, InviteAlreadyUsed, InviteExpired, MissingReason
from dispatch.lifecycle import CaseStatus
from dispatch.notifications import Recipient, RecipientKind
from dispatch.numbering import format_case_number, is_case_number, local_day, parse_case_number
from dispatch.people import ChatRef, Invite, Person, Role

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CATALOG = load_catalog()


def submit(code: str = "HJ01", at: datetime = T0) -> Case:
    return Case.submit(
        id=f"id-{code}",
        number="SC-20261128-0007",
        item=CATALOG.service_or_case(code),
        requester_id="r1",
        channel="telegram",
        chat_id="100",
        text="…",
        at=at,
        actor="gw-1",
    )


def test_case_deadlines_come_from_response_and_resolve_hours() -> None:
    hj01 = CATALOG.case_types["HJ01"]
    case = submit("HJ01")
    assert case.kind is CaseKind.CASE
    assert case.response_due == T0 + timedelta(hours=hj01.response_hours)
    assert case.resolve_due == T0 + timedelta(hours=hj01.resolve_hours)
    assert case.history[0].kind is EventKind.SUBMITTED and case.history[0].actor == "gw-1"


@pytest.mark.parametrize("code", ["YL001", "YL003", "AY001"])
def test_service_deadlines_use_sla_and_documented_resolve_rule(code: str) -> None:
    service = CATALOG.services[code]
    d = deadlines_for(service, T0)
    assert d.response_due - T0 == timedelta(hours=service.sla_hours)
    expected = max(3 * service.sla_hours, SERVICE_RESOLVE_MIN_HOURS)
    assert d.resolve_due - T0 == timedelta(hours=expected)


def test_every_catalog_item_gets_ordered_deadlines() -> None:
    for item in [*CATALOG.services.values(), *CATALOG.case_types.values()]:
        d = deadlines_for(item, T0)
        assert T0 < d.response_due <= d.resolve_due, item.code


def test_severity() -> None:
    emergencies = [s for s in CATALOG.services.values() if s.sla_hours <= 0.5]
    assert emergencies and all(severity_of(s) is Severity.EMERGENCY for s in emergencies)
    assert severity_of(CATALOG.services["YL001"]) is Severity.NORMAL
    for ct in CATALOG.case_types.values():
        assert severity_of(ct) is ct.severity


def test_reminders_and_elapsed_fraction() -> None:
    due = T0 + timedelta(hours=10)
    assert reminder_time(T0, due, 0.5) == T0 + timedelta(hours=5)
    assert reminder_time(T0, due, 0.8) == T0 + timedelta(hours=8)
    assert fraction_elapsed(T0, due, T0 + timedelta(hours=12)) == pytest.approx(1.2)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        submit(at=datetime(2026, 11, 28, 9, 0))
    case = submit()
    with pytest.raises(ValueError):
        case.assign("CGJ", actor="x", at=datetime(2026, 11, 28, 10, 0))
    assert case.status is CaseStatus.SUBMITTED


def test_return_needs_a_reason_and_counts() -> None:
    case = submit()
    case.assign("CGJ", actor="sys", at=T0)
    with pytest.raises(MissingReason):
        case.return_to_center(actor="s", at=T0, reason="  ")
    case.return_to_center(actor="s", at=T0, reason="不属于本部门职责")
    assert case.status is CaseStatus.RETURNED and case.return_count == 1 and case.department == "LDZX"
    (note,) = case.take_notifications()[-1:]
    assert note.recipient == Recipient.dispatch_center() and note.payload["reason"] == "不属于本部门职责"
    assert note.payload["from_department"] == "CGJ"
    case.assign("ZJJ", actor="op", at=T0, note="跨出一步")
    assert case.department == "ZJJ"


def test_transfer_keeps_deadlines_and_needs_a_new_department() -> None:
    case = submit()
    case.assign("CGJ", actor="sys", at=T0)
    case.accept(actor="s", at=T0 + timedelta(minutes=10))
    due = (case.response_due, case.resolve_due)
    with pytest.raises(DomainError):
        case.transfer("CGJ", actor="s", at=T0)
    case.transfer("ZJJ", actor="s", at=T0 + timedelta(hours=1))
    assert case.status is CaseStatus.ASSIGNED and case.department == "ZJJ" and case.accepted_at is None
    assert (case.response_due, case.resolve_due) == due
    assert case.history[-1].data == {"from_department": "CGJ", "department": "ZJJ"}


def test_reopen_puts_the_case_under_supervision_with_fresh_windows() -> None:
    case = submit()
    case.assign("CGJ", actor="sys", at=T0)
    case.accept(actor="s", at=T0)
    case.resolve(actor="s", at=T0 + timedelta(hours=3))
    case.rate(SurveyResult.VERY_UNSATISFIED, actor="r1", at=T0 + timedelta(hours=4))
    assert case.survey_result is not None and case.survey_result.is_unsatisfied
    reopened_at = T0 + timedelta(hours=5)
    case.take_notifications()
    case.reopen(actor="system", at=reopened_at, note="不满意，督办")
    assert case.status is CaseStatus.REOPENED and case.supervised and case.reopen_count == 1
    hj01 = CATALOG.case_types["HJ01"]
    assert case.resolve_due == reopened_at + timedelta(hours=hj01.resolve_hours)
    (note,) = case.take_notifications()
    assert note.kind == "case_reopened" and note.recipient == Recipient.department("CGJ")


def test_cancel_is_refused_once_accepted() -> None:
    case = submit()
    case.assign("CGJ", actor="sys", at=T0)
    case.accept(actor="s", at=T0)
    with pytest.raises(IllegalTransition, match="cannot cancel"):
        case.cancel(actor="r1", at=T0)


def test_duplicate_links_to_original() -> None:
    case = submit()
    with pytest.raises(DomainError):
        case.mark_duplicate(case.id, actor="op", at=T0)
    case.mark_duplicate("orig-1", actor="r1", at=T0, note="已有人上报")
    assert case.status is CaseStatus.DUPLICATE and case.duplicate_of == "orig-1" and not case.is_open


def test_escalation_alerts_lead_and_center() -> None:
    case = submit()
    case.assign("CGJ", actor="sys", at=T0)
    case.take_notifications()
    late = case.response_due + timedelta(minutes=1)
    assert case.is_response_overdue(late) and not case.is_response_overdue(T0)
    case.escalate(actor="system", at=late, reason="response_overdue")
    kinds = {(n.kind, n.recipient.kind) for n in case.take_notifications()}
    assert kinds == {
        ("case_escalated", RecipientKind.DEPARTMENT_LEAD),
        ("case_escalated", RecipientKind.DISPATCH_CENTER),
    }
    assert case.escalation_count == 1 and case.status is CaseStatus.ASSIGNED


def test_notification_keys_are_unique_per_event_and_recipient() -> None:
    case = submit()
    case.assign("CGJ", actor="sys", at=T0, co_departments=("ZJJ", "RQQY"))
    notes = case.take_notifications()
    assert [n.recipient.ref for n in notes] == ["CGJ", "ZJJ", "RQQY"]
    assert len({n.key for n in notes}) == 3
    assert case.take_notifications() == []


def test_subscribers_are_unique_and_skip_the_requester() -> None:
    case = submit()
    case.subscribe(ChatRef("telegram", "100"))
    case.subscribe(ChatRef("web", "w1"))
    case.subscribe(ChatRef("web", "w1"))
    assert case.subscribers == [ChatRef("web", "w1")]


def test_case_numbers() -> None:
    day = local_day(datetime(2026, 11, 28, 17, 30, tzinfo=UTC))  # 01:30 on the 29th in Hangzhou
    assert str(day) == "2026-11-29"
    assert format_case_number(day, 1) == "SC-20261129-0001"
    assert format_case_number(day, 12345) == "SC-20261129-12345"
    assert parse_case_number("sc-20261129-0042") == (day, 42)
    for bad in [
        "SC-2026112-0001",
        "SC-20261129-001",
        "XX-20261129-0001",
        "SC-20261399-0001",
        "SC-20261129-0000",
    ]:
        assert not is_case_number(bad), bad
    with pytest.raises(ValueError):
        format_case_number(day, 0)
    assert local_day(datetime(2026, 11, 29, 1, 30, tzinfo=timezone(timedelta(hours=8)))) == day


def test_invite_grants_role_once_and_expires() -> None:
    person = Person(id="p1", display_name="张三", created_at=T0)
    invite = Invite(
        code="ABC", role=Role.DEPT_STAFF, created_at=T0, expires_at=T0 + timedelta(hours=1), department="CGJ"
    )
    with pytest.raises(InviteExpired):
        invite.redeem(person, T0 + timedelta(hours=1))
    invite.redeem(person, T0)
    assert person.has_role(Role.DEPT_STAFF) and person.department == "CGJ" and person.has_role(Role.RESIDENT)
    with pytest.raises(InviteAlreadyUsed):
        invite.redeem(Person(id="p2", display_name="李四", created_at=T0), T0)
    with pytest.raises(ValueError):
        person.grant(Role.GRID_WORKER)
