"""Putting replies into Telegram chats within Telegram's limits, with retries that end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.config import RateLimitSection
from bot.senders import DeliveryError
from bot.telegram.convert import SendCall, seconds_of, to_send_calls
from handlers.messages import Channel, Reply

log = logging.getLogger(__name__)

_MAX_LIMITERS = 10_000  # chats with a limiter kept in memory; idle ones are dropped first
PER_CHAT_BURST = 3
"""Messages a chat may get at once before the per-chat rate applies. Telegram tolerates short
bursts in one chat; a turn can be two messages (text with inline buttons, then the big keyboard;
plain texts are merged into the next reply, ``bot.telegram.channel.merge_replies``), and with a
bucket of one the second waited a whole second."""


class ChatLimiters:
    """Telegram's flood limits as token buckets: per chat (a burst of ``PER_CHAT_BURST``, then
    ``per_chat_per_s`` on average), per group, and overall."""

    def __init__(self, cfg: RateLimitSection) -> None:
        self.cfg = cfg
        self.overall = AsyncLimiter(cfg.overall_per_s, 1)
        self._chats: OrderedDict[str, AsyncLimiter] = OrderedDict()
        self._groups: OrderedDict[str, AsyncLimiter] = OrderedDict()

    def _get(
        self, table: OrderedDict[str, AsyncLimiter], key: str, rate: float, period: float
    ) -> AsyncLimiter:
        limiter = table.get(key)
        if limiter is None:
            limiter = table[key] = AsyncLimiter(rate, period)
            if len(table) > _MAX_LIMITERS:
                table.popitem(last=False)
        else:
            table.move_to_end(key)
        return limiter

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: str) -> AsyncIterator[None]:
        # Group chats have a negative id in Telegram.
        is_group = chat_id.startswith("-")
        per_s = self.cfg.per_chat_per_s
        limiters = [self._get(self._chats, chat_id, PER_CHAT_BURST, PER_CHAT_BURST / per_s)]
        if is_group:
            limiters.append(self._get(self._groups, chat_id, self.cfg.per_group_per_min, 60.0))
        limiters.append(self.overall)  # the shared bucket last, so a waiting chat does not hold it
        async with contextlib.AsyncExitStack() as stack:
            for limiter in limiters:
                await stack.enter_async_context(limiter)
            yield


class TelegramSender:
    """``bot.senders.Sender`` for Telegram. Waits out 429s, retries network errors a few times,
    and reports chats that cannot be reached as permanent DeliveryErrors."""

    channel = Channel.TELEGRAM

    def __init__(
        self,
        bot: Bot,
        limits: RateLimitSection,
        *,
        max_retries: int = 3,
        max_retry_after_s: float = 60.0,
        network_backoff_s: float = 0.5,
    ) -> None:
        self.bot = bot
        self.limiters = ChatLimiters(limits)
        self.max_retries = max_retries
        self.max_retry_after_s = max_retry_after_s
        self.network_backoff_s = network_backoff_s

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        """Send every piece of the reply; returns the id of the last message sent."""
        last: Message | None = None
        for call in to_send_calls(chat_id, reply):
            last = await self._call(chat_id, call)
        return str(last.message_id) if last is not None else None

    async def _call(self, chat_id: str, call: SendCall) -> Message:
        attempt = 0
        while True:
            try:
                async with self.limiters.slot(chat_id):
                    return await self._invoke(call)
            except RetryAfter as e:
                wait = seconds_of(e, "retry_after") or 1.0
                if wait > self.max_retry_after_s:
                    raise DeliveryError(f"telegram asks to wait {wait:.0f}s", retry_after_s=wait) from e
                log.warning("telegram 429 for chat %s: waiting %.1fs", chat_id, wait)
                await asyncio.sleep(wait)  # a 429 is not a failure: it does not count as an attempt
            except Forbidden as e:
                raise DeliveryError(f"chat {chat_id} unreachable: {e.message}", permanent=True) from e
            except ChatMigrated as e:
                raise DeliveryError(f"group {chat_id} moved to {e.new_chat_id}", permanent=True) from e
            except BadRequest as e:
                raise DeliveryError(f"telegram refused: {e.message}", permanent=True) from e
            except InvalidToken as e:
                raise DeliveryError("telegram rejected the bot token", permanent=False) from e
            except (TimedOut, NetworkError) as e:
                attempt += 1
                if attempt > self.max_retries:
                    raise DeliveryError(f"telegram unreachable after {attempt} tries: {e.message}") from e
                await asyncio.sleep(self.network_backoff_s * 2 ** (attempt - 1))

    async def _invoke(self, call: SendCall) -> Message:
        kwargs = dict(call.kwargs)
        if call.method == "send_photo":
            kwargs["photo"] = _photo_input(kwargs["photo"])
            return await self.bot.send_photo(**kwargs)
        return await self.bot.send_message(**kwargs)


def _photo_input(ref: str) -> Any:
    """A stored file (the web chat keeps photos on disk) is uploaded; anything else is a Telegram
    file id that Telegram already has."""
    path = Path(ref)
    with contextlib.suppress(OSError, ValueError):
        if path.is_file():
            return path.read_bytes()
    return ref
