"""Conversations as transcripts: what a person sends, what the bot answers (key phrases, buttons).

    await alice.run(
        say("我家楼下路灯坏了", "您要反映的是", "路灯", buttons=["对，就办这个"]),
        press("对，就办这个", "在哪里"),
    )

Each step sends one Inbound through ConversationService.handle and checks that every expected
phrase appears in the bot's answer and every expected button label (a substring) is offered.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from catalog.model import Catalog
from handlers.cases import CaseService
from handlers.conversation import ConversationService
from handlers.messages import Attachment, Button, Channel, Inbound, Reply, Transcript
from handlers.settings import ConversationSettings
from nlu.parse import Parser
from storage.database import Database

_update_ids = itertools.count(1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


@dataclass(frozen=True)
class Act:
    """One line of a transcript: something sent, and what the answer must contain."""

    make: Callable[[Chat], Inbound]
    expect: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()  # phrases that must NOT appear


def say(
    text: str, *expect: str, buttons: tuple[str, ...] | list[str] = (), absent: tuple[str, ...] = ()
) -> Act:
    return Act(lambda c: c.inbound(text=text), expect, tuple(buttons), absent)


def press(
    label: str, *expect: str, buttons: tuple[str, ...] | list[str] = (), absent: tuple[str, ...] = ()
) -> Act:
    """Press the button whose label contains ``label`` in the bot's latest answer."""
    return Act(lambda c: c.inbound(callback_data=c.button(label).data), expect, tuple(buttons), absent)


def press_data(data: str, *expect: str, buttons: tuple[str, ...] | list[str] = ()) -> Act:
    """Send raw callback data (a button drawn elsewhere: a notice, or a forged one)."""
    return Act(lambda c: c.inbound(callback_data=data), expect, tuple(buttons))


def share_phone(phone: str, *expect: str, buttons: tuple[str, ...] | list[str] = ()) -> Act:
    return Act(lambda c: c.inbound(phone=phone), expect, tuple(buttons))


def photo(ref: str, caption: str | None, *expect: str, buttons: tuple[str, ...] | list[str] = ()) -> Act:
    return Act(lambda c: c.inbound(text=caption, photo=Attachment(ref, "image/jpeg")), expect, tuple(buttons))


def location(lat: float, lon: float, *expect: str, buttons: tuple[str, ...] | list[str] = ()) -> Act:
    return Act(lambda c: c.inbound(location=(lat, lon)), expect, tuple(buttons))


def voice(heard: str, *expect: str, buttons: tuple[str, ...] | list[str] = ()) -> Act:
    t = Transcript(heard, "test-recognizer", "var/voice/test.ogg", 3.0)
    return Act(
        lambda c: c.inbound(text=heard, voice=Attachment("voice-1", "audio/ogg"), transcript=t),
        expect,
        tuple(buttons),
    )


@dataclass
class Chat:
    """One person in one chat, talking to the service."""

    service: ConversationService
    clock: Clock
    user_id: str
    name: str = "居民"
    chat_id: str | None = None
    chat_type: str = "private"
    channel: Channel = Channel.TELEGRAM
    last: list[Reply] = field(default_factory=list)
    sent: Inbound | None = None

    def inbound(self, **kw: object) -> Inbound:
        return Inbound(
            channel=self.channel,
            chat_id=self.chat_id or self.user_id,
            user_id=self.user_id,
            at=self.clock(),
            chat_type=self.chat_type,
            display_name=self.name,
            update_key=str(next(_update_ids)),
            **kw,  # type: ignore[arg-type]
        )

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    @property
    def buttons(self) -> list[Button]:
        return [b for r in self.last for row in r.buttons for b in row]

    def button(self, label: str) -> Button:
        found = [b for b in self.buttons if label in b.label]
        assert found, f"no button {label!r}; offered: {[b.label for b in self.buttons]}\n{self.text}"
        return found[0]

    async def send(self, inbound: Inbound) -> list[Reply]:
        self.sent = inbound
        out = await self.service.handle(inbound)
        assert all(o.chat_id == inbound.chat_id and o.channel == inbound.channel for o in out)
        self.last = [o.reply for o in out]
        return self.last

    async def redeliver(self) -> list[Reply]:
        """The channel delivers the previous update again (same update key)."""
        assert self.sent is not None
        return [o.reply for o in await self.service.handle(replace(self.sent))]

    async def run(self, *acts: Act) -> None:
        for n, act in enumerate(acts, 1):
            await self.send(act.make(self))
            where = f"step {n} of the transcript; the bot said:\n{self.text}\nbuttons: {[b.label for b in self.buttons]}"
            assert self.last, f"no answer at {where}"
            for phrase in act.expect:
                assert phrase in self.text, f"missing {phrase!r} at {where}"
            for phrase in act.absent:
                assert phrase not in self.text, f"unexpected {phrase!r} at {where}"
            labels = [b.label for b in self.buttons]
            for label in act.buttons:
                assert any(label in x for x in labels), f"missing button {label!r} at {where}"


def build(db: Database, catalog: Catalog, parser: Parser, clock: Clock) -> ConversationService:
    """The conversation service wired as the composition root wires it."""
    settings = ConversationSettings()
    cases = CaseService(db, catalog, clock=clock, low_confidence=settings.low_confidence)
    return ConversationService(db.uow, catalog, parser, cases, clock, settings)
