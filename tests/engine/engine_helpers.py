"""Builders for the engine tests: a driven clock, a team of people, submissions, outbox reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dispatch.people import ChannelIdentity, Person, Role
from handlers.cases import SubmitRequest
from storage.database import Database
from storage.outbox import OutboxMessage
from storage.sql import table
from storage.uow import UnitOfWork

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Hangzhou, a Monday


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now

    def set(self, at: datetime) -> datetime:
        self.now = at
        return at


async def add_person(
    uow: UnitOfWork,
    user: str,
    *,
    role: Role | None = None,
    department: str | None = None,
    lead: bool = False,
    grids: tuple[str, ...] = (),
) -> Person:
    person, _ = await uow.people.get_or_create_by_identity(
        ChannelIdentity("telegram", user, f"chat-{user}"),
        display_name=f"用户{user}",
        at=T0,
        new_id=str(uuid.uuid4()),
    )
    if role is not None:
        person.grant(role, department=department, lead=lead, grids=grids)
        await uow.people.save(person)
    return person


@dataclass
class Team:
    resident: Person
    neighbour: Person
    cgj: Person
    cgj_lead: Person
    mzj: Person
    zjj: Person
    dispatcher: Person
    hbjd: Person


async def make_team(db: Database) -> Team:
    async with db.uow() as uow:
        team = Team(
            resident=await add_person(uow, "100"),
            neighbour=await add_person(uow, "101"),
            cgj=await add_person(uow, "200", role=Role.DEPT_STAFF, department="CGJ"),
            cgj_lead=await add_person(uow, "201", role=Role.DEPT_STAFF, department="CGJ", lead=True),
            mzj=await add_person(uow, "210", role=Role.DEPT_STAFF, department="MZJ"),
            zjj=await add_person(uow, "220", role=Role.DEPT_STAFF, department="ZJJ"),
            dispatcher=await add_person(uow, "300", role=Role.DISPATCHER, department="LDZX"),
            hbjd=await add_person(uow, "400", role=Role.DEPT_STAFF, department="HBJD"),
        )
        await uow.commit(T0)
    return team


def request(
    person: Person,
    code: str | None,
    *,
    kind: str = "case",
    grid: str | None = "HB01-1",
    text: str = "东坡路12号门口垃圾堆了三天",
    confidence: float | None = None,
    update_key: str | None = None,
) -> SubmitRequest:
    ident = person.identities[0]
    return SubmitRequest(
        kind=kind,
        code=code,
        requester_id=person.id,
        channel=ident.channel,
        chat_id=ident.chat_id,
        text=text,
        address="东坡路12号",
        grid=grid,
        confidence=confidence,
        update_key=update_key,
    )


async def outbox_rows(db: Database, case_id: str | None = None) -> list[OutboxMessage]:
    async with db.uow(read_only=True) as uow:
        if case_id is not None:
            return await uow.outbox.for_case(case_id)
        from sqlalchemy import select

        from storage.outbox import _message

        rows = await uow.connection.execute(select(table("outbox")).order_by(table("outbox").c.id))
        return [_message(r) for r in rows.mappings().all()]


def kinds_to(rows: list[OutboxMessage], chat_id: str) -> list[str]:
    return [r.kind for r in rows if r.chat_id == chat_id]
