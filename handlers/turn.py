"""One turn of a conversation: the message, who sent it, their chat's state and the replies so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dispatch.people import Person
from handlers.keyboards import Rows
from handlers.messages import Button, Inbound, Outgoing, Reply
from handlers.state import ConversationState


@dataclass
class Turn:
    inbound: Inbound
    person: Person
    state: ConversationState
    now: datetime
    first_contact: bool = False
    person_changed: bool = False  # phone/community changed: saved with the state at the end
    replies: list[Reply] = field(default_factory=list)

    @property
    def text(self) -> str:
        return (self.inbound.text or "").strip()

    def say(self, text: str, buttons: Rows | tuple[tuple[Button, ...], ...] = (), **kw: object) -> None:
        self.replies.append(Reply(text, tuple(buttons), **kw))  # type: ignore[arg-type]

    def outgoing(self) -> list[Outgoing]:
        return [Outgoing(self.inbound.channel, self.inbound.chat_id, r) for r in self.replies]
