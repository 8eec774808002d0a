"""The whole resident path over the web chat: real database, catalog, NLU model, conversation and
outbox relay, with the web chat as the only channel."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from bot.relay import OutboxRelay
from bot.webchat import WebChat
from catalog.loader import load_catalog
from catalog.model import Catalog
from handlers.cases import CaseService
from handlers.conversation import ConversationService
from handlers.settings import ConversationSettings
from nlu.embedded import default_parser
from nlu.embedded.parser import EmbeddedParser
from storage.database import Database

_parser: EmbeddedParser | None = None


def parser() -> EmbeddedParser:
    """The trained embedded model, loaded once per test session."""
    global _parser
    if _parser is None:
        _parser = default_parser()
        _ = _parser.model
    return _parser


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


@dataclass
class Stack:
    db: Database
    catalog: Catalog
    clock: Clock
    conversation: ConversationService
    webchat: WebChat
    relay: OutboxRelay


@asynccontextmanager
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'web.db'}")
    try:
        catalog, clock, settings = load_catalog(), Clock(), ConversationSettings()
        cases = CaseService(db, catalog, clock=clock, low_confidence=settings.low_confidence)
        conversation = ConversationService(db.uow, catalog, parser(), cases, clock, settings)
        webchat = WebChat(conversation.handle, data_dir=tmp_path, clock=clock, rate_per_s=50, burst=50)
        relay = OutboxRelay(db, {"web": webchat.sender}, clock=clock)
        yield Stack(db, catalog, clock, conversation, webchat, relay)
    finally:
        await db.dispose()


class WebPerson:
    """One browser tab, speaking the page's protocol: each step sends a frame and collects the
    replies until the server says the message is done; it acknowledges what it reads."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, client: TestClient | ClientSession, token: str, base: str = "") -> WebPerson:
        ws = await client.ws_connect(f"{base}/ws?chat={token}")
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        return cls(ws)

    @property
    def text(self) -> str:
        return "\n".join(f["text"] for f in self.last)

    def buttons(self) -> list[dict[str, str]]:
        rows = [row for f in self.last for row in (f["buttons"] + (f["keyboard"] or []))]
        return [b for row in rows for b in row]

    def button(self, label: str) -> dict[str, str]:
        found = [b for b in self.buttons() if label in b["label"]]
        assert found, f"no button {label!r}; offered {[b['label'] for b in self.buttons()]}\n{self.text}"
        return found[0]

    async def _frame(self, frame: dict[str, Any]) -> None:
        # Random like the page's: a message id is unique per chat, across tabs and reconnects.
        frame["id"] = secrets.token_urlsafe(12)
        await self.ws.send_json(frame)
        self.last = []
        while True:
            got = await self.ws.receive_json(timeout=30)
            if got["type"] == "reply":
                self.last.append(got)
                await self.ws.send_json({"type": "ack", "seq": got["seq"]})
            elif got["type"] == "error":
                raise AssertionError(f"error frame: {got}")
            elif got["type"] == "done" and got["id"] == frame["id"]:
                return

    async def notifications(self) -> list[dict[str, Any]]:
        """Replies that arrive without being asked (the outbox relay's notifications)."""
        self.last = []
        while True:
            try:
                got = await self.ws.receive_json(timeout=0.5)
            except TimeoutError:
                return self.last
            if got["type"] == "reply":
                self.last.append(got)
                await self.ws.send_json({"type": "ack", "seq": got["seq"]})

    async def say(self, text: str, *expect: str, buttons: tuple[str, ...] = ()) -> None:
        await self._frame({"type": "text", "text": text})
        self.check(expect, buttons)

    async def press(self, label: str, *expect: str, buttons: tuple[str, ...] = ()) -> None:
        b = self.button(label)
        if b["kind"] == "callback":
            await self._frame({"type": "button", "data": b["data"]})
        else:
            await self._frame({"type": "text", "text": b["label"]})
        self.check(expect, buttons)

    async def phone(self, phone: str, *expect: str, buttons: tuple[str, ...] = ()) -> None:
        assert any(b["kind"] == "share_phone" for b in self.buttons()), self.buttons()
        await self._frame({"type": "contact", "phone": phone})
        self.check(expect, buttons)

    def check(self, expect: tuple[str, ...], buttons: tuple[str, ...]) -> None:
        assert self.last, "no answer"
        for phrase in expect:
            assert phrase in self.text, f"missing {phrase!r}; the bot said:\n{self.text}"
        labels = [b["label"] for b in self.buttons()]
        for label in buttons:
            assert any(label in x for x in labels), f"missing button {label!r} in {labels}\n{self.text}"


def case_number(text: str) -> str:
    start = text.index("SC-")
    return text[start : start + 16]
