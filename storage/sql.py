"""Small SQL helpers that hide the differences between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import metadata


def table(name: str) -> Table:
    """The Core table called ``name`` (repositories work with Core statements and plain rows)."""
    return metadata.tables[name]


def dialect_insert(conn: AsyncConnection, t: Table) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing`` / ``on_conflict_do_update`` on both backends."""
    return insert_for(conn.dialect.name, t)


def dialect_name(conn: AsyncConnection) -> str:
    return conn.dialect.name


def insert_for(dialect: str, t: Table) -> Any:
    """``dialect_insert`` by dialect name, for statements built once and kept (see :func:`prebuilt`)."""
    return postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)


@cache
def prebuilt(dialect: str, build: Callable[[str], Any]) -> Any:
    """``build(dialect)``'s statement, built once per dialect and kept.

    For statements run on every turn: a statement built per call costs its construction and its
    cache-key walk each time (SQLAlchemy memoizes both on the object). Give the values as execute
    parameters, not as literals in the statement, or every call compiles it anew.
    """
    return build(dialect)
