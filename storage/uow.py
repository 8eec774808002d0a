"""The unit of work: one database transaction and the repositories that work inside it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.outbox import OutboxRepository
from storage.repositories import (
    CaseRepository,
    ConversationRepository,
    InboundRepository,
    InviteRepository,
    PeopleRepository,
    VisitRepository,
)
from storage.timers import TimerRepository


class UnitOfWork:
    """``async with UnitOfWork(engine) as uow: ...; await uow.commit()``.

    A unit of work is one pooled connection and its transaction (SQLAlchemy Core: the repositories
    use Core statements and plain rows, so an ORM session would only add work per statement).

    Leaving the block without ``commit()`` (or with an exception) rolls everything back.
    ``commit(now)`` first writes every case that was added or loaded and changed: its row
    (optimistic lock on ``version``), its new events and the outbox rows for its pending
    notifications, all in this one transaction. ``now`` stamps ``updated_at`` / outbox
    ``created_at``; pass the same clock the domain used (default: the wall clock).

    ``write_gate``: on SQLite, write units of work of one process take turns on this lock before
    they begin. SQLite lets one writer at a time anyway; without the gate a second writer waits in
    SQLite's busy handler, which sleeps in steps of up to 100 ms whatever happens meanwhile, so a
    busy process lost whole tenths of a second per contended transaction. Do not open a write unit
    of work inside another one: with the gate that waits forever (without it, on SQLite, it waited
    for the busy timeout and failed).
    """

    connection: AsyncConnection
    cases: CaseRepository
    people: PeopleRepository
    invites: InviteRepository
    outbox: OutboxRepository
    timers: TimerRepository
    inbound: InboundRepository
    conversations: ConversationRepository
    visits: VisitRepository

    def __init__(self, engine: AsyncEngine, *, write_gate: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._write_gate = write_gate
        self._holding = False
        self.committed = False

    async def __aenter__(self) -> UnitOfWork:
        if self._write_gate is not None:
            await self._write_gate.acquire()
            self._holding = True
        try:
            self.connection = await self._engine.connect()
        except BaseException:
            self._release()
            raise
        conn = self.connection
        self.people = PeopleRepository(conn)
        self.outbox = OutboxRepository(conn, self.people)
        self.cases = CaseRepository(conn, self.outbox)
        self.invites = InviteRepository(conn)
        self.timers = TimerRepository(conn)
        self.inbound = InboundRepository(conn)
        self.conversations = ConversationRepository(conn)
        self.visits = VisitRepository(conn)
        self.committed = False
        return self

    def _release(self) -> None:
        if self._write_gate is not None and self._holding:
            self._holding = False
            self._write_gate.release()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.connection.in_transaction():
                await self.connection.rollback()
        finally:
            try:
                await self.connection.close()
            finally:
                self._release()

    async def commit(self, now: datetime | None = None) -> None:
        """Write tracked cases, then commit the transaction. The unit of work can be used again after."""
        await self.cases.flush(now or datetime.now(UTC))
        await self.connection.commit()
        self.committed = True

    async def rollback(self) -> None:
        """Undo everything since the last commit and forget the loaded cases."""
        await self.connection.rollback()
        self.cases.forget()
