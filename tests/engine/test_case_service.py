"""CaseService use cases on SQLite and PostgreSQL: lifecycles, permissions, stale actions, queries."""

from __future__ import annotations

import pytest
from engine_helpers import Clock, Team, kinds_to, outbox_rows, request

from dispatch.access import CaseNotFound, PermissionDenied, ReturnNotAllowed
from dispatch.case import SurveyResult
from dispatch.errors import IllegalTransition, MissingReason
from dispatch.lifecycle import CaseStatus
from handlers.cases import CaseService
from handlers.notices import render
from storage.database import Database


async def test_home_service_lifecycle(service: CaseService, db: Database, team: Team, clock: Clock) -> None:
    out = await service.submit(request(team.resident, "YL001", kind="service"))
    case = out.case
    assert case is not None and out.duplicate_of is None
    item = service.catalog.services["YL001"]
    assert case.department == item.department
    assert case.details["delivery"] == str(item.delivery)
    assert case.street == "HB" and case.community == "HB01"
    assert case.number in out.reply.text

    staff = team.mzj if item.department == "MZJ" else None
    assert staff is not None, "YL001 is expected to belong to MZJ in the catalog"
    clock.advance(minutes=30)
    await service.accept(staff, case.number)
    clock.advance(hours=2)
    await service.resolve(staff, case.number, note="已上门服务")
    clock.advance(hours=1)
    done = await service.answer_survey(team.resident, case.number, 5)
    assert done.status is CaseStatus.CLOSED
    assert done.survey_result is SurveyResult.VERY_SATISFIED
    kinds = [e.kind for e in done.history]
    assert [str(k) for k in kinds] == ["submitted", "assigned", "accepted", "resolved", "rated", "closed"]

    rows = await outbox_rows(db, case.id)
    assert kinds_to(rows, "chat-100") == ["case_submitted", "case_accepted", "case_resolved", "case_closed"]
    assert kinds_to(rows, "chat-210") == ["case_assigned"]
    async with db.uow(read_only=True) as uow:
        timers = await uow.timers.for_case(case.id)
    assert timers and all(t.cancelled or t.fired_at for t in timers)


async def test_365_case_routes_to_lead_with_co_departments_and_informs_street_office(
    service: CaseService, db: Database, team: Team
) -> None:
    out = await service.submit(request(team.resident, "ZA05"))  # GAJ with CGJ
    case = out.case
    assert case is not None
    assert case.department == "GAJ" and case.co_departments == ("CGJ",)
    rows = await outbox_rows(db, case.id)
    assert "case_assigned_co" in kinds_to(rows, "chat-200")
    assert kinds_to(rows, "chat-400") == ["case_info"]  # HBJD: the grid's street office
    # GAJ has no staff yet: its notification is kept as unroutable, never dropped
    assert any(r.status == "unroutable" and r.kind == "case_assigned" for r in rows)


async def test_staff_permissions_and_stale_buttons(service: CaseService, team: Team) -> None:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None and case.department == "CGJ"
    with pytest.raises(PermissionDenied):
        await service.accept(team.mzj, case.number)
    with pytest.raises(PermissionDenied):
        await service.accept(team.resident, case.number)
    with pytest.raises(CaseNotFound):
        await service.accept(team.cgj, "SC-20261102-9999")
    await service.accept(team.cgj, case.number)
    with pytest.raises(IllegalTransition):
        await service.accept(team.cgj_lead, case.number)  # pressed the same button twice
    with pytest.raises(IllegalTransition):
        await service.cancel(team.resident, case.number)  # too late to cancel
    with pytest.raises(PermissionDenied):
        await service.answer_survey(team.neighbour, case.number, 5)


async def test_cancel_by_requester_before_acceptance(service: CaseService, db: Database, team: Team) -> None:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None
    with pytest.raises(PermissionDenied):
        await service.cancel(team.neighbour, case.number)
    cancelled = await service.cancel(team.resident, case.number, note="已自行解决")
    assert cancelled.status is CaseStatus.CANCELLED
    assert "case_cancelled" in kinds_to(await outbox_rows(db, case.id), "chat-200")
    async with db.uow(read_only=True) as uow:
        assert all(t.cancelled for t in await uow.timers.for_case(case.id))


async def test_unclear_and_none_go_to_the_center_which_assigns(
    service: CaseService, db: Database, team: Team
) -> None:
    unclear = (await service.submit(request(team.resident, "HJ01", confidence=0.2))).case
    none = (await service.submit(request(team.resident, None, kind="none"))).case
    ms99 = (await service.submit(request(team.resident, "MS99"))).case
    for case in (unclear, none, ms99):
        assert case is not None and case.department == "LDZX"
    # an unclear parse keeps its best guess as the code; a 「都不是」 is filed as MS99
    assert unclear is not None and unclear.code == "HJ01"
    assert none is not None and none.code == "MS99"
    rows = await outbox_rows(db, unclear.id)
    to_dispatcher = [r for r in rows if r.chat_id == "chat-300"]
    assert [r.kind for r in to_dispatcher] == ["case_assigned"]
    with pytest.raises(PermissionDenied):
        await service.assign(team.cgj, unclear.number, "CGJ")
    moved = await service.assign(team.dispatcher, unclear.number, "CGJ")
    assert moved.department == "CGJ" and moved.status is CaseStatus.ASSIGNED
    await service.accept(team.cgj, unclear.number)


async def test_returns_need_a_reason_and_the_second_return_binds(
    service: CaseService, db: Database, team: Team
) -> None:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None
    with pytest.raises(MissingReason):
        await service.return_case(team.cgj, case.number, "  ")
    first = await service.return_case(team.cgj, case.number, "不属于城管职责")
    assert first.status is CaseStatus.RETURNED and first.department == "LDZX"
    await service.assign(team.dispatcher, case.number, "ZJJ")
    second = await service.return_case(team.zjj, case.number, "应由城管处理")
    assert second.return_count == 2
    rows = await outbox_rows(db, case.id)
    returned = [r for r in rows if r.kind == "case_returned" and r.chat_id == "chat-300"]
    assert len(returned) == 2 and returned[-1].payload.get("binding") is True
    await service.assign(team.dispatcher, case.number, "CGJ")
    # The bound department's 【新工单】 says so and offers 接单 only, not a 退回 it would be refused.
    assigned = [r for r in await outbox_rows(db, case.id) if r.kind == "case_assigned"]
    first_notice, bound_notice = (
        render("case_assigned", assigned[0].payload),
        render("case_assigned", assigned[-1].payload),
    )
    assert [b.label for row in first_notice.buttons for b in row] == ["接单", "退回"]
    assert [b.label for row in bound_notice.buttons for b in row] == ["接单"]
    assert "不能再退回" in bound_notice.text
    with pytest.raises(ReturnNotAllowed):
        await service.return_case(team.cgj, case.number, "还是不归我们")
    await service.accept(team.cgj, case.number)
    # the center itself may still transfer it
    moved = await service.transfer(team.dispatcher, case.number, "ZJJ")
    assert moved.department == "ZJJ"


async def test_transfer_keeps_deadlines(service: CaseService, team: Team, clock: Clock) -> None:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None
    clock.advance(hours=1)
    await service.accept(team.cgj, case.number)
    moved = await service.transfer(team.dispatcher, case.number, "ZJJ", note="属住建职责")
    assert moved.status is CaseStatus.ASSIGNED and moved.accepted_at is None
    assert moved.response_due == case.response_due and moved.resolve_due == case.resolve_due
    await service.accept(team.zjj, case.number)


async def test_same_update_key_returns_the_first_case(service: CaseService, db: Database, team: Team) -> None:
    first = await service.submit(request(team.resident, "HJ01", update_key="u-1"))
    again = await service.submit(request(team.resident, "HJ01", update_key="u-1"))
    assert first.case is not None and again.case is not None
    assert again.replayed and again.case.id == first.case.id
    async with db.uow(read_only=True) as uow:
        assert await uow.cases.count() == 1


async def test_queries(service: CaseService, team: Team, clock: Clock) -> None:
    a = (await service.submit(request(team.resident, "HJ01"))).case
    clock.advance(minutes=5)
    b = (await service.submit(request(team.resident, "YL001", kind="service"))).case
    clock.advance(minutes=5)
    c = (await service.submit(request(team.resident, "SZ01", grid="HB02-1"))).case
    assert a and b and c
    mine = await service.my_cases(team.resident.id)
    assert [x.number for x in mine] == [c.number, b.number, a.number]
    assert (await service.get(a.number)) is not None
    # status questions: words of the catalog name pick the case, else the latest
    name_a = service.catalog.case_types["HJ01"].name
    found = await service.find_for_question(team.resident.id, f"我报的{name_a}怎么样了")
    assert found is not None and found.number == a.number
    latest = await service.find_for_question(team.resident.id, "进度如何")
    assert latest is not None and latest.number == c.number
    assert await service.find_for_question(team.neighbour.id, "进度") is None

    clock.advance(hours=30)  # past every response deadline
    overdue = await service.department_cases("CGJ", overdue_only=True)
    assert a.number in [x.number for x in overdue]
    view = await service.center_overview()
    assert view.counts.get("assigned") == 3
    assert {x.number for x in view.overdue} >= {a.number, c.number}
