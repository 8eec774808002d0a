"""The outbox: notifications written in the same transaction as the change, sent later by the relay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.case import Case
from dispatch.notifications import Notification, RecipientKind
from dispatch.people import ChatRef
from storage.repositories import PeopleRepository
from storage.sql import dialect_insert, dialect_name, insert_for, prebuilt, table

outbox_t = table("outbox")

PENDING, SENT, DEAD, UNROUTABLE = "pending", "sent", "dead", "unroutable"
UNROUTABLE_CHANNEL = "none"
"""Channel of a row written for a recipient with no known chat (e.g. a department nobody joined yet).

Such rows have status ``unroutable``: never claimed by the relay, but kept so the gap is visible.
"""

BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 10
DEFAULT_LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One outbox row: a message for one chat."""

    id: int
    channel: str
    chat_id: str
    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    case_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    external_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to queue with :meth:`OutboxRepository.add_many`."""

    channel: str
    chat_id: str
    kind: str
    payload: dict[str, Any]
    idempotency_key: str


def backoff_delay(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed tries: 5 s, 10 s, 20 s ... capped at 1 h."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(**{k: row[k] for k in OutboxMessage.__slots__})  # type: ignore[attr-defined]


class OutboxRepository:
    def __init__(self, conn: AsyncConnection, people: PeopleRepository) -> None:
        self._conn = conn
        self._people = people

    async def add(
        self,
        *,
        channel: str,
        chat_id: str,
        kind: str,
        payload: dict[str, Any],
        idempotency_key: str,
        at: datetime,
        case_id: str | None = None,
        status: str = PENDING,
    ) -> bool:
        """Queue one message; False when a row with this idempotency key already exists."""
        stmt = (
            dialect_insert(self._conn, outbox_t)
            .values(
                channel=channel,
                chat_id=str(chat_id),
                kind=kind,
                payload=payload,
                idempotency_key=idempotency_key,
                case_id=case_id,
                status=status,
                attempts=0,
                next_attempt_at=at,
                created_at=at,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(outbox_t.c.id)
        )
        return (await self._conn.execute(stmt)).scalar_one_or_none() is not None

    async def add_many(self, rows: list[NewMessage], *, at: datetime) -> None:
        """Queue several pending messages due ``at`` in one statement (a turn's replies); a row
        whose idempotency key exists already is skipped."""
        if not rows:
            return
        values = [_pending_row(r.channel, r.chat_id, r.kind, r.payload, r.idempotency_key, at) for r in rows]
        # One statement kept per dialect, the rows as parameters: cached, where a multi-row
        # VALUES literal was compiled anew on every turn.
        stmt = prebuilt(dialect_name(self._conn), _add_many_statement)
        await self._conn.execute(stmt, values)

    async def resolve(self, notification: Notification, case: Case | None) -> list[ChatRef]:
        """The chats a notification's recipient stands for right now."""
        r = notification.recipient
        if r.kind is RecipientKind.REQUESTER:
            if case is None:
                return []
            return list(dict.fromkeys([ChatRef(case.channel, case.chat_id), *case.subscribers]))
        if r.kind is RecipientKind.DEPARTMENT:
            return await self._people.chats_of_department(r.ref)
        if r.kind is RecipientKind.DEPARTMENT_LEAD:
            return await self._people.chats_of_department(r.ref, lead_only=True)
        if r.kind is RecipientKind.DISPATCH_CENTER:
            return await self._people.chats_of_dispatch_center()
        if r.kind is RecipientKind.PERSON:
            return await self._people.chats_for([r.ref])
        channel, _, chat_id = r.ref.partition(":")
        return [ChatRef(channel, chat_id)]

    async def add_notification(self, notification: Notification, case: Case | None, at: datetime) -> None:
        """Write one outbox row per chat the recipient resolves to (one statement for them all);
        a row whose idempotency key exists already is skipped.

        A recipient with no chat yields one ``unroutable`` row, so nothing is silently dropped.
        """
        chats = await self.resolve(notification, case)
        case_id = case.id if case else None
        if not chats:
            await self.add(
                channel=UNROUTABLE_CHANNEL,
                chat_id=str(notification.recipient),
                kind=notification.kind,
                payload=notification.payload,
                idempotency_key=notification.key,
                at=at,
                case_id=case_id,
                status=UNROUTABLE,
            )
            return
        rows = [
            _pending_row(
                chat.channel,
                chat.chat_id,
                notification.kind,
                notification.payload,
                f"{notification.key}>{chat.channel}:{chat.chat_id}",
                at,
                case_id,
            )
            for chat in chats
        ]
        await self._conn.execute(prebuilt(dialect_name(self._conn), _add_many_statement), rows)

    async def claim_batch(
        self, worker_id: str, now: datetime, limit: int = 50, *, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        """Claim up to ``limit`` due messages for ``worker_id`` until ``now + lease``.

        Commit right after claiming. A claimed row is invisible to other workers until its lease
        ends, so each row goes to one worker at a time (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
        SQLite: the write lock of ``BEGIN IMMEDIATE``). If the worker dies before ``mark_sent``
        the lease expires and the row is sent again: receivers may use ``idempotency_key``.
        """
        due = (
            select(outbox_t.c.id)
            .where(
                outbox_t.c.status == PENDING,
                outbox_t.c.next_attempt_at <= now,
                or_(outbox_t.c.claimed_until.is_(None), outbox_t.c.claimed_until < now),
            )
            .order_by(outbox_t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(outbox_t)
            .where(outbox_t.c.id.in_(due.scalar_subquery()))
            .values(claimed_by=worker_id, claimed_until=now + lease, attempts=outbox_t.c.attempts + 1)
            .returning(*outbox_t.c)
        )
        rows = (await self._conn.execute(stmt)).mappings().all()
        return sorted((_message(r) for r in rows), key=lambda m: m.id)

    async def mark_sent(self, message_id: int, at: datetime, external_message_id: str | None = None) -> bool:
        """Mark a message sent (once); False if it was already marked sent or dead."""
        result = await self._conn.execute(
            update(outbox_t)
            .where(outbox_t.c.id == message_id, outbox_t.c.status == PENDING)
            .values(status=SENT, sent_at=at, external_message_id=external_message_id, claimed_until=None)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def mark_sent_by_key(self, sent: dict[str, str | None], at: datetime) -> None:
        """Mark the rows with these idempotency keys sent, each with its channel message id.

        For messages a channel sent directly (a conversation's replies): rows already sent or dead
        are left as they are.
        """
        if not sent:
            return
        stmt = (
            update(outbox_t)
            .where(outbox_t.c.idempotency_key == bindparam("k"), outbox_t.c.status == PENDING)
            .values(status=SENT, sent_at=at, external_message_id=bindparam("x"), claimed_until=None)
        )
        await self._conn.execute(stmt, [{"k": k, "x": x} for k, x in sent.items()])

    async def mark_failed(
        self,
        message_id: int,
        at: datetime,
        error: str,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        permanent: bool = False,
    ) -> str:
        """Record a failed try; retry later with exponential backoff, or give up (``dead``).

        Returns the new status (``pending`` or ``dead``).
        """
        row = (
            await self._conn.execute(
                select(outbox_t.c.attempts, outbox_t.c.status).where(outbox_t.c.id == message_id)
            )
        ).first()
        if row is None or row.status != PENDING:
            return row.status if row else DEAD
        attempts = int(row.attempts)
        status = DEAD if permanent or attempts >= max_attempts else PENDING
        await self._conn.execute(
            update(outbox_t)
            .where(outbox_t.c.id == message_id, outbox_t.c.status == PENDING)
            .values(
                status=status,
                last_error=error[:2000],
                next_attempt_at=at + backoff_delay(attempts),
                claimed_by=None,
                claimed_until=None,
            )
        )
        return status

    async def get(self, message_id: int) -> OutboxMessage | None:
        row = (
            (await self._conn.execute(select(outbox_t).where(outbox_t.c.id == message_id))).mappings().first()
        )
        return _message(row) if row else None

    async def for_case(self, case_id: str) -> list[OutboxMessage]:
        rows = await self._conn.execute(
            select(outbox_t).where(outbox_t.c.case_id == case_id).order_by(outbox_t.c.id)
        )
        return [_message(r) for r in rows.mappings().all()]

    async def count(self, status: str | None = None) -> int:
        stmt = select(func.count()).select_from(outbox_t)
        if status is not None:
            stmt = stmt.where(outbox_t.c.status == status)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending message becomes due (lets the relay sleep until then)."""
        stmt = select(func.min(outbox_t.c.next_attempt_at)).where(and_(outbox_t.c.status == PENDING))
        return (await self._conn.execute(stmt)).scalar_one_or_none()


def _pending_row(
    channel: str, chat_id: str, kind: str, payload: Any, key: str, at: datetime, case_id: str | None = None
) -> dict[str, Any]:
    """The parameters of one pending outbox row due ``at`` (for :func:`_add_many_statement`)."""
    return {
        "channel": channel,
        "chat_id": str(chat_id),
        "kind": kind,
        "payload": payload,
        "idempotency_key": key,
        "case_id": case_id,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }


def _add_many_statement(dialect: str) -> Any:
    """Queue pending messages, skipping known idempotency keys (OutboxRepository.add_many)."""
    return insert_for(dialect, outbox_t).on_conflict_do_nothing(index_elements=["idempotency_key"])
