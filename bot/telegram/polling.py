"""Long polling that confirms an update to Telegram only after it has been processed.

PTB's own ``Updater`` confirms a batch (by asking for the next offset) as soon as it has queued
it, so a process killed with updates still queued loses them. Here the next ``getUpdates`` —
which is what confirms — is only sent once every update of the batch has been handled; after a
crash Telegram delivers the unfinished batch again and the conversation service drops the
repeats by ``update_key``.

"Handled" means committed, replies included: the conversation writes a turn's replies to the
outbox in the turn's transaction and the channel sends them from background queues, so the next
``getUpdates`` does not wait for sends held back by Telegram's per-chat limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBUserWarning

from bot.telegram.convert import seconds_of

log = logging.getLogger(__name__)

ProcessUpdate = Callable[[Update], Awaitable[None]]


def chat_key(update: Update) -> int:
    """Updates from one chat are handled in order; different chats in parallel."""
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user is not None else 0


class UpdatePoller:
    def __init__(
        self,
        bot: Bot,
        process: ProcessUpdate,
        *,
        allowed_updates: Sequence[str],
        timeout_s: float = 10,
        batch_limit: int = 100,
        max_backoff_s: float = 30,
        concurrency: int = 8,
    ) -> None:
        self.bot = bot
        self.process = process
        self.allowed_updates = list(allowed_updates)
        self.timeout_s = timeout_s
        self.batch_limit = batch_limit
        self.max_backoff_s = max_backoff_s
        # Chats handled at once. Past a few, more is slower: httpx's connection pool got slow with
        # many requests waiting, and the CPU is shared (measured: docs/telegram.md).
        self._slots = asyncio.Semaphore(concurrency)
        self.offset: int | None = None
        self.processed = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._fetching = False

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="telegram-poller")

    async def stop(self) -> None:
        """Finish the batch in hand, confirm it, then return."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        if self._fetching:
            task.cancel()  # an idle long poll holds nothing unconfirmed
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self.offset is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(
                    offset=self.offset, timeout=0, limit=1, allowed_updates=self.allowed_updates
                )

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            try:
                self._fetching = True
                updates = await self._fetch()
            except RetryAfter as e:
                await asyncio.sleep(seconds_of(e, "retry_after") or 1.0)
                continue
            except (InvalidToken, Conflict) as e:
                # Another poller or a webhook holds the bot, or the token is wrong: wait, don't spin.
                log.error("telegram refuses polling: %s", e)
                await asyncio.sleep(self.max_backoff_s)
                continue
            except (TimedOut, NetworkError) as e:
                log.warning("getUpdates failed (%s); retrying in %.1fs", e, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            except Exception:  # never let the poller die: a dead poller is a dead bot
                log.exception("getUpdates failed unexpectedly; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            finally:
                self._fetching = False
            backoff = 0.5
            if not updates:
                continue
            last_id = updates[-1][0]
            await self._process_batch([u for _, u in updates if u is not None])
            self.offset = last_id + 1

    async def _fetch(self) -> list[tuple[int, Update | None]]:
        """Raw getUpdates, parsed one update at a time: an update PTB cannot read is logged and
        skipped instead of failing its whole batch again and again."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBUserWarning)  # "use Bot.get_updates": we mean the raw call
            raw = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": self.offset,
                    "timeout": int(self.timeout_s),
                    "limit": self.batch_limit,
                    "allowed_updates": self.allowed_updates,
                },
                read_timeout=self.timeout_s + 10,
            )
        out: list[tuple[int, Update | None]] = []
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("update_id"), int):
                log.error("getUpdates returned a malformed item: %.200r", item)
                continue
            try:
                out.append((item["update_id"], Update.de_json(item, self.bot)))
            except Exception:
                log.exception("update %s cannot be read; skipped", item["update_id"])
                out.append((item["update_id"], None))
        return out

    async def _process_batch(self, updates: Sequence[Update]) -> None:
        by_chat: dict[int, list[Update]] = defaultdict(list)
        for u in updates:
            by_chat[chat_key(u)].append(u)

        async def in_order(chain: list[Update]) -> None:
            async with self._slots:
                await run_chain(chain)

        async def run_chain(chain: list[Update]) -> None:
            for u in chain:
                try:
                    await self.process(u)
                except Exception:  # one bad update must not block the rest of the batch
                    log.exception("update %s failed", u.update_id)
                self.processed += 1

        # Shielded: a stop() arriving mid-batch lets the batch finish rather than half-process it.
        await asyncio.shield(asyncio.gather(*(in_order(c) for c in by_chat.values())))
