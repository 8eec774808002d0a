"""Shared fixtures. ``db_url`` runs a test once on SQLite and once on PostgreSQL.

PostgreSQL runs get a fresh schema per test (``?search_path=`` in the URL, understood by
``storage.engine.create_engine``), dropped afterwards. Set ``TEST_POSTGRES_URL`` to point at
another server; where none is reachable the PostgreSQL runs are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

PG_CANDIDATES = [
    os.environ.get("TEST_POSTGRES_URL", ""),
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
]

_pg_probe: tuple[str | None, str] | None = None


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _probe() -> tuple[str | None, str]:
    import asyncpg

    errors = []
    for url in filter(None, PG_CANDIDATES):
        try:
            conn = await asyncpg.connect(_dsn(url), timeout=3)
        except Exception as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
            continue
        await conn.close()
        return url, ""
    return None, "; ".join(errors)


async def postgres_url() -> str:
    """A reachable PostgreSQL URL (``postgresql://...``), or ``pytest.skip`` saying why not."""
    global _pg_probe
    if _pg_probe is None:
        _pg_probe = await _probe()
    url, why = _pg_probe
    if url is None:
        pytest.skip(f"PostgreSQL not reachable: {why}")
    return url


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
async def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """An empty database URL (no tables yet), on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    import asyncpg

    base = await postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_dsn(base))
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}{sep}search_path={schema}"
    finally:
        conn = await asyncpg.connect(_dsn(base))
        try:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()


@pytest.fixture
async def db(db_url: str):  # type: ignore[no-untyped-def]
    """A migrated database on each backend (suites that want SQLite only override it)."""
    from storage.database import Database

    database = await Database.open(db_url)
    try:
        yield database
    finally:
        await database.dispose()
