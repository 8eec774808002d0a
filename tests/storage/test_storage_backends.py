"""One storage suite, run on SQLite and on PostgreSQL (the ``db_url`` fixture in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from storage_helpers import T0, add_resident, add_staff, new_case

from dispatch.case import Attachment, AttachmentKind, SurveyResult
from dispatch.errors import InviteAlreadyUsed, InviteExpired, InviteNotFound
from dispatch.lifecycle import CaseStatus
from dispatch.numbering import parse_case_number
from dispatch.people import ChannelIdentity, ChatRef, Role
from storage.database import Database
from storage.errors import ConcurrencyError
from storage.invites import create_invite, redeem_invite
from storage.migrate import upgrade
from storage.outbox import DEAD, PENDING, SENT, UNROUTABLE

TABLES = {
    "people",
    "person_roles",
    "channel_identities",
    "staff",
    "grid_assignments",
    "invites",
    "cases",
    "case_events",
    "case_counters",
    "outbox",
    "inbound_updates",
    "timers",
    "conversations",
    "household_visits",
    "alembic_version",
}


async def _table_names(db: Database) -> set[str]:
    from sqlalchemy import inspect

    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def _count(db: Database, table: str) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_migrations_apply_and_are_idempotent(db_url: str) -> None:
    await upgrade(db_url)
    await upgrade(db_url)  # a second start must be a no-op
    db = Database(db_url)
    try:
        assert await _table_names(db) >= TABLES
        async with db.engine.connect() as conn:
            assert (
                await conn.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one() == "0001"
    finally:
        await db.dispose()


async def test_case_events_and_outbox_commit_together(db: Database) -> None:
    async with db.uow() as uow:
        resident = await add_resident(uow)
        await add_staff(uow, "CGJ", "2001")
        await add_staff(uow, "CGJ", "2002", lead=True)
        await uow.commit(T0)
    async with db.uow() as uow:
        case = await new_case(uow, resident)
        case.attachments.append(
            Attachment(AttachmentKind.VOICE, "file-1", "垃圾没人清", "faster-whisper base")
        )
        case.assign("CGJ", actor="system", at=T0 + timedelta(minutes=1), note="按目录派单")
        await uow.commit(T0)
        assert case.version == 1 and case.pending_notifications == []

    async with db.uow() as uow:
        loaded = await uow.cases.get_by_number(case.number)
        assert loaded is not None
        assert loaded.status is CaseStatus.ASSIGNED and loaded.department == "CGJ"
        assert [e.kind.value for e in loaded.history] == ["submitted", "assigned"]
        assert loaded.history[1].actor == "system" and loaded.history[1].note == "按目录派单"
        assert loaded.history[1].at == T0 + timedelta(minutes=1)
        assert loaded.submitted_at == T0 and loaded.submitted_at.tzinfo is not None
        assert loaded.attachments[0].transcript == "垃圾没人清"
        assert loaded.details == {"phone": "13800000000"}
        rows = await uow.outbox.for_case(case.id)
    assert sorted((r.channel, r.chat_id, r.kind) for r in rows) == [
        ("telegram", "chat-2001", "case_assigned"),
        ("telegram", "chat-2002", "case_assigned"),
    ]
    assert rows[0].payload["number"] == case.number


async def test_rollback_leaves_nothing(db: Database) -> None:
    async with db.uow() as uow:
        resident = await add_resident(uow)
        await uow.commit(T0)
    with pytest.raises(RuntimeError):
        async with db.uow() as uow:
            case = await new_case(uow, resident)
            case.assign("CGJ", actor="system", at=T0)
            await uow.cases.flush(T0)  # rows written inside the transaction ...
            raise RuntimeError("crash before commit")  # ... and thrown away
    for table in ("cases", "case_events", "outbox", "case_counters"):
        assert await _count(db, table) == 0, table
    async with db.uow() as uow:  # the number was not consumed either
        assert parse_case_number(await uow.cases.next_number(T0))[1] == 1


async def test_audit_log_rejects_update_and_delete(db: Database) -> None:
    async with db.uow() as uow:
        case = await new_case(uow, await add_resident(uow))
        await uow.commit(T0)
    for sql in ("UPDATE case_events SET note = 'rewritten'", "DELETE FROM case_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text(sql))
    async with db.uow() as uow:
        loaded = await uow.cases.get(case.id)
        assert loaded is not None and loaded.history[0].note == ""


async def test_case_numbers_unique_under_concurrency(db: Database, db_url: str) -> None:
    # On PostgreSQL half the callers use a second engine, as a second process would.
    other = Database(db_url)

    async def issue(i: int) -> str:
        target = other if i % 2 else db
        async with target.uow() as uow:
            number = await uow.cases.next_number(T0)
            await uow.commit(T0)
            return number

    try:
        numbers = await asyncio.gather(*(issue(i) for i in range(50)))
    finally:
        await other.dispose()
    assert len(set(numbers)) == 50
    assert sorted(parse_case_number(n)[1] for n in numbers) == list(range(1, 51))
    assert all(n.startswith("SC-20261128-") for n in numbers)


async def test_outbox_claim_hands_each_row_to_one_worker(db: Database, db_url: str) -> None:
    async with db.uow() as uow:
        for i in range(40):
            await uow.outbox.add(
                channel="telegram",
                chat_id="c1",
                kind="test",
                payload={"i": i},
                idempotency_key=f"k{i}",
                at=T0,
            )
        assert not await uow.outbox.add(
            channel="telegram", chat_id="c1", kind="test", payload={}, idempotency_key="k0", at=T0
        )
        await uow.commit(T0)

    other = Database(db_url)
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    async def worker(name: str, database: Database) -> None:
        while True:
            async with database.uow() as uow:
                batch = await uow.outbox.claim_batch(name, T0 + timedelta(seconds=1), limit=3)
                await uow.commit(T0)
            if not batch:
                return
            claimed[name].extend(m.id for m in batch)

    try:
        await asyncio.gather(worker("a", db), worker("b", other))
    finally:
        await other.dispose()
    all_ids = claimed["a"] + claimed["b"]
    assert len(all_ids) == 40 and len(set(all_ids)) == 40


async def test_outbox_lease_send_once_and_backoff(db: Database) -> None:
    async with db.uow() as uow:
        await uow.outbox.add(channel="web", chat_id="w1", kind="t", payload={}, idempotency_key="x", at=T0)
        await uow.commit(T0)
    async with db.uow() as uow:
        (msg,) = await uow.outbox.claim_batch("a", T0, lease=timedelta(seconds=30))
        assert await uow.outbox.claim_batch("b", T0 + timedelta(seconds=10)) == []
        # the claimer died: after the lease the row is handed out again
        (again,) = await uow.outbox.claim_batch("b", T0 + timedelta(seconds=31))
        assert again.id == msg.id and again.attempts == 2
        assert await uow.outbox.mark_failed(msg.id, T0 + timedelta(seconds=31), "timeout") == PENDING
        failed = await uow.outbox.get(msg.id)
        assert failed is not None and failed.next_attempt_at == T0 + timedelta(seconds=31 + 10)
        assert await uow.outbox.claim_batch("b", T0 + timedelta(seconds=35)) == []
        (third,) = await uow.outbox.claim_batch("b", T0 + timedelta(seconds=41))
        assert await uow.outbox.mark_sent(third.id, T0 + timedelta(seconds=42), external_message_id="77")
        assert not await uow.outbox.mark_sent(third.id, T0 + timedelta(seconds=43))
        sent = await uow.outbox.get(msg.id)
        assert sent is not None and sent.status == SENT and sent.external_message_id == "77"
        await uow.outbox.add(channel="web", chat_id="w1", kind="t", payload={}, idempotency_key="y", at=T0)
        (doomed,) = await uow.outbox.claim_batch("a", T0 + timedelta(minutes=5))
        assert await uow.outbox.mark_failed(doomed.id, T0, "blocked", max_attempts=1) == DEAD
        await uow.commit(T0)


async def test_notification_without_recipient_chat_is_kept_unroutable(db: Database) -> None:
    async with db.uow() as uow:
        case = await new_case(uow, await add_resident(uow))
        case.assign("WSJ", actor="system", at=T0)  # nobody from WSJ has joined
        await uow.commit(T0)
        (row,) = await uow.outbox.for_case(case.id)
        assert row.status == UNROUTABLE and row.chat_id == "department:WSJ"
        assert await uow.outbox.claim_batch("a", T0 + timedelta(hours=1)) == []


async def test_inbound_update_processed_once(db: Database, db_url: str) -> None:
    async with db.uow() as uow:
        assert await uow.inbound.record("telegram", 42, T0)
        assert not await uow.inbound.record("telegram", 42, T0)
        assert await uow.inbound.record("web", 42, T0)  # ids are per channel
        await uow.commit(T0)
    other = Database(db_url)

    async def claim(database: Database) -> bool:
        async with database.uow() as uow:
            first = await uow.inbound.record("telegram", 43, T0)
            await uow.commit(T0)
            return first

    try:
        results = await asyncio.gather(claim(db), claim(other))
    finally:
        await other.dispose()
    assert sorted(results) == [False, True]
    async with db.uow() as uow:
        case = await new_case(uow, await add_resident(uow))
        await uow.inbound.link_case("telegram", 42, case.id)
        await uow.commit(T0)
        assert await uow.inbound.case_for("telegram", 42) == case.id
        assert await uow.inbound.seen("telegram", 43)
        assert not await uow.inbound.seen("telegram", 44)


async def test_timer_fires_once(db: Database, db_url: str) -> None:
    async with db.uow() as uow:
        case = await new_case(uow, await add_resident(uow))
        await uow.cases.flush(T0)  # the timer rows reference the case row
        assert await uow.timers.schedule(case.id, "response_due", case.response_due, T0)
        assert not await uow.timers.schedule(case.id, "response_due", case.response_due, T0)
        assert await uow.timers.schedule(case.id, "resolve_due", case.resolve_due, T0)
        assert await uow.timers.schedule(case.id, "survey", case.resolve_due, T0)
        assert await uow.timers.cancel(case.id, ["survey"]) == 1
        await uow.commit(T0)
    late = case.resolve_due + timedelta(minutes=1)
    other = Database(db_url)

    async def scheduler(database: Database, name: str) -> list[str]:
        fired = []
        async with database.uow() as uow:
            timers = await uow.timers.claim_due(name, late)
            await uow.commit(late)
        for timer in timers:
            async with database.uow() as uow:
                if await uow.timers.mark_fired(timer.id, late):
                    fired.append(timer.kind)
                    await uow.commit(late)
        return fired

    try:
        a, b = await asyncio.gather(scheduler(db, "a"), scheduler(other, "b"))
    finally:
        await other.dispose()
    assert sorted(a + b) == ["resolve_due", "response_due"]
    async with db.uow() as uow:
        timers = {t.kind: t for t in await uow.timers.for_case(case.id)}
        assert not await uow.timers.mark_fired(timers["response_due"].id, late)
        assert await uow.timers.claim_due("c", late + timedelta(days=30)) == []
        assert timers["survey"].cancelled and timers["survey"].fired_at is None
        assert await uow.timers.next_due_at() is None


async def test_invite_redeemed_once(db: Database) -> None:
    invite = await create_invite(db, Role.DEPT_STAFF, T0, department="CGJ", lead=True)
    person = await redeem_invite(db, invite.code.lower(), ChannelIdentity("telegram", "3001", "c3001"), T0)
    assert person.has_role(Role.DEPT_STAFF) and person.department == "CGJ" and person.is_department_lead
    with pytest.raises(InviteAlreadyUsed):
        await redeem_invite(db, invite.code, ChannelIdentity("telegram", "3002", "c3002"), T0)
    async with db.uow() as uow:
        staff = await uow.people.staff_of("CGJ", lead_only=True)
        assert [p.id for p in staff] == [person.id]
        assert await uow.people.by_identity("telegram", "3002") is None  # the failed try left nothing
        assert await uow.invites.list() == []
    expired = await create_invite(db, Role.GRID_WORKER, T0, grids=("HB01-1",), ttl=timedelta(hours=1))
    with pytest.raises(InviteExpired):
        await redeem_invite(db, expired.code, ChannelIdentity("web", "u9", "u9"), T0 + timedelta(hours=2))
    with pytest.raises(InviteNotFound):
        await redeem_invite(db, "NOSUCH", ChannelIdentity("web", "u9", "u9"), T0)


async def test_concurrent_redeem_gives_the_role_once(db: Database, db_url: str) -> None:
    invite = await create_invite(db, Role.DISPATCHER, T0, department="LDZX")
    other = Database(db_url)

    async def redeem(database: Database, user: str) -> str:
        try:
            await redeem_invite(database, invite.code, ChannelIdentity("telegram", user, user), T0)
        except InviteAlreadyUsed:
            return "rejected"
        return "ok"

    try:
        results = await asyncio.gather(redeem(db, "a1"), redeem(other, "b1"))
    finally:
        await other.dispose()
    assert sorted(results) == ["ok", "rejected"]
    async with db.uow() as uow:
        assert len(await uow.people.dispatchers()) == 1


async def test_conversation_state_survives_restart(db: Database, db_url: str) -> None:
    state = {"step": "ask_address", "code": "YL001", "slots": {"phone": "13800000000"}, "n": [1, 2]}
    async with db.uow() as uow:
        await uow.conversations.put("telegram", "c1", state, T0)
        await uow.commit(T0)
    restarted = Database(db_url)
    try:
        async with restarted.uow() as uow:
            assert await uow.conversations.get("telegram", "c1") == state
            assert await uow.conversations.get("web", "c1") is None
            await uow.conversations.put("telegram", "c1", {"step": "confirm"}, T0)
            await uow.commit(T0)
        async with restarted.uow() as uow:
            assert await uow.conversations.get("telegram", "c1") == {"step": "confirm"}
            await uow.conversations.delete("telegram", "c1")
            await uow.commit(T0)
            assert await uow.conversations.get("telegram", "c1") is None
    finally:
        await restarted.dispose()


async def test_optimistic_lock_detects_stale_case(db: Database) -> None:
    async with db.uow() as uow:
        case = await new_case(uow, await add_resident(uow))
        case.assign("CGJ", actor="system", at=T0)
        await uow.commit(T0)
    async with db.uow(read_only=True) as uow:
        kept = await uow.cases.get(case.id)  # e.g. held while a conversation asks for a reason
    assert kept is not None
    async with db.uow() as uow:
        fresh = await uow.cases.get(case.id)
        assert fresh is not None
        fresh.accept(actor="staff-a", at=T0 + timedelta(minutes=5))
        await uow.commit(T0)
    async with db.uow() as uow:
        uow.cases.attach(kept)
        kept.return_to_center(actor="staff-b", at=T0 + timedelta(minutes=6), reason="不属于本部门")
        with pytest.raises(ConcurrencyError):
            await uow.commit(T0)
    async with db.uow() as uow:
        loaded = await uow.cases.get(case.id)
        assert loaded is not None and loaded.status is CaseStatus.ACCEPTED and loaded.version == 2
        assert [e.kind.value for e in loaded.history] == ["submitted", "assigned", "accepted"]
        again = await uow.cases.get(case.id)
        assert again is loaded  # one object per case within a unit of work
        loaded.resolve(actor="staff-a", at=T0 + timedelta(hours=1))
        await uow.commit(T0)
        assert loaded.version == 3


async def test_concurrent_transactions_on_one_case_conflict(db: Database) -> None:
    if db.backend == "sqlite":
        pytest.skip("SQLite serialises write transactions, so two cannot interleave")
    async with db.uow() as uow:
        case = await new_case(uow, await add_resident(uow))
        case.assign("CGJ", actor="system", at=T0)
        await uow.commit(T0)
    async with db.uow() as first, db.uow() as second:
        a = await first.cases.get(case.id)
        b = await second.cases.get(case.id)
        assert a is not None and b is not None
        a.accept(actor="staff-a", at=T0 + timedelta(minutes=5))
        b.return_to_center(actor="staff-b", at=T0 + timedelta(minutes=6), reason="不属于本部门")
        await first.commit(T0)
        with pytest.raises(ConcurrencyError):
            await second.commit(T0)


async def test_full_lifecycle_round_trips(db: Database) -> None:
    t = T0
    async with db.uow() as uow:
        resident = await add_resident(uow)
        await add_staff(uow, "CGJ", "2001", lead=True)
        await add_resident(uow, "1002")
        case = await new_case(uow, resident)
        case.subscribe(ChatRef("telegram", "chat-1002"))
        await uow.commit(t)
    steps = [
        lambda c, at: c.assign("CGJ", actor="system", at=at),
        lambda c, at: c.accept(actor="s", at=at),
        lambda c, at: c.escalate(actor="system", at=at, reason="resolve_overdue"),
        lambda c, at: c.resolve(actor="s", at=at, note="已清运"),
        lambda c, at: c.rate(SurveyResult.UNSATISFIED, actor=resident.id, at=at),
        lambda c, at: c.reopen(actor="system", at=at),
        lambda c, at: c.resolve(actor="s", at=at),
        lambda c, at: c.rate(SurveyResult.SATISFIED, actor=resident.id, at=at),
        lambda c, at: c.close(actor="system", at=at),
    ]
    for i, step in enumerate(steps, start=1):
        async with db.uow() as uow:
            loaded = await uow.cases.get(case.id)
            assert loaded is not None
            step(loaded, t + timedelta(hours=i))
            await uow.commit(t)
    async with db.uow() as uow:
        final = await uow.cases.get(case.id)
        assert final is not None
        assert final.status is CaseStatus.CLOSED and final.supervised and final.reopen_count == 1
        assert final.survey_result is SurveyResult.SATISFIED and final.version == len(steps) + 1
        assert len(final.history) == len(steps) + 1 and [e.seq for e in final.history] == list(range(1, 11))
        assert final.subscribers == [ChatRef("telegram", "chat-1002")]
        requester_rows = [r for r in await uow.outbox.for_case(case.id) if r.kind == "case_closed"]
        assert sorted(r.chat_id for r in requester_rows) == ["chat-1001", "chat-1002"]
        assert await uow.outbox.count(PENDING) > 0


async def test_queries_by_requester_department_status_and_overdue(db: Database) -> None:
    async with db.uow() as uow:
        alice, bob = await add_resident(uow, "1"), await add_resident(uow, "2")
        c1 = await new_case(uow, alice, "HJ01", T0)  # response 2 h, resolve 24 h
        c2 = await new_case(uow, alice, "YL001", T0 + timedelta(minutes=1))  # sla 24 h
        c3 = await new_case(uow, bob, "HJ01", T0 + timedelta(minutes=2))
        c1.assign("CGJ", actor="system", at=T0)
        c3.assign("CGJ", actor="system", at=T0)
        c3.accept(actor="s", at=T0)
        await uow.commit(T0)
    async with db.uow() as uow:
        assert [c.id for c in await uow.cases.list_by_requester(alice.id)] == [c2.id, c1.id]
        assert {c.id for c in await uow.cases.list_by_department("CGJ")} == {c1.id, c3.id}
        assert [c.id for c in await uow.cases.list_by_department("CGJ", statuses=[CaseStatus.ACCEPTED])] == [
            c3.id
        ]
        assert [c.id for c in await uow.cases.list_by_status([CaseStatus.SUBMITTED])] == [c2.id]
        assert [c.id for c in await uow.cases.overdue(T0 + timedelta(hours=3))] == [c1.id]
        late = {c.id for c in await uow.cases.overdue(T0 + timedelta(hours=25))}
        assert late == {c1.id, c2.id, c3.id}
        recent = await uow.cases.find_recent("HJ01", "HB01-1", T0, exclude_id=c3.id)
        assert [c.id for c in recent] == [c1.id]


async def test_people_identity_roles_and_grid_workers(db: Database, db_url: str) -> None:
    identity = ChannelIdentity("telegram", "555", "c555")
    other = Database(db_url)

    async def first_message(database: Database) -> str:
        async with database.uow() as uow:
            person, _ = await uow.people.get_or_create_by_identity(
                identity, display_name="王阿姨", at=T0, new_id=str(uuid.uuid4())
            )
            await uow.commit(T0)
            return person.id

    try:
        ids = await asyncio.gather(first_message(db), first_message(other))
    finally:
        await other.dispose()
    assert ids[0] == ids[1]
    async with db.uow() as uow:
        person = await uow.people.by_identity("telegram", "555")
        assert person is not None and person.roles == {Role.RESIDENT}
        person.grant(Role.GRID_WORKER, grids=("HB01-1", "HB01-2"))
        person.phone = "13900000000"
        await uow.people.save(person)
        moved, created = await uow.people.get_or_create_by_identity(
            ChannelIdentity("telegram", "555", "c556"), display_name="", at=T0, new_id="unused"
        )
        assert not created and moved.id == person.id
        await uow.visits.add(person.id, "东坡路12号", T0, grid="HB01-1", notes="独居老人，身体良好")
        await uow.commit(T0)
    async with db.uow() as uow:
        workers = await uow.people.grid_workers_of("HB01-2")
        assert [w.id for w in workers] == [person.id]
        assert workers[0].grids == ("HB01-1", "HB01-2") and workers[0].phone == "13900000000"
        assert await uow.people.chats_for([person.id]) == [ChatRef("telegram", "c556")]
        (visit,) = await uow.visits.list_by_worker(person.id)
        assert visit.notes == "独居老人，身体良好" and visit.at == T0


async def test_documented_submission_flow(db: Database) -> None:
    """The example in docs/domain.md, run as written (twice: the second delivery is a no-op)."""
    from catalog.loader import load_catalog
    from dispatch.case import Case

    catalog = load_catalog()
    async with db.uow() as uow:
        await add_staff(uow, "CGJ", "2001")
        await uow.commit(T0)

    async def handle(update_id: int, now: datetime = T0) -> str | None:
        identity = ChannelIdentity("telegram", "1001", "chat-1001")
        async with db.uow() as uow:
            if not await uow.inbound.record("telegram", update_id, now):
                return None
            person, _ = await uow.people.get_or_create_by_identity(
                identity, display_name="王阿姨", at=now, new_id=str(uuid.uuid4())
            )
            case = Case.submit(
                id=str(uuid.uuid4()),
                number=await uow.cases.next_number(now),
                item=catalog.service_or_case("HJ01"),
                requester_id=person.id,
                channel="telegram",
                chat_id=identity.chat_id,
                text="垃圾没人清",
                at=now,
            )
            case.assign(catalog.case_types["HJ01"].department, actor="system", at=now)
            uow.cases.add(case)
            await uow.inbound.link_case("telegram", update_id, case.id)
            await uow.cases.flush(now)
            await uow.timers.schedule(case.id, "response_due", case.response_due, now)
            await uow.commit(now)
            return case.number

    assert await handle(9001) == "SC-20261128-0001"
    assert await handle(9001) is None
    async with db.uow(read_only=True) as uow:
        assert await uow.cases.count() == 1
        case_id = await uow.inbound.case_for("telegram", 9001)
        assert case_id is not None
        (timer,) = await uow.timers.for_case(case_id)
        (row,) = await uow.outbox.for_case(case_id)
        assert timer.kind == "response_due" and row.chat_id == "chat-2001" and row.kind == "case_assigned"
