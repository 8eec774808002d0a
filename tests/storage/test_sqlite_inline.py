"""SQLite on the event loop's thread (storage.sqlite_onetrip.InlineSqlite): a lock held by another
connection is waited out with asyncio.sleep, so the loop keeps serving; and the thread mode
(``sqlite_inline=False``) still works."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from storage.database import Database
from storage.migrate import upgrade
from storage.sqlite_onetrip import InlineSqlite, onetrip_dbapi

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


@pytest.fixture
async def path(tmp_path: Path) -> Path:
    file = tmp_path / "inline.db"
    await upgrade(f"sqlite+aiosqlite:///{file}")
    return file


@pytest.fixture
async def db(path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        yield database
    finally:
        await database.dispose()


async def _record(db: Database, key: str) -> None:
    async with db.uow() as uow:
        assert await uow.inbound.record("test", key, T0)
        await uow.commit()


async def _count(db: Database) -> int:
    async with db.uow(read_only=True) as uow:
        return int((await uow.connection.execute(text("SELECT count(*) FROM inbound_updates"))).scalar_one())


async def test_connections_are_inline_by_default(db: Database) -> None:
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection._connection, InlineSqlite)  # type: ignore[union-attr]
        busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
    assert busy == 0  # SQLite never sleeps on the loop's thread


async def test_a_writer_waits_out_another_connections_lock_while_the_loop_runs(
    path: Path, db: Database
) -> None:
    holder = sqlite3.connect(path, isolation_level=None)  # another writer, as an admin command would be
    holder.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(ticker())
    write = asyncio.create_task(_record(db, "waited"))
    try:
        await asyncio.sleep(0.3)
        assert not write.done()  # still waiting for the lock...
        assert ticks >= 3  # ...and the loop went on meanwhile (a blocked loop would not tick at all)
        holder.execute("COMMIT")
        await asyncio.wait_for(write, 10)
    finally:
        beat.cancel()
        holder.close()
    assert await _count(db) == 1


async def test_a_lock_held_past_the_busy_timeout_fails_the_unit_of_work(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}", module=onetrip_dbapi(inline=True, busy_timeout_s=0.2))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(exc.OperationalError, match="locked"):
            await asyncio.wait_for(_record(db, "refused"), 10)
        holder.execute("ROLLBACK")
        await _record(db, "after")  # the gate and the pool are fine after the failure
        assert await _count(db) == 1
    finally:
        holder.close()
        await db.dispose()


async def test_thread_mode_still_works(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}", sqlite_inline=False)
    try:
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert not isinstance(raw.dbapi_connection._connection, InlineSqlite)  # type: ignore[union-attr]
        await asyncio.gather(*(_record(db, f"t{i}") for i in range(10)))
        assert await _count(db) == 10
    finally:
        await db.dispose()
