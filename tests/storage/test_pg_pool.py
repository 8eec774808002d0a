"""PostgreSQL's pool: a connection that sat idle is pinged before use and replaced if the server
dropped it (storage.engine._install_idle_ping), instead of a ping on every checkout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import exc, text

from storage.database import Database

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
pytestmark = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


async def _backend_pids(db: Database) -> set[int]:
    async with db.uow(read_only=True) as uow:
        return {int((await uow.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())}


async def _kill(db_url: str, pids: set[int]) -> None:
    """Another client terminates these server processes, as a server restart would."""
    other = Database(db_url)
    try:
        async with other.engine.connect() as conn:
            for pid in pids:
                assert (await conn.execute(text(f"SELECT pg_terminate_backend({pid})"))).scalar_one()
    finally:
        await other.dispose()


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(db_url: str) -> None:
    db = await Database.open(db_url, idle_ping_s=0.0)  # every returned connection counts as idle
    try:
        dead = await _backend_pids(db)
        await _kill(db_url, dead)
        async with db.uow() as uow:  # pinged, found dead, replaced: the work goes through
            assert await uow.inbound.record("test", "after-restart", T0)
            await uow.commit()
        assert await _backend_pids(db) != dead
    finally:
        await db.dispose()


async def test_a_connection_used_moments_ago_is_not_pinged(db_url: str) -> None:
    db = await Database.open(db_url, idle_ping_s=3600.0)
    try:
        dead = await _backend_pids(db)
        await _kill(db_url, dead)
        # No ping: the dead connection is used and fails once; SQLAlchemy then drops the pool.
        with pytest.raises(exc.DBAPIError):  # asyncpg words it variously: terminated, closed, state
            async with db.uow() as uow:
                await uow.inbound.record("test", "first-try", T0)
        async with db.uow() as uow:
            assert await uow.inbound.record("test", "second-try", T0)
            await uow.commit()
    finally:
        await db.dispose()
