"""The SQLite one-trip driver (storage.sqlite_onetrip) and the SQLite write gate (storage.database).

The driver tests run plain SQL through ``db.engine`` on a scratch table, so they check the DB-API
cursor itself: rows, description, rowcount, lastrowid, executemany, errors, RETURNING, big results.
The gate tests check that write units of work of one process take turns (and always hand the turn
on: after an exception, a missing commit, a cancellation) while read-only ones never wait for them;
on PostgreSQL there is no gate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from storage_helpers import T0

from storage.database import Database
from storage.sqlite_onetrip import OneTripConnection, OneTripCursor, OneTripDBAPI

T = TypeVar("T")

GUARD_S = 10.0
"""How long a step may take before the test calls it stuck (a leaked gate, a held mutex)."""

items = Table(
    "items",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
    Column("n", Integer),
)
CREATE_ITEMS = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER)"


async def within(aw: Awaitable[T]) -> T:
    """``aw``, or a failure instead of a hang when it never finishes."""
    return await asyncio.wait_for(aw, GUARD_S)


@pytest.fixture
async def scratch(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database without the project's tables, holding the empty ``items`` table."""
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}", migrate=False)
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text(CREATE_ITEMS))
            await conn.commit()
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database in a file."""
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    try:
        yield db
    finally:
        await db.dispose()


async def _inbound_ids(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT update_id FROM inbound_updates ORDER BY id"))
        return [str(r) for r in rows.scalars()]


# --- the engine really uses the one-trip driver ------------------------------------------


async def test_engine_runs_on_the_onetrip_cursor(scratch: Database) -> None:
    assert isinstance(scratch.engine.sync_engine.dialect.dbapi, OneTripDBAPI)

    cursors: list[type] = []

    def seen(_conn: Any, cursor: Any, *_args: Any) -> None:
        cursors.append(type(cursor))

    event.listen(scratch.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with scratch.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.dbapi_connection, OneTripConnection)
            cursor = raw.dbapi_connection.cursor()
            try:
                assert type(cursor) is OneTripCursor
            finally:
                cursor.close()
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        event.remove(scratch.engine.sync_engine, "before_cursor_execute", seen)
    assert cursors and all(c is OneTripCursor for c in cursors), cursors


# --- driver semantics ------------------------------------------------------------------------


async def test_select_returns_rows_and_description(scratch: Database) -> None:
    async with scratch.engine.connect() as conn:
        await conn.execute(
            text("INSERT INTO items (name, n) VALUES ('a', 1), ('b', NULL), ('杭州', 3)"),
        )
        result = await conn.execute(text("SELECT id, name, n AS amount FROM items ORDER BY id"))
        assert list(result.keys()) == ["id", "name", "amount"]
        assert [tuple(r) for r in result] == [(1, "a", 1), (2, "b", None), (3, "杭州", 3)]

        empty = await conn.execute(text("SELECT name, n FROM items WHERE 0"))
        assert list(empty.keys()) == ["name", "n"]  # description comes back without rows too
        assert empty.all() == []

        typed = await conn.execute(text("SELECT 1.5, x'00ff', NULL, 'é'"))
        assert tuple(typed.one()) == (1.5, b"\x00\xff", None, "é")


async def test_insert_reports_lastrowid_and_primary_key(scratch: Database) -> None:
    async with scratch.engine.connect() as conn:
        first = await conn.execute(text("INSERT INTO items (name) VALUES ('a')"))
        assert first.lastrowid == 1
        second = await conn.execute(text("INSERT INTO items (id, name) VALUES (41, 'b')"))
        assert second.lastrowid == 41
        core = await conn.execute(items.insert().values(name="c"))
        assert core.inserted_primary_key == (42,)
        assert core.lastrowid == 42


async def test_update_rowcount(scratch: Database) -> None:
    async with scratch.engine.connect() as conn:
        await conn.execute(text("INSERT INTO items (name, n) VALUES ('a', 1), ('b', 2), ('c', 2), ('d', 2)"))
        none = await conn.execute(text("UPDATE items SET n = 9 WHERE n = 7"))
        assert none.rowcount == 0
        one = await conn.execute(text("UPDATE items SET n = 9 WHERE n = 1"))
        assert one.rowcount == 1
        three = await conn.execute(text("UPDATE items SET n = 8 WHERE n = :n"), {"n": 2})
        assert three.rowcount == 3
        gone = await conn.execute(text("DELETE FROM items WHERE n = 8"))
        assert gone.rowcount == 3


async def test_executemany_inserts_every_row(scratch: Database) -> None:
    rows = [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}]
    async with scratch.engine.connect() as conn:
        await conn.execute(text("INSERT INTO items (name, n) VALUES (:name, :n)"), rows)
        got = await conn.execute(text("SELECT name, n FROM items ORDER BY id"))
        assert [dict(r._mapping) for r in got] == rows
        bumped = await conn.execute(
            text("UPDATE items SET n = n + 10 WHERE name = :name"), [{"name": "a"}, {"name": "c"}]
        )
        assert bumped.rowcount == 2
        assert (await conn.execute(text("SELECT sum(n) FROM items"))).scalar_one() == 26


async def test_unique_violation_raises_and_connection_recovers(scratch: Database) -> None:
    async with scratch.engine.connect() as conn:
        await conn.execute(text("INSERT INTO items (name) VALUES ('a')"))
        await conn.commit()
        await conn.execute(text("INSERT INTO items (name) VALUES ('b')"))
        with pytest.raises(IntegrityError, match="UNIQUE"):
            await conn.execute(text("INSERT INTO items (name) VALUES ('a')"))
        with pytest.raises(IntegrityError):  # executemany reports it as well
            await conn.execute(
                text("INSERT INTO items (name) VALUES (:name)"), [{"name": "c"}, {"name": "a"}]
            )
        await conn.rollback()
        await within(conn.execute(text("INSERT INTO items (name) VALUES ('d')")))
        await conn.commit()
        names = await conn.execute(text("SELECT name FROM items ORDER BY id"))
        assert names.scalars().all() == ["a", "d"]  # 'b' and 'c' went with the rollback


async def test_syntax_error_raises_operational_error(scratch: Database) -> None:
    async with scratch.engine.connect() as conn:
        with pytest.raises(OperationalError, match="syntax error"):
            await conn.execute(text("SELEC name FROM items"))
        with pytest.raises(OperationalError, match="no such table"):
            await conn.execute(text("SELECT * FROM nothing_here"))
        await conn.rollback()
        assert (await within(conn.execute(text("SELECT count(*) FROM items")))).scalar_one() == 0


async def test_many_rows_come_back_complete_and_in_order(scratch: Database) -> None:
    total = 5000
    async with scratch.engine.connect() as conn:
        await conn.execute(
            text("INSERT INTO items (id, name, n) VALUES (:id, :name, :n)"),
            [{"id": i, "name": f"item-{i}", "n": i * 2} for i in range(1, total + 1)],
        )
        expected = list(range(1, total + 1))
        query = text("SELECT id, n FROM items ORDER BY id")

        result = await conn.execute(query)
        fetched: list[int] = []
        while batch := result.fetchmany(701):
            fetched.extend(r.id for r in batch)
        assert fetched == expected

        parts = [[r.id for r in part] for part in (await conn.execute(query)).partitions(1000)]
        assert [len(p) for p in parts] == [1000] * 5
        assert [i for p in parts for i in p] == expected

        assert (await conn.execute(text("SELECT id FROM items ORDER BY id"))).scalars().all() == expected
        rows = (await conn.execute(query)).all()
        assert all(r.n == r.id * 2 for r in rows) and len(rows) == total

        streamed = await conn.stream(query)  # a server-side cursor: SQLAlchemy's own, still works
        assert [r.id async for r in streamed] == expected


async def test_returning(scratch: Database) -> None:
    async with scratch.engine.connect() as conn:
        added = await conn.execute(
            text("INSERT INTO items (name, n) VALUES ('a', 5), ('b', 6) RETURNING id, name")
        )
        assert list(added.keys()) == ["id", "name"]
        assert [tuple(r) for r in added] == [(1, "a"), (2, "b")]
        changed = await conn.execute(text("UPDATE items SET n = n * 10 RETURNING name, n"))
        assert sorted(tuple(r) for r in changed) == [("a", 50), ("b", 60)]
        core = await conn.execute(items.insert().values(name="c").returning(items.c.id, items.c.name))
        assert tuple(core.one()) == (3, "c")
        deleted = await conn.execute(text("DELETE FROM items WHERE n > 55 RETURNING id"))
        assert deleted.scalars().all() == [2]


# --- the SQLite write gate -------------------------------------------------------------------


async def test_concurrent_write_units_all_commit(sqlite_db: Database) -> None:
    async def write(i: int) -> None:
        async with sqlite_db.uow() as uow:
            assert await uow.inbound.record("test", i, T0)
            await uow.commit()

    await within(asyncio.gather(*(write(i) for i in range(20))))  # any "database is locked" fails here
    assert sorted(await _inbound_ids(sqlite_db), key=int) == [str(i) for i in range(20)]


async def test_a_failing_write_unit_lets_the_next_one_in(sqlite_db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with sqlite_db.uow() as uow:
            await uow.inbound.record("test", "failed", T0)
            raise RuntimeError("boom")

    async def next_writer() -> None:
        async with sqlite_db.uow() as uow:
            await uow.inbound.record("test", "next", T0)
            await uow.commit()

    await within(next_writer())
    assert await _inbound_ids(sqlite_db) == ["next"]


async def test_leaving_without_commit_rolls_back_and_lets_the_next_one_in(sqlite_db: Database) -> None:
    async with sqlite_db.uow() as uow:
        assert await uow.inbound.record("test", "uncommitted", T0)

    async def next_writer() -> bool:
        async with sqlite_db.uow() as uow:
            fresh = await uow.inbound.record("test", "uncommitted", T0)
            await uow.commit()
            return fresh

    assert await within(next_writer())  # the first claim was rolled back, so this one is new
    assert await _inbound_ids(sqlite_db) == ["uncommitted"]


async def test_cancelled_write_units_hand_the_gate_on(sqlite_db: Database) -> None:
    inside = asyncio.Event()

    async def stuck_writer() -> None:
        async with sqlite_db.uow() as uow:
            await uow.inbound.record("test", "cancelled", T0)
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    async def waiting_writer() -> None:
        async with sqlite_db.uow() as uow:
            await uow.inbound.record("test", "never", T0)
            await uow.commit()

    holder = asyncio.create_task(stuck_writer())
    await within(inside.wait())
    waiter = asyncio.create_task(waiting_writer())
    await asyncio.sleep(0)  # let it queue on the gate
    waiter.cancel()  # cancelled while waiting for its turn
    holder.cancel()  # cancelled while holding the turn
    for task in (waiter, holder):
        with pytest.raises(asyncio.CancelledError):
            await within(task)

    async def next_writer() -> None:
        async with sqlite_db.uow() as uow:
            await uow.inbound.record("test", "after", T0)
            await uow.commit()

    await within(next_writer())
    assert await _inbound_ids(sqlite_db) == ["after"]


async def test_read_units_do_not_wait_for_an_open_write_unit(sqlite_db: Database) -> None:
    read_done = asyncio.Event()

    async def reader() -> bool:
        async with sqlite_db.uow(read_only=True) as uow:
            seen = await uow.inbound.seen("test", "pending")
        read_done.set()
        return seen

    async with sqlite_db.uow() as writer:
        assert await writer.inbound.record("test", "pending", T0)  # holds SQLite's write lock too
        task = asyncio.create_task(reader())
        await within(read_done.wait())  # would time out if readers queued behind the writer
        assert await task is False  # and it saw the state before the writer's uncommitted row
        await writer.commit()

    assert await within(reader()) is True


async def test_a_second_write_unit_waits_until_the_first_leaves(sqlite_db: Database) -> None:
    order: list[str] = []
    entered = asyncio.Event()

    async def second_writer() -> None:
        async with sqlite_db.uow() as uow:
            order.append("second entered")
            entered.set()
            assert await uow.inbound.record("test", "second", T0)
            await uow.commit()

    async with sqlite_db.uow() as first:
        assert await first.inbound.record("test", "first", T0)
        second = asyncio.create_task(second_writer())
        with pytest.raises(TimeoutError):  # gives it every chance to run; it must stay outside
            await asyncio.wait_for(entered.wait(), 0.3)
        assert not entered.is_set()
        await first.commit()
        assert not entered.is_set()  # committing is not leaving
    order.append("first left")

    await within(second)
    assert order == ["first left", "second entered"]
    assert await _inbound_ids(sqlite_db) == ["first", "second"]


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
async def test_postgresql_has_no_write_gate(db_url: str) -> None:
    db = await Database.open(db_url)
    try:
        async with db.uow() as first:
            assert await first.inbound.record("test", "first", T0)

            async def second_writer() -> None:
                async with db.uow() as second:
                    assert await second.inbound.record("test", "second", T0)
                    await second.commit()

            await within(second_writer())  # opened, wrote and committed while the first is open
            await first.commit()
        assert sorted(await _inbound_ids(db)) == ["first", "second"]
    finally:
        await db.dispose()
