"""One handle for the database: engine, session factory, migrations and units of work."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import DEFAULT_URL, create_engine, normalize_url, read_only
from storage.migrate import upgrade
from storage.uow import UnitOfWork


class Database:
    """Build it once at start (``await Database.open(url)``) and share it; it is safe across tasks.

    Each task takes its own unit of work: ``async with db.uow() as uow: ...``.
    """

    def __init__(self, url: str | URL | None = None, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url or DEFAULT_URL)
        self.engine: AsyncEngine = create_engine(self.url, **engine_kwargs)
        self.read_engine: AsyncEngine = read_only(self.engine)
        self.quick_read_engine: AsyncEngine = read_only(self.engine, snapshot=False)
        # SQLite has one writer at a time: this process's writers queue here, not in SQLite's
        # sleeping busy handler (storage.uow.UnitOfWork). PostgreSQL writers run side by side.
        self._write_gate = asyncio.Lock() if self.backend == "sqlite" else None

    @classmethod
    async def open(
        cls, url: str | URL | None = None, *, migrate: bool = True, **engine_kwargs: Any
    ) -> Database:
        """Apply migrations (unless ``migrate=False``) and return a ready database."""
        if migrate:
            await upgrade(url or DEFAULT_URL)
        return cls(url, **engine_kwargs)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    def uow(self, *, read_only: bool = False, snapshot: bool = True) -> UnitOfWork:
        """A new unit of work. ``read_only=True`` for queries: on SQLite it does not block writers.

        Do not write in a read-only unit of work: on SQLite its commit may fail with
        "database is locked" when another writer committed since it began.
        ``snapshot=False`` (read-only only): on SQLite each statement reads on its own, with no
        transaction around them: cheaper, for reads that a write committed in between cannot confuse.
        """
        if read_only:
            return UnitOfWork(self.read_engine if snapshot else self.quick_read_engine)
        return UnitOfWork(self.engine, write_gate=self._write_gate)

    async def dispose(self) -> None:
        await self.engine.dispose()
