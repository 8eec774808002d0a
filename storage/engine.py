"""Engine and session factory for SQLite (aiosqlite, default) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from storage.sqlite_onetrip import onetrip_dbapi

DEFAULT_URL = "sqlite+aiosqlite:///var/data/service.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
IDLE_PING_AFTER_S = 10.0
"""PostgreSQL: a pooled connection idle this long is pinged before use (see ``_install_idle_ping``)."""
READ_ONLY_OPTION = "shangcheng_read_only"
"""Execution option marking read-only work: on SQLite it begins DEFERRED, so it takes no write lock."""
AUTOCOMMIT_READS = "shangcheng_autocommit_reads"
"""Execution option for read-only work that needs no snapshot across its statements: on SQLite no
BEGIN is sent at all (and so no ROLLBACK either); on PostgreSQL the connection is in autocommit mode. For a unit that reads with one or two statements
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

    SQLite connections run on the event loop's own thread (``sqlite_inline=False``: on aiosqlite's
    thread, one trip per statement; see storage.sqlite_onetrip) and get WAL, foreign keys, a busy
    timeout (waited out with asyncio.sleep when inline) and synchronous=NORMAL, and every
    transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers wait for each other
    instead of failing when a read transaction tries to upgrade to a write (read-only sessions
    begin DEFERRED instead). Hold a write unit of work only for the database work itself: on
    SQLite it blocks other writers until it ends.
    PostgreSQL URLs may carry ``?search_path=schema`` (used by tests to isolate runs); pooled
    PostgreSQL connections idle for ``idle_ping_s`` (default 10 s) are pinged before use.
    """
    u = normalize_url(url or DEFAULT_URL)
    if u.get_backend_name() == "sqlite":
        path = _sqlite_file(u)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        inline = bool(kwargs.pop("sqlite_inline", True))
        # One thread trip per statement, or none (storage.sqlite_onetrip).
        kwargs.setdefault(
            "module", onetrip_dbapi(inline=inline, busy_timeout_s=SQLITE_BUSY_TIMEOUT_MS / 1000)
        )
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
        idle_ping_s = float(kwargs.pop("idle_ping_s", IDLE_PING_AFTER_S))
        engine = _create_async_engine(u, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _install_idle_ping(engine, idle_ping_s)
        return engine
    raise ValueError(f"unsupported database URL {u.render_as_string(hide_password=True)!r}")


def _install_idle_ping(engine: AsyncEngine, idle_s: float = IDLE_PING_AFTER_S) -> None:
    """Ping a pooled connection at checkout only when it sat idle for ``idle_s`` or more.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip per unit of work, two or
    three per turn. A connection returned moments ago is alive unless the server just went away,
    and then the statement fails, SQLAlchemy invalidates the pool and the next unit of work gets
    fresh connections. One that sat idle (the server may have restarted, a firewall may have cut it)
    is pinged first and replaced if dead (SQLAlchemy's "custom pessimistic ping" recipe).
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle_s:
            return  # new, or used moments ago
        try:
            alive = sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as e:
            raise exc.DisconnectionError(f"pooled connection is dead: {e}") from e
        if not alive:
            raise exc.DisconnectionError("pooled connection is dead")


def _waits_async(dbapi_connection: Any) -> bool:
    return bool(getattr(getattr(dbapi_connection, "_connection", None), "waits_async", False))


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
            # Inline connections wait for another process's lock with asyncio.sleep, not in SQLite.
            f"PRAGMA busy_timeout={0 if _waits_async(dbapi_connection) else SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(AUTOCOMMIT_READS):
            return  # each statement reads in its own implicit transaction
        conn.exec_driver_sql("BEGIN DEFERRED" if options.get(READ_ONLY_OPTION) else "BEGIN IMMEDIATE")


def read_only(engine: AsyncEngine, *, snapshot: bool = True) -> AsyncEngine:
    """The same engine (and pool) for read-only work: on SQLite its transactions begin DEFERRED,
    so they take no write lock (see :data:`READ_ONLY_OPTION`); without ``snapshot`` it sends no
    BEGIN at all (:data:`AUTOCOMMIT_READS`)."""
    options: dict[str, Any] = {READ_ONLY_OPTION: True}
    if not snapshot:
        options[AUTOCOMMIT_READS] = True  # SQLite: the begin hook sends no BEGIN
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"  # asyncpg: no BEGIN/ROLLBACK round trips
    return engine.execution_options(**options)
