"""Database tables (SQLAlchemy 2 declarative rows). The domain objects live in dispatch/; repositories map."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class PersonRow(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    community: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]


class PersonRoleRow(Base):
    __tablename__ = "person_roles"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class ChannelIdentityRow(Base):
    __tablename__ = "channel_identities"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)


class StaffRow(Base):
    """Department staff and dispatch-center operators: one department each."""

    __tablename__ = "staff"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    department: Mapped[str] = mapped_column(String(8), index=True)
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)


class GridAssignmentRow(Base):
    __tablename__ = "grid_assignments"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    grid: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class InviteRow(Base):
    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(8))
    grids: Mapped[list[Any]] = mapped_column(default=list)
    lead: Mapped[bool] = mapped_column(Boolean, default=False)
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))
    used_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    used_at: Mapped[datetime | None]


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_grid_code_submitted_at", "grid", "code", "submitted_at"),
        Index("ix_cases_status_response_due", "status", "response_due"),
        Index("ix_cases_status_resolve_due", "status", "resolve_due"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(8), index=True)
    requester_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    community: Mapped[str | None] = mapped_column(String(16))
    grid: Mapped[str | None] = mapped_column(String(16))
    street: Mapped[str | None] = mapped_column(String(8))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    department: Mapped[str | None] = mapped_column(String(8), index=True)
    co_departments: Mapped[list[Any]] = mapped_column(default=list)
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), index=True)
    submitted_at: Mapped[datetime]
    response_due: Mapped[datetime]
    resolve_due: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    survey_result: Mapped[str | None] = mapped_column(String(20))
    duplicate_of: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    subscribers: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class CaseEventRow(Base):
    """The audit log (全程留痕). Append-only: database triggers reject UPDATE and DELETE."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CaseCounterRow(Base):
    """Per-day case number sequence, bumped with one atomic upsert."""

    __tablename__ = "case_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class OutboxRow(Base):
    """Notifications to send. ``status``: pending, sent, dead (gave up) or unroutable (no chat known)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_message_id: Mapped[str | None] = mapped_column(String(100))


class InboundUpdateRow(Base):
    """Inbound updates already handled, so a re-delivered update never creates a second case."""

    __tablename__ = "inbound_updates"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(20))
    update_id: Mapped[str] = mapped_column(String(100))
    # No foreign key: the row is written first, to claim the update, before the case row exists.
    case_id: Mapped[str | None] = mapped_column(String(36))
    processed_at: Mapped[datetime]


class TimerRow(Base):
    """Deadline reminders and other timed work; UNIQUE(case_id, kind) so one fires at most once."""

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("case_id", "kind"),
        Index("ix_timers_fired_at_due_at", "fired_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]


class ConversationRow(Base):
    """Where a chat is in a conversation, so it survives a restart."""

    __tablename__ = "conversations"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class HouseholdVisitRow(Base):
    """A grid worker's household visit (走访记录)."""

    __tablename__ = "household_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    grid: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


metadata = Base.metadata
