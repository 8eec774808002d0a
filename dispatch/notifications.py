"""Notifications a case change asks to send; storage writes them to the outbox in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RecipientKind(StrEnum):
    REQUESTER = "requester"  # the case's requester chat and every subscriber of the case
    DEPARTMENT = "department"  # every staff member of ``ref`` (a department code)
    DEPARTMENT_LEAD = "department_lead"  # the lead chat(s) of department ``ref``
    DISPATCH_CENTER = "dispatch_center"  # the operators of LDZX
    PERSON = "person"  # every chat of person ``ref``
    CHAT = "chat"  # one chat: ``ref`` is "channel:chat_id"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who should receive a notification; storage resolves it to chats when writing the outbox."""

    kind: RecipientKind
    ref: str = ""

    @classmethod
    def requester(cls) -> Recipient:
        return cls(RecipientKind.REQUESTER)

    @classmethod
    def department(cls, code: str) -> Recipient:
        return cls(RecipientKind.DEPARTMENT, code)

    @classmethod
    def department_lead(cls, code: str) -> Recipient:
        return cls(RecipientKind.DEPARTMENT_LEAD, code)

    @classmethod
    def dispatch_center(cls) -> Recipient:
        return cls(RecipientKind.DISPATCH_CENTER)

    @classmethod
    def person(cls, person_id: str) -> Recipient:
        return cls(RecipientKind.PERSON, person_id)

    @classmethod
    def chat(cls, channel: str, chat_id: str) -> Recipient:
        return cls(RecipientKind.CHAT, f"{channel}:{chat_id}")

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}" if self.ref else str(self.kind)


@dataclass(frozen=True, slots=True)
class Notification:
    """A message to send: ``kind`` names the template (``case_assigned``...), ``payload`` fills it.

    ``key`` is unique per notification (case id, event sequence, kind, recipient); storage adds
    the chat to it to make the outbox idempotency key, so re-saving never sends twice.
    """

    kind: str
    recipient: Recipient
    key: str
    payload: dict[str, Any] = field(default_factory=dict)
