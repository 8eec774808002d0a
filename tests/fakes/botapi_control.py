"""The fake Bot API server with what load, crash and scale-out runs need on top of ``FakeBotApi``.

- **Timing**: when each update was first handed to a bot (``getUpdates`` answer or webhook POST)
  and when each message the bot sent arrived, on the server's ``time.monotonic()``.
- **Handled**: an awaitable per update that resolves once the bot has confirmed it (a later
  ``getUpdates`` offset, or a 2xx webhook answer) — the definition of "accepted" in the fault tests.
- **Several webhooks**: every ``setWebhook`` adds its URL; updates are spread over the URLs by
  ``update_id`` (like a load balancer in front of several bot processes).
- **Holding sends**: ``hold(chat_id)`` makes ``sendMessage`` to that chat wait (unrecorded) until
  ``release()``, so a test can kill the bot while a reply is on its way.
- **Per-chat record** of what the bot sent, so hundreds of simulated users can wait on their own chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tests.fakes.botapi import ApiError, FakeBotApi, _allowed, _int, _Webhook


@dataclass(frozen=True, slots=True)
class Sent:
    """One message the bot sent, as the simulated user sees it."""

    index: int  # position among everything the bot sent
    chat_id: int
    at: float  # server monotonic time
    text: str
    buttons: tuple[tuple[str, str], ...]  # (label, callback_data or "" for keyboard buttons)


def _buttons(markup: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not markup:
        return ()
    out: list[tuple[str, str]] = []
    for row in markup.get("inline_keyboard") or []:
        for b in row:
            out.append((str(b.get("text", "")), str(b.get("callback_data") or "")))
    for row in markup.get("keyboard") or []:
        for b in row:
            label = b if isinstance(b, str) else b.get("text", "")
            out.append((str(label), ""))
    return tuple(out)


class ControlledBotApi(FakeBotApi):
    """``FakeBotApi`` plus timing, per-update confirmation, several webhooks and held sends."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.handed_at: dict[int, float] = {}
        self.handled_at: dict[int, float] = {}
        self.sent: list[Sent] = []
        self.by_chat: dict[int, list[Sent]] = defaultdict(list)
        self.webhooks: dict[str, _Webhook] = {}
        self.deliveries: dict[int, list[str]] = defaultdict(list)  # update id -> webhook URLs posted to
        self._chat_events: dict[int, asyncio.Event] = {}
        self._handled_waiters: dict[int, asyncio.Future[float]] = {}
        self._held: set[int] = set()
        self._release = asyncio.Event()
        self._release_deliver = False
        self.held_calls = 0

    # ---- timing and confirmation -----------------------------------------------------------

    async def _m_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        result = await super()._m_getupdates(p)
        now = time.monotonic()
        for u in result:
            self.handed_at.setdefault(u["update_id"], now)
        return result

    def _confirm(self, offset: int) -> None:
        super()._confirm(offset)
        now = time.monotonic()
        for uid in [u for u in self._handled_waiters if u < offset]:
            self._mark_handled(uid, now)
        # Updates confirmed with nobody waiting still count as handled.
        for uid in list(self._injected_at):
            if uid < offset and uid not in self.handled_at:
                self.handled_at[uid] = now

    def _mark_handled(self, uid: int, now: float) -> None:
        self.handled_at.setdefault(uid, now)
        fut = self._handled_waiters.pop(uid, None)
        if fut is not None and not fut.done():
            fut.set_result(now)

    async def wait_handled(self, update_id: int, timeout_s: float = 30.0) -> float:
        """Wait until the bot has confirmed ``update_id``; returns when (server monotonic)."""
        if update_id in self.handled_at:
            return self.handled_at[update_id]
        fut = self._handled_waiters.get(update_id)
        if fut is None:
            fut = self._handled_waiters[update_id] = asyncio.get_running_loop().create_future()
        return await asyncio.wait_for(asyncio.shield(fut), timeout_s)

    def _new_bot_message(self, chat: dict[str, Any], p: dict[str, Any], **content: Any) -> dict[str, Any]:
        msg = super()._new_bot_message(chat, p, **content)
        stored = self.bot_messages[-1]
        sent = Sent(
            len(self.sent),
            chat["id"],
            time.monotonic(),
            str(content.get("text") or content.get("caption") or ""),
            _buttons(stored.get("reply_markup")),
        )
        self.sent.append(sent)
        self.by_chat[chat["id"]].append(sent)
        ev = self._chat_events.get(chat["id"])
        if ev is not None:
            ev.set()
        return msg

    async def wait_sent(self, chat_id: int, count: int, timeout_s: float = 30.0) -> list[Sent]:
        """Wait until the bot has sent at least ``count`` messages to ``chat_id`` in all."""
        deadline = time.monotonic() + timeout_s
        while len(self.by_chat[chat_id]) < count:
            ev = self._chat_events.setdefault(chat_id, asyncio.Event())
            ev.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"chat {chat_id}: {len(self.by_chat[chat_id])} of {count} messages")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ev.wait(), left)
        return self.by_chat[chat_id]

    # ---- holding sends ---------------------------------------------------------------------

    def hold(self, chat_id: int) -> None:
        """``sendMessage`` to ``chat_id`` waits, unrecorded, until ``release()``."""
        self._held.add(chat_id)
        self._release.clear()

    def release(self, *, deliver: bool = False) -> None:
        """Let held sends go on: recorded as sent when ``deliver``, else answered 502 (lost)."""
        self._release_deliver = deliver
        self._held.clear()
        self._release.set()

    async def _m_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        if _int(p.get("chat_id"), 0) in self._held:
            self.held_calls += 1
            await self._notify()
            await self._release.wait()
            if not self._release_deliver:
                raise ApiError(502, "Bad Gateway")
        return await super()._m_sendmessage(p)

    # ---- several webhooks ------------------------------------------------------------------

    async def _m_setwebhook(self, p: dict[str, Any]) -> bool:
        ok = await super()._m_setwebhook(p)
        if self.webhook is not None:
            self.webhooks[self.webhook.url] = self.webhook
        return ok

    async def _m_deletewebhook(self, p: dict[str, Any]) -> bool:
        self.webhooks.clear()
        return await super()._m_deletewebhook(p)

    async def _deliver_webhooks(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        while True:
            hooks = sorted(self.webhooks)
            if not hooks:
                async with self._changed:
                    await self._changed.wait()
                continue
            for u in list(self._pending):
                uid = u.update["update_id"]
                w = self.webhooks[hooks[uid % len(hooks)]]
                if uid in self._in_flight or not _allowed(u.update, w.allowed_updates):
                    continue
                if sum(1 for i in self._in_flight if hooks[i % len(hooks)] == w.url) >= w.max_connections:
                    continue
                self._in_flight.add(uid)
                task = asyncio.create_task(self._post_update(w, u))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), self.webhook_retry_s)

    def _posting(self, w: _Webhook, uid: int) -> None:
        self.handed_at.setdefault(uid, time.monotonic())
        self.deliveries[uid].append(w.url)

    def _confirmed(self, uid: int) -> None:
        self._mark_handled(uid, time.monotonic())

    def drop_webhook(self, url: str) -> None:
        """A bot process behind ``url`` is gone: the balancer stops sending to it."""
        self.webhooks.pop(url, None)
        if self.webhook is not None and self.webhook.url == url:
            self.webhook = next(iter(self.webhooks.values()), None)

    # ---- what the fault tests read ---------------------------------------------------------

    def accepted(self) -> list[int]:
        """Update ids the bot confirmed."""
        return sorted(self.handled_at)

    def send_calls(self) -> int:
        return sum(1 for c in self.calls if c.method == "sendMessage" and c.status == 200)
