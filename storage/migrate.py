"""Apply the Alembic migrations under storage/migrations (at start, from the CLI, in tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Connection

from storage.engine import DEFAULT_URL, create_engine, normalize_url

MIGRATION_LOCK_KEY = 365_0001
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An in-code Alembic config pointing at storage/migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    rendered = normalize_url(url or DEFAULT_URL).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


async def upgrade(url: str | URL | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``; safe to call on every start."""
    engine = create_engine(url)
    cfg = alembic_config(url)

    def run(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Two processes starting together must not both create the tables; the lock is
            # held until this transaction ends.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


def upgrade_sync(url: str | URL | None = None, revision: str = "head") -> None:
    """:func:`upgrade` for code that has no running event loop."""
    asyncio.run(upgrade(url, revision))
