"""A known month of case history (October 2026), written through the real engine, for the report.

Five cases run through ``CaseService`` and ``DeadlineScheduler`` with a driven clock, so every
event, escalation and survey is produced by the same code as in service. The expected scores
(docs/dispatch.md, tests/engine/test_scoring.py):

| dept | accepted on time | resolved on time | satisfaction | reopen rate | overdue (resp/resolve) | points |
|---|---|---|---|---|---|---|
| CGJ | 3/4 | 3/4 | 2/4 | 1/4 | 1 / 1 | 95 |
| MZJ | 1/2 | 2/2 | 1/2 | 1/2 | 1 / 0 | 98 |
| ZJJ | 1/1 | 1/1 | - (未评价) | 0/1 | 0 / 0 | 100 |
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bot.scheduler import DeadlineScheduler
from catalog.model import Catalog
from dispatch.people import ChannelIdentity, Person, Role
from handlers.cases import CaseService, SubmitRequest
from storage.database import Database

DEMO_MONTH = "2026-10"
START = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)  # Monday 09:00 in Hangzhou


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _person(
    db: Database, user: str, name: str, role: Role | None = None, dept: str | None = None
) -> Person:
    async with db.uow() as uow:
        person, _ = await uow.people.get_or_create_by_identity(
            ChannelIdentity("web", f"demo-{user}", f"demo-chat-{user}"),
            display_name=name,
            at=START,
            new_id=str(uuid.uuid4()),
        )
        if role is not None:
            person.grant(role, department=dept)
            await uow.people.save(person)
        await uow.commit(START)
    return person


async def seed_demo_history(db: Database, catalog: Catalog) -> list[str]:
    """Write the demo month into ``db``; returns the case numbers. Refuses a database with cases."""
    async with db.uow(read_only=True) as uow:
        if await uow.cases.count():
            raise RuntimeError("the database already holds cases; seed the demo into an empty one")
    clock = _Clock(START)
    service = CaseService(db, catalog, clock=clock)
    sched = DeadlineScheduler(db, service, worker_id="demo-seed", clock=clock)
    resident = await _person(db, "r1", "周阿姨")
    cgj = await _person(db, "cgj", "城管-王", Role.DEPT_STAFF, "CGJ")
    zjj = await _person(db, "zjj", "住建-李", Role.DEPT_STAFF, "ZJJ")
    mzj = await _person(db, "mzj", "民政-陈", Role.DEPT_STAFF, "MZJ")

    async def at(t: datetime) -> None:
        clock.now = t
        await sched.catch_up()

    async def submit(code: str, kind: str, t: datetime, text: str) -> str:
        await at(t)
        ident = resident.identities[0]
        req = SubmitRequest(kind, code, resident.id, ident.channel, ident.chat_id, text, grid="HB01-1")
        out = await service.submit(req, check_duplicates=False)
        assert out.case is not None
        return out.case.number

    h = timedelta(hours=1)
    numbers = []
    # A: on time all the way, 非常满意
    t = START
    a = await submit("HJ01", "case", t, "小区门口垃圾没人清")
    await at(t + h)
    await service.accept(cgj, a)
    await at(t + 5 * h)
    await service.resolve(cgj, a, note="已清运")
    await at(t + 6 * h)
    await service.answer_survey(resident, a, 5)
    numbers.append(a)
    # B: accepted late (escalated), resolved on time, 满意
    t = START + timedelta(days=1)
    b = await submit("HJ01", "case", t, "垃圾桶满了溢出来")
    await at(t + 3 * h)
    await service.accept(cgj, b)
    await at(t + 10 * h)
    await service.resolve(cgj, b)
    await service.answer_survey(resident, b, 4)
    numbers.append(b)
    # C: resolved late (escalated), 不满意 → reopened, then on time, 基本满意
    t = START + timedelta(days=2)
    c = await submit("HJ01", "case", t, "建筑垃圾堆在路边")
    await at(t + h)
    await service.accept(cgj, c)
    await at(t + 26 * h)
    await service.resolve(cgj, c)
    await service.answer_survey(resident, c, 2)
    await at(t + 27 * h)
    await service.accept(cgj, c)
    await at(t + 29 * h)
    await service.resolve(cgj, c, note="已全部清运")
    await service.answer_survey(resident, c, 3)
    numbers.append(c)
    # D: ZJJ on time, never rated (未评价 after 72 h)
    t = START + timedelta(days=3)
    d = await submit("MS02", "case", t, "楼道扶手坏了")
    await at(t + 2 * h)
    await service.accept(zjj, d)
    await at(t + 20 * h)
    await service.resolve(zjj, d)
    numbers.append(d)
    # E: MZJ service accepted late, 非常不满意 → reopened, then 非常满意
    t = START + timedelta(days=4)
    e = await submit("YL001", "service", t, "想给家里老人订助餐")
    await at(t + 30 * h)
    await service.accept(mzj, e)
    await at(t + 40 * h)
    await service.resolve(mzj, e)
    await service.answer_survey(resident, e, 1)
    await at(t + 41 * h)
    await service.accept(mzj, e)
    await at(t + 43 * h)
    await service.resolve(mzj, e)
    await service.answer_survey(resident, e, 5)
    numbers.append(e)
    await at(START + timedelta(days=8))  # D's survey times out
    return numbers
