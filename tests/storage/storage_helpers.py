"""Builders shared by the storage tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from catalog.loader import load_catalog
from dispatch.case import Case
from dispatch.people import ChannelIdentity, Person, Role
from storage.uow import UnitOfWork

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def add_resident(uow: UnitOfWork, user: str = "1001", at: datetime = T0) -> Person:
    person, _ = await uow.people.get_or_create_by_identity(
        ChannelIdentity("telegram", user, f"chat-{user}"),
        display_name=f"居民{user}",
        at=at,
        new_id=str(uuid.uuid4()),
    )
    return person


async def add_staff(
    uow: UnitOfWork, department: str, user: str, *, lead: bool = False, at: datetime = T0
) -> Person:
    person = await add_resident(uow, user, at)
    person.grant(Role.DEPT_STAFF, department=department, lead=lead)
    await uow.people.save(person)
    return person


async def new_case(uow: UnitOfWork, requester: Person, code: str = "HJ01", at: datetime = T0) -> Case:
    catalog = load_catalog()
    identity = requester.identities[0]
    case = Case.submit(
        id=str(uuid.uuid4()),
        number=await uow.cases.next_number(at),
        item=catalog.service_or_case(code),
        requester_id=requester.id,
        channel=identity.channel,
        chat_id=identity.chat_id,
        text="小区门口垃圾堆了三天没人清理",
        at=at,
        address="东坡路12号",
        community="HB01",
        grid="HB01-1",
        street="HB",
        details={"phone": "13800000000"},
    )
    uow.cases.add(case)
    return case
