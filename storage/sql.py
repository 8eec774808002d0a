"""Small SQL helpers that hide the differences between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import metadata


def table(name: str) -> Table:
    """The Core table called ``name`` (repositories work with Core statements and plain rows)."""
    return metadata.tables[name]


def dialect_insert(session: AsyncSession, t: Table) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing`` / ``on_conflict_do_update`` on both backends."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(t)
    return sqlite.insert(t)
