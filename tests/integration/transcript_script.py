"""Whole conversations over Telegram (and the web chat) as transcripts, read from what people received.

A person acts in the fake Bot API server (text, a button under a bot message, their phone, a
photo, a location, a voice note); the step waits until the bot has handled that update and has
said every expected phrase, then checks the buttons offered. What each person received is read
from the fake server's record of the bot's ``sendMessage``/``sendPhoto`` calls, never from the
service's internals. Every step is kept in a :class:`Transcript`, which ``conftest.py`` can render
as docs/transcripts.md.

    await wang.say("我家楼下路灯坏了", "您要反映的是", buttons=["对，就办这个"])
    await wang.press("对，就办这个", "在哪里")
    await staff.expect("【新工单】", number, buttons=["接单", "退回"])   # a notification
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.fakes.botapi import FakeBotApi

SETTLE_S = 0.1
STEP_TIMEOUT_S = 20.0  # a turn takes well under a second; a loaded 2-core machine needs headroom


@dataclass
class Said:
    """One message a person received: its text and its buttons, row by row (⌨ marks the big keyboard)."""

    text: str
    rows: list[list[str]]


@dataclass
class Step:
    who: str
    did: str  # what the person sent; empty for a notification that came on its own
    got: list[Said]


@dataclass
class Transcript:
    title: str
    about: str = ""
    steps: list[Step] = field(default_factory=list)

    def markdown(self) -> str:
        out = [f"## {self.title}", ""]
        if self.about:
            out += [self.about, ""]
        for step in self.steps:
            head = f"**{step.who}** → {step.did}" if step.did else f"**{step.who}** receives:"
            out.append(head)
            out.append("")
            for said in step.got or [Said("(nothing)", [])]:
                out += [f"> {line}" if line else ">" for line in said.text.splitlines()]
                out += ["> " + " ".join(f"〔{b}〕" for b in row) for row in said.rows]
                out.append("")
        return "\n".join(out)


def telegram_said(msg: dict[str, Any]) -> Said:
    markup = msg.get("reply_markup") or {}
    rows = [[b["text"] for b in row] for row in markup.get("inline_keyboard", [])]
    rows += [
        ["⌨ " + (b if isinstance(b, str) else b["text"]) for b in row] for row in markup.get("keyboard", [])
    ]
    text = msg.get("text") or msg.get("caption") or ""
    if msg.get("photo"):
        text = "🖼 " + text
    return Said(text, rows)


def _labels(said: Iterable[Said]) -> list[str]:
    return [b for s in said for row in s.rows for b in row]


def check(
    who: str,
    did: str,
    got: Sequence[Said],
    expect: Sequence[str],
    buttons: Sequence[str],
    absent: Sequence[str] = (),
) -> None:
    text = "\n".join(s.text for s in got)
    labels = _labels(got)
    where = f"{who} → {did or '(waiting)'}; the bot said:\n{text}\nbuttons: {labels}"
    for phrase in expect:
        assert phrase in text, f"missing {phrase!r}: {where}"
    for phrase in absent:
        assert phrase not in text, f"unexpected {phrase!r}: {where}"
    for label in buttons:
        assert any(label in b for b in labels), f"missing button {label!r}: {where}"


def _meets(got: Sequence[Said], expect: Sequence[str], buttons: Sequence[str]) -> bool:
    text = "\n".join(s.text for s in got)
    labels = _labels(got)
    return all(p in text for p in expect) and all(any(b in x for x in labels) for b in buttons)


@dataclass
class TgPerson:
    """One Telegram user in their private chat with the bot."""

    fake: FakeBotApi
    record: Transcript
    name: str
    user_id: int
    cursor: int = 0  # messages before this one were read
    window: int = 0  # where the person's latest step began: notifications are looked for from here
    claimed: set[int] = field(default_factory=set)  # messages a notification expectation matched
    last: list[dict[str, Any]] = field(default_factory=list)

    @property
    def chat(self) -> int:
        return self.user_id

    @property
    def text(self) -> str:
        return "\n".join(telegram_said(m).text for m in self.last)

    def labels(self) -> list[str]:
        return _labels(telegram_said(m) for m in self.last)

    # ---- what a person does ------------------------------------------------------------------

    async def say(
        self,
        text: str,
        *expect: str,
        buttons: Sequence[str] = (),
        absent: Sequence[str] = (),
        timeout_s: float = STEP_TIMEOUT_S,
    ) -> None:
        update = self.fake.send_text(self.chat, text, user_id=self.user_id, first_name=self.name)
        await self._answered(text, update, expect, buttons, absent, timeout_s)

    async def press(
        self,
        label: str,
        *expect: str,
        buttons: Sequence[str] = (),
        absent: Sequence[str] = (),
        timeout_s: float = STEP_TIMEOUT_S,
    ) -> None:
        """Press the button labelled ``label`` (exactly, else containing it) under the latest bot
        message that has one: an inline button, or a big keyboard button (text, contact, location)."""
        msg, button = self._find(label)
        did = f"〔{button['text']}〕"
        if "callback_data" in button:
            update = self.fake.press_button(
                self.chat,
                msg["message_id"],
                button["callback_data"],
                user_id=self.user_id,
                first_name=self.name,
            )
        elif button.get("request_contact"):
            raise AssertionError("use share_phone() for the phone button")
        else:
            update = self.fake.send_text(
                self.chat, button["text"], user_id=self.user_id, first_name=self.name
            )
        await self._answered(did, update, expect, buttons, absent, timeout_s)

    async def press_data(
        self, data: str, *expect: str, buttons: Sequence[str] = (), timeout_s: float = STEP_TIMEOUT_S
    ) -> None:
        """Send callback data the bot never drew for this person (forged, or copied from elsewhere)
        as if pressed under the latest bot message in this chat."""
        latest = self.fake.sent_to(self.chat)[-1]
        update = self.fake.press_button(
            self.chat, latest["message_id"], data, user_id=self.user_id, check=False, first_name=self.name
        )
        await self._answered(f"(forged button data `{data}`)", update, expect, buttons, (), timeout_s)

    async def share_phone(self, phone: str, *expect: str, buttons: Sequence[str] = ()) -> None:
        # Telegram's contact button sits on the big keyboard; only it shares the person's own number.
        assert any(b.startswith("⌨") and "电话" in b for b in self.labels()), (
            f"no phone button: {self.labels()}"
        )
        update = self.fake.share_contact(self.chat, phone, user_id=self.user_id, first_name=self.name)
        await self._answered(f"(shares own phone {phone})", update, expect, buttons, (), STEP_TIMEOUT_S)

    async def photo(
        self, data: bytes, caption: str | None, *expect: str, buttons: Sequence[str] = ()
    ) -> None:
        update = self.fake.send_photo(
            self.chat, data, caption=caption, user_id=self.user_id, first_name=self.name
        )
        await self._answered(f"(photo) {caption or ''}".strip(), update, expect, buttons, (), STEP_TIMEOUT_S)

    async def location(self, lat: float, lon: float, *expect: str, buttons: Sequence[str] = ()) -> None:
        update = self.fake.send_location(self.chat, lat, lon, user_id=self.user_id, first_name=self.name)
        await self._answered(f"(location {lat}, {lon})", update, expect, buttons, (), STEP_TIMEOUT_S)

    async def voice(
        self,
        data: bytes,
        duration_s: int,
        clip: str,
        *expect: str,
        buttons: Sequence[str] = (),
        timeout_s: float = 120,
    ) -> None:
        update = self.fake.send_voice(
            self.chat, data, duration=duration_s, user_id=self.user_id, first_name=self.name
        )
        await self._answered(f"(voice note {clip}, {duration_s} s)", update, expect, buttons, (), timeout_s)

    async def expect(
        self, *expect: str, buttons: Sequence[str] = (), timeout_s: float = STEP_TIMEOUT_S
    ) -> None:
        """Wait for one message that comes on its own (a notification through the outbox relay) with
        every phrase and button. It may have come during this person's own last step (their survey
        answer closes the case, and the closing notice can beat the answer), so the search starts
        there; a message matched once is not matched again."""

        def match() -> tuple[int, dict[str, Any]] | None:
            sent = self.fake.sent_to(self.chat)
            for i in range(self.window, len(sent)):
                if i not in self.claimed and _meets([telegram_said(sent[i])], expect, buttons):
                    return i, sent[i]
            return None

        try:
            await self.fake.wait_until(lambda: match() is not None, timeout_s)
        except TimeoutError:
            got = [telegram_said(m) for m in self.fake.sent_to(self.chat)[self.window :]]
            raise AssertionError(
                f"{self.name} never received one message with {expect} and buttons "
                f"{buttons}; received:\n" + "\n---\n".join(s.text for s in got)
            ) from None
        found = match()
        assert found is not None
        index, msg = found
        self.claimed.add(index)
        self.last = [msg]
        if index >= self.cursor:  # not already shown as part of the person's own step
            self.record.steps.append(Step(self.name, "", [telegram_said(msg)]))
        self.cursor = max(self.cursor, index + 1)

    async def quiet(self, for_s: float = 0.8) -> None:
        """Nothing more arrives for this person."""
        await asyncio.sleep(for_s)
        new = self.fake.sent_to(self.chat)[self.cursor :]
        assert not new, f"{self.name} got unexpected messages: {[telegram_said(m).text for m in new]}"

    # ---- plumbing ----------------------------------------------------------------------------

    def _find(self, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
        everything = self.fake.sent_to(self.chat)
        candidates = list(reversed(self.last)) + list(reversed(everything))
        for exact in (True, False):
            for msg in candidates:
                markup = msg.get("reply_markup") or {}
                for row in markup.get("inline_keyboard", []) + markup.get("keyboard", []):
                    for b in row:
                        b = {"text": b} if isinstance(b, str) else b
                        if (b["text"] == label) if exact else (label in b["text"]):
                            return msg, b
        raise AssertionError(f"{self.name}: no button {label!r}; offered: {self.labels()}\n{self.text}")

    async def _wait(self, expect: Sequence[str], buttons: Sequence[str], timeout_s: float, did: str) -> None:
        start = self.cursor

        def done() -> bool:
            return _meets([telegram_said(m) for m in self.fake.sent_to(self.chat)[start:]], expect, buttons)

        try:
            await self.fake.wait_until(done, timeout_s)
        except TimeoutError:
            got = [telegram_said(m) for m in self.fake.sent_to(self.chat)[start:]]
            check(self.name, did, got, expect, buttons)  # says what is missing
            raise

    async def _settle(self) -> None:
        """Replies leave from the channel's background queue, the last ones possibly after what was
        expected: wait until the chat has been quiet a moment, so each step shows all of its answer."""
        seen = -1
        while seen != len(self.fake.sent_to(self.chat)):
            seen = len(self.fake.sent_to(self.chat))
            await asyncio.sleep(SETTLE_S)

    def _take(self, did: str) -> None:
        everything = self.fake.sent_to(self.chat)
        self.last = everything[self.cursor :]
        self.cursor = len(everything)
        self.record.steps.append(Step(self.name, did, [telegram_said(m) for m in self.last]))

    async def _answered(
        self,
        did: str,
        update: dict[str, Any],
        expect: Sequence[str],
        buttons: Sequence[str],
        absent: Sequence[str],
        timeout_s: float,
    ) -> None:
        self.window = self.cursor
        try:
            await self.fake.wait_confirmed(update, timeout_s)  # handled: its direct answers are sent
        except TimeoutError:
            raise AssertionError(
                f"{self.name} → {did}: the bot did not finish this update in {timeout_s} s"
            ) from None
        await self._wait(expect, buttons, timeout_s, did)
        await self._settle()
        self._take(did)
        check(self.name, did, [telegram_said(m) for m in self.last], expect, buttons, absent)


def web_said(frame: dict[str, Any]) -> Said:
    rows = [[b["label"] for b in row] for row in frame.get("buttons") or []]
    rows += [["⌨ " + b["label"] for b in row] for row in frame.get("keyboard") or []]
    return Said(frame.get("text") or "", rows)


class WebPerson:
    """One browser tab of the web chat, speaking the page's protocol against the running service."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, record: Transcript, name: str) -> None:
        self.http = http
        self.base_url = base_url
        self.record = record
        self.name = name
        self.token = secrets.token_urlsafe(16)[:22]
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.last: list[dict[str, Any]] = []

    async def open(self) -> WebPerson:
        self.ws = await self.http.ws_connect(f"{self.base_url}/ws?chat={self.token}")
        hello = await self.ws.receive_json(timeout=10)
        assert hello["type"] == "hello", hello
        return self

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    @property
    def text(self) -> str:
        return "\n".join(f["text"] for f in self.last)

    async def say(self, text: str, *expect: str, buttons: Sequence[str] = ()) -> None:
        await self._frame({"type": "text", "text": text}, text, expect, buttons, STEP_TIMEOUT_S)

    async def press(self, label: str, *expect: str, buttons: Sequence[str] = ()) -> None:
        found = [b for f in self.last for row in f.get("buttons") or [] for b in row if label in b["label"]]
        assert found, f"{self.name}: no button {label!r} in {[web_said(f).rows for f in self.last]}"
        await self._frame(
            {"type": "button", "data": found[0]["data"]},
            f"〔{found[0]['label']}〕",
            expect,
            buttons,
            STEP_TIMEOUT_S,
        )

    async def voice(
        self, data: bytes, clip: str, *expect: str, buttons: Sequence[str] = (), timeout_s: float = 120
    ) -> None:
        async with self.http.post(
            f"{self.base_url}/webchat/upload?kind=voice", data=data, headers={"X-Chat-Token": self.token}
        ) as r:
            body = await r.json()
            assert r.status == 200, body
        await self._frame(
            {"type": "voice", "ref": body["ref"]}, f"(voice recording {clip})", expect, buttons, timeout_s
        )

    async def expect(
        self, *expect: str, buttons: Sequence[str] = (), timeout_s: float = STEP_TIMEOUT_S
    ) -> None:
        """Wait for a reply frame that comes on its own (a notification) with every phrase and button."""
        assert self.ws is not None
        deadline = time.monotonic() + timeout_s
        seen: list[str] = []
        while True:
            try:
                got = await self.ws.receive_json(timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                raise AssertionError(f"{self.name} never received {expect}; got: {seen}") from None
            if got["type"] != "reply":
                continue
            await self.ws.send_json({"type": "ack", "seq": got["seq"]})
            said = web_said(got)
            seen.append(said.text)
            if _meets([said], expect, buttons):
                self.last = [got]
                self.record.steps.append(Step(self.name, "", [said]))
                return

    async def _frame(
        self, frame: dict[str, Any], did: str, expect: Sequence[str], buttons: Sequence[str], timeout_s: float
    ) -> None:
        assert self.ws is not None
        frame["id"] = secrets.token_urlsafe(12)
        await self.ws.send_json(frame)
        self.last = []
        deadline = time.monotonic() + timeout_s
        while True:
            got = await self.ws.receive_json(timeout=max(0.1, deadline - time.monotonic()))
            if got["type"] == "reply":
                self.last.append(got)
                await self.ws.send_json({"type": "ack", "seq": got["seq"]})
            elif got["type"] == "error":
                raise AssertionError(f"{self.name}: error frame {got}")
            elif got["type"] == "done" and got["id"] == frame["id"]:
                break
        said = [web_said(f) for f in self.last]
        self.record.steps.append(Step(self.name, did, said))
        check(self.name, did, said, expect, buttons)


def case_number(text: str) -> str:
    start = text.index("SC-")
    return text[start : start + 16]
