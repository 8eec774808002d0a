"""Persisted timers (deadline reminders, survey timeouts...): scheduled once, fired at most once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.sql import dialect_insert, dialect_name, insert_for, prebuilt, table

timers_t = table("timers")

DEFAULT_LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Timer:
    id: int
    case_id: str
    kind: str
    due_at: datetime
    fired_at: datetime | None = None
    cancelled: bool = False


def _timer(row: Any) -> Timer:
    return Timer(
        row["id"], row["case_id"], row["kind"], row["due_at"], row["fired_at"], bool(row["cancelled"])
    )


class TimerRepository:
    """Timers keyed by (case id, kind). ``kind`` names what to do, e.g. ``response_50``, ``resolve_due``."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def schedule(self, case_id: str, kind: str, due_at: datetime, at: datetime) -> bool:
        """Create the timer unless one of this kind exists for the case; True when created."""
        stmt = (
            dialect_insert(self._conn, timers_t)
            .values(case_id=case_id, kind=kind, due_at=due_at, created_at=at, cancelled=False)
            .on_conflict_do_nothing(index_elements=["case_id", "kind"])
            .returning(timers_t.c.id)
        )
        return (await self._conn.execute(stmt)).scalar_one_or_none() is not None

    async def schedule_many(self, case_id: str, plan: list[tuple[str, datetime]], at: datetime) -> None:
        """``schedule`` for each (kind, due at) of ``plan``, in one statement (a case's deadlines)."""
        if not plan:
            return
        rows = [
            {"case_id": case_id, "kind": kind, "due_at": due, "created_at": at, "cancelled": False}
            for kind, due in plan
        ]
        await self._conn.execute(prebuilt(dialect_name(self._conn), _schedule_many_statement), rows)

    async def reschedule(self, case_id: str, kind: str, due_at: datetime) -> bool:
        """Move a timer that has not fired; False if it fired already or does not exist."""
        result = await self._conn.execute(
            update(timers_t)
            .where(timers_t.c.case_id == case_id, timers_t.c.kind == kind, timers_t.c.fired_at.is_(None))
            .values(due_at=due_at, cancelled=False, claimed_by=None, claimed_until=None)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def cancel(self, case_id: str, kinds: Iterable[str] | None = None) -> int:
        """Cancel the case's unfired timers (all, or only ``kinds``); returns how many."""
        stmt = update(timers_t).where(timers_t.c.case_id == case_id, timers_t.c.fired_at.is_(None))
        if kinds is not None:
            stmt = stmt.where(timers_t.c.kind.in_(list(kinds)))
        result = await self._conn.execute(stmt.values(cancelled=True))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def claim_due(
        self, worker_id: str, now: datetime, limit: int = 100, *, lease: timedelta = DEFAULT_LEASE
    ) -> list[Timer]:
        """Claim due, unfired, uncancelled timers for ``worker_id`` until ``now + lease``.

        Firing is then done by :meth:`mark_fired` in the transaction that applies the timer's
        effect; that conditional update is what guarantees a timer fires at most once.
        """
        due = (
            select(timers_t.c.id)
            .where(
                timers_t.c.fired_at.is_(None),
                timers_t.c.cancelled.is_(False),
                timers_t.c.due_at <= now,
                or_(timers_t.c.claimed_until.is_(None), timers_t.c.claimed_until < now),
            )
            .order_by(timers_t.c.due_at, timers_t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(timers_t)
            .where(timers_t.c.id.in_(due.scalar_subquery()))
            .values(claimed_by=worker_id, claimed_until=now + lease)
            .returning(*timers_t.c)
        )
        rows = (await self._conn.execute(stmt)).mappings().all()
        return sorted((_timer(r) for r in rows), key=lambda t: (t.due_at, t.id))

    async def mark_fired(self, timer_id: int, at: datetime) -> bool:
        """Fire the timer; False when it already fired (or was cancelled): then abandon the effect."""
        result = await self._conn.execute(
            update(timers_t)
            .where(timers_t.c.id == timer_id, timers_t.c.fired_at.is_(None), timers_t.c.cancelled.is_(False))
            .values(fired_at=at, claimed_until=None)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def for_case(self, case_id: str) -> list[Timer]:
        rows = await self._conn.execute(
            select(timers_t).where(timers_t.c.case_id == case_id).order_by(timers_t.c.due_at)
        )
        return [_timer(r) for r in rows.mappings().all()]

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending timer is due (lets the scheduler sleep until then)."""
        stmt = select(func.min(timers_t.c.due_at)).where(
            timers_t.c.fired_at.is_(None), timers_t.c.cancelled.is_(False)
        )
        return (await self._conn.execute(stmt)).scalar_one_or_none()


def _schedule_many_statement(dialect: str) -> Any:
    """Insert timers, skipping (case, kind) pairs that exist (TimerRepository.schedule_many)."""
    return insert_for(dialect, timers_t).on_conflict_do_nothing(index_elements=["case_id", "kind"])
