"""Long polling that confirms an update to Telegram only after it has been processed.

PTB's own ``Updater`` confirms a batch (by asking for the next offset) as soon as it has queued
it, so a process killed with updates still queued loses them. Here the offset sent with each
``getUpdates`` — which is what confirms — never passes an update that is still being handled:
it is the lowest update id in hand (or one past the highest, when none is). After a crash Telegram
delivers the unfinished updates again and the conversation service drops the repeats by
``update_key``.

Updates are handled as they come, not batch by batch: while some are in hand the poller keeps
asking (``timeout=0``, every ``busy_poll_s``) with that offset; Telegram answers with the ones in
hand again, which are skipped unread, and any new ones, which start at once. So an update never
waits for a slow one of another chat to finish, and a finished one is confirmed within
``busy_poll_s``. With nothing in hand it is an ordinary long poll. Updates of one chat are handled
in order, chats side by side (``concurrency`` at a time); at most ``getUpdates``' limit (100) are
in hand, which is the back-pressure.

"Handled" means committed, replies included: the conversation writes a turn's replies to the
outbox in the turn's transaction and the channel sends them from background queues, so the
offset does not wait for sends held back by Telegram's per-chat limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
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
        busy_poll_s: float = 0.05,
    ) -> None:
        self.bot = bot
        self.process = process
        self.allowed_updates = list(allowed_updates)
        self.timeout_s = timeout_s
        self.batch_limit = batch_limit
        self.max_backoff_s = max_backoff_s
        self.busy_poll_s = busy_poll_s
        # Chats handled at once. Past a few, more is slower: httpx's connection pool got slow with
        # many requests waiting, and the CPU is shared (measured: docs/telegram.md).
        self._slots = asyncio.Semaphore(concurrency)
        self.offset: int | None = None  # the offset last sent: everything below it is confirmed
        self.processed = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_hand: set[int] = set()  # update ids fetched and not yet handled
        self._highest: int | None = None  # the highest update id taken in hand so far
        self._handlers: set[asyncio.Task[None]] = set()
        self._chat_tails: dict[int, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="telegram-poller")

    async def stop(self) -> None:
        """Stop fetching, finish the updates in hand, confirm them, then return."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            # The loop only waits in a fetch or between fetches: cancelling it drops nothing (a
            # fetch cut short confirmed nothing new, and what it would have returned comes again).
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._handlers:
            await asyncio.wait(set(self._handlers))
        offset = self._confirm_offset()
        if offset is not None and offset != self.offset:
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(
                    offset=offset, timeout=0, limit=1, allowed_updates=self.allowed_updates
                )
                self.offset = offset

    def _confirm_offset(self) -> int | None:
        """The offset that confirms every handled update and none in hand."""
        if self._in_hand:
            return min(self._in_hand)
        return self._highest + 1 if self._highest is not None else self.offset

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            busy = bool(self._in_hand)
            if busy:
                # Ask again soon for new updates (and to confirm finished ones); at once if the
                # ones in hand are all done, to go back to a long poll.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), self.busy_poll_s)
                busy = bool(self._in_hand)
            offset = self._confirm_offset()
            try:
                updates = await self._fetch(offset, 0 if busy else self.timeout_s)
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
            backoff = 0.5
            self.offset = offset
            for update_id, update in updates:
                self._highest = update_id
                if update is not None:
                    self._take(update_id, update)

    def _is_new(self, update_id: int) -> bool:
        return self._highest is None or update_id > self._highest

    async def _fetch(self, offset: int | None, timeout_s: float) -> list[tuple[int, Update | None]]:
        """Raw getUpdates; the new updates parsed one at a time (an update PTB cannot read is
        logged and skipped instead of failing its whole batch again and again). Updates in hand
        or handled already come back until confirmed: they are left unread."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBUserWarning)  # "use Bot.get_updates": we mean the raw call
            raw = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": offset,
                    "timeout": int(timeout_s),
                    "limit": self.batch_limit,
                    "allowed_updates": self.allowed_updates,
                },
                read_timeout=timeout_s + 10,
            )
        out: list[tuple[int, Update | None]] = []
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("update_id"), int):
                log.error("getUpdates returned a malformed item: %.200r", item)
                continue
            update_id = item["update_id"]
            if not self._is_new(update_id) or (out and update_id <= out[-1][0]):
                continue
            try:
                out.append((update_id, Update.de_json(item, self.bot)))
            except Exception:
                log.exception("update %s cannot be read; skipped", update_id)
                out.append((update_id, None))
        return out

    def _take(self, update_id: int, update: Update) -> None:
        """Start handling an update: after the previous update of its chat, within the slots."""
        key = chat_key(update)
        previous = self._chat_tails.get(key)
        self._in_hand.add(update_id)
        self._idle.clear()
        task = asyncio.create_task(self._handle(update_id, update, previous), name=f"update-{update_id}")
        self._handlers.add(task)
        self._chat_tails[key] = task

        def done(t: asyncio.Task[None]) -> None:
            self._handlers.discard(t)
            if self._chat_tails.get(key) is t:
                del self._chat_tails[key]

        task.add_done_callback(done)

    async def _handle(self, update_id: int, update: Update, previous: asyncio.Task[None] | None) -> None:
        try:
            if previous is not None:
                await asyncio.wait({previous})  # its outcome is its own; only the order matters here
            async with self._slots:
                try:
                    await self.process(update)
                except Exception:  # one bad update must not hold up the others
                    log.exception("update %s failed", update_id)
        finally:
            self.processed += 1
            self._in_hand.discard(update_id)
            if not self._in_hand:
                self._idle.set()
