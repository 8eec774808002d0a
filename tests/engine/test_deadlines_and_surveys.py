"""Timers driven by the clock: reminders at 50/80 %, escalation when overdue, catch-up, surveys."""

from __future__ import annotations

from datetime import timedelta

from engine_helpers import Clock, Team, kinds_to, outbox_rows, request

from bot.scheduler import DeadlineScheduler
from dispatch.case import SurveyResult
from dispatch.lifecycle import CaseStatus
from handlers.cases import CaseService
from storage.database import Database


def scheduler(db: Database, service: CaseService, clock: Clock, name: str = "s1") -> DeadlineScheduler:
    return DeadlineScheduler(db, service, worker_id=name, clock=clock)


async def test_reminders_at_50_and_80_percent_then_escalation(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case = (await service.submit(request(team.resident, "HJ01"))).case  # CGJ
    assert case is not None
    window = case.response_due - case.submitted_at
    sched = scheduler(db, service, clock)

    clock.set(case.submitted_at + window * 0.49)
    await sched.tick()
    assert "deadline_reminder" not in kinds_to(await outbox_rows(db, case.id), "chat-200")

    clock.set(case.submitted_at + window * 0.5)
    await sched.tick()
    rows = await outbox_rows(db, case.id)
    reminders = [r for r in rows if r.kind == "deadline_reminder" and r.chat_id == "chat-200"]
    assert [r.payload["percent"] for r in reminders] == ["50"]

    clock.set(case.submitted_at + window * 0.8)
    await sched.tick()
    await sched.tick()  # a second tick at the same time fires nothing again
    rows = await outbox_rows(db, case.id)
    reminders = [r for r in rows if r.kind == "deadline_reminder" and r.chat_id == "chat-200"]
    assert [r.payload["percent"] for r in reminders] == ["50", "80"]
    assert all(r.payload["window"] == "response" for r in reminders)

    clock.set(case.response_due + timedelta(seconds=1))
    await sched.tick()
    got = await service.get(case.number)
    assert got is not None and got.escalation_count == 1
    assert got.history[-1].data["reason"] == "response_overdue"
    rows = await outbox_rows(db, case.id)
    assert kinds_to(rows, "chat-201").count("case_escalated") == 1  # the CGJ lead
    assert kinds_to(rows, "chat-300").count("case_escalated") == 1  # the center
    assert "case_escalated" not in kinds_to(rows, "chat-200")  # plain staff get reminders, not this


async def test_accepting_stops_response_timers(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None
    clock.advance(minutes=10)
    await service.accept(team.cgj, case.number)
    clock.set(case.response_due + timedelta(hours=1))
    await scheduler(db, service, clock).tick()
    got = await service.get(case.number)
    assert got is not None and got.escalation_count == 0
    assert not [r for r in await outbox_rows(db, case.id) if r.kind == "deadline_reminder"]


async def test_catch_up_after_downtime_fires_each_overdue_timer_once(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None
    # the service was down from submission until long after both deadlines
    clock.set(case.resolve_due + timedelta(days=2))
    fired = await scheduler(db, service, clock).catch_up()
    assert fired == 6  # every timer of both windows is consumed once
    got = await service.get(case.number)
    assert got is not None
    reasons = [e.data["reason"] for e in got.history if str(e.kind) == "escalated"]
    assert reasons == ["response_overdue", "resolve_overdue"]
    # the 50/80 % reminders were overtaken by the deadlines: none is sent late
    assert not [r for r in await outbox_rows(db, case.id) if r.kind == "deadline_reminder"]
    assert await scheduler(db, service, clock).catch_up() == 0


async def test_catch_up_sends_only_the_latest_reminder(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None
    clock.set(case.submitted_at + (case.response_due - case.submitted_at) * 0.9)
    await scheduler(db, service, clock).catch_up()
    rows = await outbox_rows(db, case.id)
    percents = [
        r.payload["percent"] for r in rows if r.kind == "deadline_reminder" and r.chat_id == "chat-200"
    ]
    assert percents == ["80"]


async def test_two_schedulers_never_fire_a_timer_twice(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    import asyncio

    cases = [(await service.submit(request(team.resident, "HJ01", grid=f"HB01-{i}"))).case for i in (1, 2, 3)]
    clock.advance(days=10)
    a, b = scheduler(db, service, clock, "a"), scheduler(db, service, clock, "b")
    await asyncio.gather(a.catch_up(), b.catch_up())
    assert a.fired + b.fired == 18
    for case in cases:
        assert case is not None
        got = await service.get(case.number)
        assert got is not None and got.escalation_count == 2
    # a timer claimed by one and fired by the other (lease expired) is still fired once
    async with db.uow(read_only=True) as uow:
        for case in cases:
            assert case is not None
            timers = await uow.timers.for_case(case.id)
            assert all(t.fired_at is not None for t in timers)


async def test_emergency_alerts_department_and_center_and_tells_resident_to_call(
    service: CaseService, db: Database, team: Team
) -> None:
    out = await service.submit(request(team.resident, "XF04", text="楼道里有很浓的煤气味"))  # ZJJ, emergency
    case = out.case
    assert case is not None and str(case.severity) == "emergency"
    assert out.emergency_number == "119"
    assert out.reply.text.startswith("情况紧急，请立即拨打 119")
    rows = await outbox_rows(db, case.id)
    assert "emergency_alert" in kinds_to(rows, "chat-220")  # ZJJ staff
    assert "emergency_alert" in kinds_to(rows, "chat-300")  # the center
    ack = [r for r in rows if r.kind == "case_submitted"]
    assert ack and ack[0].payload["emergency_number"] == "119"
    medical = await service.submit(request(team.resident, "SP04"))
    assert medical.emergency_number == "120"
    police = await service.submit(request(team.resident, "JF05"))
    assert police.emergency_number == "110"
    normal = await service.submit(request(team.resident, "HJ02"))
    assert normal.emergency_number is None and "拨打" not in normal.reply.text


async def _resolved(service: CaseService, team: Team, clock: Clock) -> str:
    case = (await service.submit(request(team.resident, "HJ01"))).case
    assert case is not None
    clock.advance(minutes=20)
    await service.accept(team.cgj, case.number)
    clock.advance(hours=3)
    await service.resolve(team.cgj, case.number, note="已清运")
    return case.number


async def test_survey_reminder_after_24h_and_no_answer_after_72h(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    number = await _resolved(service, team, clock)
    case = await service.get(number)
    assert case is not None and case.resolved_at is not None
    sched = scheduler(db, service, clock)
    clock.set(case.resolved_at + timedelta(hours=23))
    await sched.tick()
    assert "survey_reminder" not in kinds_to(await outbox_rows(db, case.id), "chat-100")
    clock.set(case.resolved_at + timedelta(hours=24))
    await sched.tick()
    assert kinds_to(await outbox_rows(db, case.id), "chat-100").count("survey_reminder") == 1
    clock.set(case.resolved_at + timedelta(hours=72))
    await sched.tick()
    closed = await service.get(number)
    assert closed is not None and closed.status is CaseStatus.CLOSED
    assert closed.survey_result is SurveyResult.NO_ANSWER


async def test_unsatisfied_reopens_under_supervision_and_second_escalates(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    number = await _resolved(service, team, clock)
    clock.advance(hours=2)
    reopened = await service.answer_survey(team.resident, number, 2)  # 不满意
    assert reopened.status is CaseStatus.REOPENED and reopened.supervised
    assert reopened.department == "CGJ" and reopened.reopen_count == 1
    assert reopened.response_due > clock.now
    rows = await outbox_rows(db, reopened.id)
    assert "case_reopened" in kinds_to(rows, "chat-200")
    # the reopened cycle has its own timers: the old survey timeout no longer closes it
    clock.advance(hours=80)
    await scheduler(db, service, clock).catch_up()
    again = await service.get(number)
    assert again is not None and again.status is CaseStatus.REOPENED
    assert [e.data.get("reason") for e in again.history if str(e.kind) == "escalated"] == [
        "response_overdue",
        "resolve_overdue",
    ]
    await service.accept(team.cgj, number)
    await service.resolve(team.cgj, number, note="再次清运并加装垃圾桶")
    second = await service.answer_survey(team.resident, number, 1)  # 非常不满意
    assert second.status is CaseStatus.REOPENED and second.reopen_count == 2
    last = second.history[-1]
    assert str(last.kind) == "escalated" and last.data["reason"] == "unsatisfied_again"
    center = [r for r in await outbox_rows(db, second.id) if r.chat_id == "chat-300"]
    assert center[-1].kind == "case_escalated" and center[-1].payload["reason"] == "unsatisfied_again"


async def test_satisfied_answer_closes_and_stale_survey_is_refused(
    service: CaseService, team: Team, clock: Clock
) -> None:
    from dispatch.errors import IllegalTransition

    number = await _resolved(service, team, clock)
    closed = await service.answer_survey(team.resident, number, 3)  # 基本满意
    assert closed.status is CaseStatus.CLOSED and closed.survey_result is SurveyResult.BASIC
    try:
        await service.answer_survey(team.resident, number, 1)
    except IllegalTransition:
        pass
    else:
        raise AssertionError("a second answer on a closed case must be refused")


async def test_duplicate_offered_then_linked_and_subscribed(
    service: CaseService, db: Database, team: Team, clock: Clock
) -> None:
    first = (await service.submit(request(team.resident, "HJ01"))).case
    assert first is not None
    clock.advance(hours=5)
    draft = request(team.neighbour, "HJ01", text="垃圾又堆起来了", update_key="n-1")
    offer = await service.submit(draft)
    assert offer.case is None and offer.duplicate_of is not None
    assert offer.duplicate_of.number == first.number
    datas = [b.data for row in offer.reply.buttons for b in row]
    assert datas == [f"dup|{first.number}|y", f"dup|{first.number}|n"]
    async with db.uow(read_only=True) as uow:
        assert await uow.cases.count() == 1  # nothing created yet

    new, original = await service.link_duplicate(draft, first.number)
    assert new.status is CaseStatus.DUPLICATE and new.duplicate_of == first.id
    assert ("telegram", "chat-101") in [(s.channel, s.chat_id) for s in original.subscribers]
    await service.accept(team.cgj, first.number)
    rows = await outbox_rows(db, first.id)
    assert "case_accepted" in kinds_to(rows, "chat-101")  # the subscriber hears of the original
    assert "duplicate_linked" in kinds_to(await outbox_rows(db, new.id), "chat-101")


async def test_duplicate_declined_other_grid_or_after_24h_creates_a_new_case(
    service: CaseService, team: Team, clock: Clock
) -> None:
    first = (await service.submit(request(team.resident, "HJ01"))).case
    assert first is not None
    declined = await service.submit(request(team.neighbour, "HJ01"), check_duplicates=False)
    assert declined.case is not None
    other_grid = await service.submit(request(team.neighbour, "HJ01", grid="HB02-1"))
    assert other_grid.case is not None
    other_type = await service.submit(request(team.neighbour, "HJ02"))
    assert other_type.case is not None
    clock.advance(hours=24, seconds=1)
    later = await service.submit(request(team.neighbour, "HJ01", grid="HB02-1"))
    assert later.case is not None  # the HB02-1 report is over 24 h old now
    service_req = await service.submit(request(team.neighbour, "YL001", kind="service"))
    assert service_req.case is not None  # services are never offered as duplicates
