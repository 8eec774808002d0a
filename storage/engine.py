"""Engine and session factory for SQLite (aiosqlite, default) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from storage.sqlite_onetrip import onetrip_dbapi

DEFAULT_URL = "sqlite+aiosqlite:///var/data/service.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "shangcheng_read_only"
"""Execution option marking read-only work: on SQLite it begins DEFERRED, so it takes no write lock."""
AUTOCOMMIT_READS = "shangcheng_autocommit_reads"
"""Execution option for read-only work that needs no snapshot across its statements: on SQLite no
BEGIN is sent at all (and so no ROLLBACK either). For a unit that reads with one or two statements
where a write committed in between would do no harm, such as a turn's first look-up."""


def normalize_url(url: str | URL) -> URL:
    """Accept ``postgresql://`` / ``postgres://`` / ``sqlite://`` and pick the async drivers."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    u = make_url(url)
    if u.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+asyncpg")
    elif u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    return u


def _sqlite_file(u: URL) -> Path | None:
    if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
        return Path(u.database)
    return None


def create_engine(url: str | URL | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (default :data:`DEFAULT_URL`, its folder is created).

    SQLite connections get WAL, foreign keys, a busy timeout and synchronous=NORMAL, and every
    transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers wait for each other
    instead of failing when a read transaction tries to upgrade to a write (read-only sessions
    begin DEFERRED instead). Hold a write unit of work only for the database work itself: on
    SQLite it blocks other writers until it ends.
    PostgreSQL URLs may carry ``?search_path=schema`` (used by tests to isolate runs).
    """
    u = normalize_url(url or DEFAULT_URL)
    if u.get_backend_name() == "sqlite":
        path = _sqlite_file(u)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("module", onetrip_dbapi())  # one thread trip per statement (storage.sqlite_onetrip)
        engine = _create_async_engine(u, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    if u.get_backend_name() == "postgresql":
        search_path = u.query.get("search_path")
        if search_path:
            u = u.difference_update_query(["search_path"])
            connect_args = dict(kwargs.pop("connect_args", {}))
            settings = dict(connect_args.get("server_settings", {}))
            settings["search_path"] = str(search_path)
            connect_args["server_settings"] = settings
            kwargs["connect_args"] = connect_args
        kwargs.setdefault("pool_pre_ping", True)
        return _create_async_engine(u, **kwargs)
    raise ValueError(f"unsupported database URL {u.render_as_string(hide_password=True)!r}")


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(AUTOCOMMIT_READS):
            return  # each statement reads in its own implicit transaction
        # Straight to the driver's cursor: this runs at the start of every unit of work, and a
        # BEGIN needs none of the statement machinery of exec_driver_sql.
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN DEFERRED" if options.get(READ_ONLY_OPTION) else "BEGIN IMMEDIATE")
        finally:
            cursor.close()


def read_only(engine: AsyncEngine, *, snapshot: bool = True) -> AsyncEngine:
    """The same engine (and pool) for read-only work: on SQLite its transactions begin DEFERRED,
    so they take no write lock (see :data:`READ_ONLY_OPTION`); without ``snapshot`` it sends no
    BEGIN at all (:data:`AUTOCOMMIT_READS`)."""
    options: dict[str, Any] = {READ_ONLY_OPTION: True}
    if not snapshot:
        options[AUTOCOMMIT_READS] = True
    return engine.execution_options(**options)
