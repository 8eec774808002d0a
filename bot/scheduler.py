"""The deadline scheduler: fires persisted timers (reminders, escalations, survey steps) when due.

Timers live in the database, so they survive restarts. Each tick claims the due timers (a lease,
so two processes never work the same timer at once) and fires each in its own transaction, which
marks it fired first: a timer acts at most once even when two schedulers race. Ticks missed while
the service was down need no replay: ``claim_due`` takes everything due up to now, and each
overdue timer fires once at start (``catch_up``), with reminders overtaken by a later step skipped.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.loops import PeriodicTask
from handlers.cases import CaseService
from storage.database import Database

log = logging.getLogger(__name__)


def default_worker_id(role: str) -> str:
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


class DeadlineScheduler:
    def __init__(
        self,
        db: Database,
        service: CaseService,
        *,
        worker_id: str | None = None,
        clock: Callable[[], datetime] | None = None,
        batch_size: int = 100,
        interval_s: float = 30.0,
        lease_s: float = 60.0,
    ) -> None:
        self.db = db
        self.service = service
        self.worker_id = worker_id or default_worker_id("scheduler")
        self.clock = clock or (lambda: datetime.now(UTC))
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.lease = timedelta(seconds=lease_s)
        self.fired = 0

    async def tick(self) -> bool:
        """Fire what is due now; True when a full batch was claimed (more may be waiting)."""
        now = self.clock()
        async with self.db.uow() as uow:
            timers = await uow.timers.claim_due(self.worker_id, now, self.batch_size, lease=self.lease)
            await uow.commit(now)
        for timer in timers:
            try:
                if await self.service.fire_timer(timer, at=now):
                    self.fired += 1
            except Exception:
                # One broken case must not stall the others; the lease lets the timer be retried.
                log.exception("timer %s (%s) of case %s failed", timer.id, timer.kind, timer.case_id)
        return len(timers) == self.batch_size

    async def catch_up(self) -> int:
        """Fire everything already due (call once at start); returns how many fired."""
        before = self.fired
        while await self.tick():
            pass
        return self.fired - before

    def task(self) -> PeriodicTask:
        return PeriodicTask("deadline-scheduler", self.tick, self.interval_s)
