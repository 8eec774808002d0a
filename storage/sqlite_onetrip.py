"""SQLite for SQLAlchemy's async engine without aiosqlite's per-call thread trips.

aiosqlite runs each call on its own thread and wakes the event loop with the result. SQLAlchemy's
adapter makes four such calls per statement (open a cursor, execute, fetch the rows, close the
cursor). SQLite itself needs microseconds for our statements; under load the bot spent more of its
event loop on those wake-ups, and on handing the GIL back and forth with the threads, than on the
SQL (docs/performance.md). Two steps, both kept on SQLAlchemy 2.1's own adapter classes:

- :class:`OneTripCursor` does the four steps in one function: rows, description, rowcount,
  lastrowid and whether a transaction is open come back together, and a COMMIT or ROLLBACK with no
  transaction open is skipped.
- :class:`InlineSqlite` (the default, ``inline=True``) runs that function on the event loop's own
  thread: no trip at all. Writers of the process take turns on the unit of work's write gate, and
  a lock held by another process is waited out with ``asyncio.sleep``. ``inline=False`` keeps
  aiosqlite's thread, one trip per statement.

Used through ``create_async_engine(url, module=onetrip_dbapi())`` (storage.engine). It builds on
SQLAlchemy 2.1's adapter classes, hence the version pin in pyproject.toml; tests/storage runs the
whole repository suite on it.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any], int, Any, bool]  # description, rows, rowcount, lastrowid, in a transaction


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """The whole statement, start to finish, where the connection lives (aiosqlite's thread, or the
    event loop's for an inline connection)."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid, conn.in_transaction
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose ``execute`` is one trip to the connection's thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:  # no driver cursor is opened
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: Any = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return  # the driver cursor was closed on the thread already; the rows stay buffered

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._trip(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._trip(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        conn: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await conn._execute(_run, conn._conn, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid, in_transaction = outcome
        self._rows = collections.deque(rows)
        adapt: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        adapt._in_transaction = in_transaction

    def nextset(self) -> None:
        raise NotImplementedError("sqlite3 has no nextset")

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Knows, from SQLite after each statement, whether a transaction is open, and skips the trip
    for a COMMIT or ROLLBACK with nothing to end: the pool rolls back every connection it gets
    back, and a read in autocommit mode (storage.engine.AUTOCOMMIT_READS) has no transaction."""

    __slots__ = ("_in_transaction",)
    _cursor_cls = OneTripCursor
    _ss_cursor_cls = OneTripCursor  # type: ignore[assignment]  # streamed results come buffered too

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._in_transaction = False

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        if isinstance(self._connection, InlineSqlite):
            self._connection._conn.isolation_level = value  # type: ignore[assignment]
        else:
            AsyncAdapt_aiosqlite_connection.isolation_level.fset(self, value)  # type: ignore[attr-defined]

    def commit(self) -> None:
        if self._in_transaction:
            super().commit()
            self._in_transaction = False

    def rollback(self) -> None:
        if self._in_transaction:
            super().rollback()
            self._in_transaction = False


class InlineSqlite:
    """The part of ``aiosqlite.Connection`` that the adapter above uses, run on the event loop's
    own thread: no trip at all. For a local file in WAL mode a statement takes microseconds, less
    than the trip to a thread and back.

    The one thing that could hold the loop is a lock held by another process (an admin command, a
    second service on the same file): SQLite's busy timeout is kept at zero on these connections,
    and a statement refused with "database is locked" outside a transaction (a BEGIN, a lone
    read) is retried after an ``asyncio.sleep`` until ``busy_timeout_s``, so the loop goes on
    serving meanwhile. Writers of this process never meet that: they queue on the write gate.
    """

    waits_async = True

    def __init__(self, conn: sqlite3.Connection, busy_timeout_s: float) -> None:
        self._connection: sqlite3.Connection | None = conn
        self.busy_timeout_s = busy_timeout_s

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        conn = self._conn
        delay, waited = 0.001, 0.0
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or conn.in_transaction or waited >= self.busy_timeout_s:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.05)

    async def commit(self) -> None:
        await self._execute(self._conn.commit)

    async def rollback(self) -> None:
        await self._execute(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        conn, self._connection = self._connection, None
        if conn is not None:
            conn.close()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module SQLAlchemy's aiosqlite dialect is given (``module=``). ``inline``: the
    connections run on the event loop's thread (:class:`InlineSqlite`), not on aiosqlite's."""

    def __init__(self, *, inline: bool = False, busy_timeout_s: float = 30.0) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.inline = inline
        self.busy_timeout_s = busy_timeout_s

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        if self.inline:
            kw.pop("async_creator_fn", None)
            kw["check_same_thread"] = False  # made here, used here; the flag only silences the check
            return OneTripConnection(self, InlineSqlite(sqlite3.connect(*arg, **kw), self.busy_timeout_s))
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def onetrip_dbapi(*, inline: bool = False, busy_timeout_s: float = 30.0) -> OneTripDBAPI:
    return OneTripDBAPI(inline=inline, busy_timeout_s=busy_timeout_s)
