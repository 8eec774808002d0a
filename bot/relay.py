"""The outbox relay: sends queued notifications through the channels' senders, at least once.

Each tick claims a batch of due rows (a lease: other relays skip them), renders each row with
``handlers.notices.render`` and sends it through the ``Sender`` of its channel, then marks that
one row sent in its own short transaction, recording the channel's message id. On failure the
row is retried with exponential backoff plus jitter (or the channel's ``retry_after``); a
permanent error (chat gone, bot blocked) or ``max_attempts`` tries mark it ``dead`` and log it.

At-least-once: if the process dies after sending and before marking, the row's lease expires
and another tick sends it again. Telegram has no idempotency key, so that window can repeat one
message; the window is kept to one row (send, then mark that row at once) and the message id
Telegram returns is recorded. ``bot.senders.Sender.send`` takes no key, so the web chat cannot
drop a repeat either; a sender that accepts ``idempotency_key`` would close the window there.

A claimed batch is sent concurrently across chats and in order within a chat (rows grouped by
channel and chat, each group sent one row after another). Rows of kind ``reply`` are a
conversation's own answers (written with the turn, due after a grace period): the channels send
those directly and report them through :class:`DeliveredMarks`, so the relay only sends the ones a
crash or a failed direct send left behind.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from bot.loops import PeriodicTask
from bot.scheduler import default_worker_id
from bot.senders import DeliveryError, Sender
from handlers.messages import Reply
from handlers.notices import render
from storage.database import Database
from storage.outbox import DEAD, PENDING, OutboxMessage, backoff_delay
from storage.sql import table

log = logging.getLogger(__name__)
outbox_t = table("outbox")


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        *,
        worker_id: str | None = None,
        clock: Callable[[], datetime] | None = None,
        batch_size: int = 50,
        max_attempts: int = 12,
        lease_s: float = 60.0,
        interval_s: float = 0.5,
        renderer: Callable[[str, dict[str, Any]], Reply] = render,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.senders = dict(senders)
        self.worker_id = worker_id or default_worker_id("relay")
        self.clock = clock or (lambda: datetime.now(UTC))
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.lease = timedelta(seconds=lease_s)
        self.interval_s = interval_s
        self.renderer = renderer
        self.jitter = jitter
        self.sent = 0
        self.failed = 0
        self.dead = 0

    async def claim(self) -> list[OutboxMessage]:
        now = self.clock()
        async with self.db.uow() as uow:
            batch = await uow.outbox.claim_batch(self.worker_id, now, self.batch_size, lease=self.lease)
            await uow.commit(now)
        return batch

    async def tick(self) -> bool:
        """Send one batch; True when the batch was full (more may be due)."""
        batch = await self.claim()
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
        for message in batch:  # claim_batch returns rows by id: the order they were written
            by_chat[(message.channel, message.chat_id)].append(message)
        await asyncio.gather(*(self._in_order(rows) for rows in by_chat.values()))
        return len(batch) == self.batch_size

    async def _in_order(self, rows: list[OutboxMessage]) -> None:
        for message in rows:
            await self.deliver(message)

    async def deliver(self, message: OutboxMessage) -> None:
        """Send one claimed row and record the result."""
        sender = self.senders.get(message.channel)
        if sender is None:
            await self._failed(message, f"no sender for channel {message.channel!r}", permanent=False)
            return
        try:
            reply = self.renderer(message.kind, message.payload)
            external_id = await sender.send(message.chat_id, reply)
        except DeliveryError as exc:
            await self._failed(message, str(exc), permanent=exc.permanent, retry_after_s=exc.retry_after_s)
            return
        except Exception as exc:  # a sender bug or a bad payload: retry, then give up as dead
            log.exception("sending outbox row %s failed", message.id)
            await self._failed(message, f"{type(exc).__name__}: {exc}", permanent=False)
            return
        now = self.clock()
        async with self.db.uow() as uow:
            await uow.outbox.mark_sent(message.id, now, external_id)
            await uow.commit(now)
        self.sent += 1

    async def _failed(
        self, message: OutboxMessage, error: str, *, permanent: bool, retry_after_s: float | None = None
    ) -> None:
        now = self.clock()
        async with self.db.uow() as uow:
            status = await uow.outbox.mark_failed(
                message.id, now, error, max_attempts=self.max_attempts, permanent=permanent
            )
            if status == PENDING:
                await uow.connection.execute(
                    update(outbox_t)
                    .where(outbox_t.c.id == message.id, outbox_t.c.status == PENDING)
                    .values(next_attempt_at=now + self.retry_delay(message.attempts, retry_after_s))
                )
            await uow.commit(now)
        self.failed += 1
        if status == DEAD:
            self.dead += 1
            log.error(
                "outbox row %s to %s:%s (%s) is dead after %d tries: %s",
                message.id, message.channel, message.chat_id, message.kind, message.attempts, error,
            )  # fmt: skip

    def retry_delay(self, attempts: int, retry_after_s: float | None = None) -> timedelta:
        """Exponential backoff with up to 50 % jitter, never sooner than the channel asked."""
        base = backoff_delay(attempts)
        delay = base * (1 + 0.5 * self.jitter())
        if retry_after_s is not None:
            delay = max(delay, timedelta(seconds=retry_after_s))
        return delay

    def task(self) -> PeriodicTask:
        return PeriodicTask("outbox-relay", self.tick, self.interval_s)


class DeliveredMarks:
    """Marks the outbox rows of replies a channel sent directly, a few at a time.

    ``add`` is the channels' ``on_delivered`` callback; it only queues. A background task commits
    the queued marks every ``interval_s`` in one transaction, so a busy bot does not pay one write
    transaction per turn. A crash before the flush leaves those rows pending: the relay sends
    them again after the grace period (a repeat, never a loss).
    """

    def __init__(
        self, db: Database, *, clock: Callable[[], datetime] | None = None, interval_s: float = 0.1
    ) -> None:
        self.db = db
        self.clock = clock or (lambda: datetime.now(UTC))
        self.interval_s = interval_s
        self.marked = 0
        self._queued: dict[str, str | None] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def add(self, sent: Mapping[str, str | None]) -> None:
        """Queue ``{idempotency key: channel message id}`` of replies just sent."""
        if sent:
            self._queued.update(sent)
            self._wake.set()

    async def flush(self) -> None:
        """Commit what is queued now."""
        batch, self._queued = self._queued, {}
        if not batch:
            return
        try:
            now = self.clock()
            async with self.db.uow() as uow:
                await uow.outbox.mark_sent_by_key(batch, now)
                await uow.commit(now)
            self.marked += len(batch)
        except Exception:
            # Not lost: the rows stay pending and the relay sends them after the grace period.
            log.exception("could not mark %d direct replies sent", len(batch))

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="delivered-marks")

    async def stop(self) -> None:
        """Commit what is queued, then end (not cancelled mid-commit: that would drop its batch)."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            await task
        await self.flush()

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
            if not self._stopping:
                await asyncio.sleep(self.interval_s)  # lets marks from other chats gather into one commit
