"""The Telegram channel: PTB's Application in polling or webhook mode, wired to the conversation.

Each update is translated to an Inbound, handed to ``on_inbound`` (the conversation service) and
the answers are sent through ``TelegramSender``. Updates from one chat are handled one at a time,
in order. Nothing a user sends can crash the process or show them a stack trace.

An update counts as processed once the conversation has committed it: its replies are in the
outbox by then (``handlers.conversation``), so the poller confirms it and the webhook answers 200
without waiting for the sends. The replies go out from per-chat background queues (chats in
parallel, in order within a chat); each one sent is reported to ``on_delivered`` with its outbox
key, and whatever a failed send or a crash leaves unreported the outbox relay sends later.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web
from telegram import BotCommand, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.config import TelegramSection
from bot.senders import DeliveryError, Sender
from bot.telegram.aiohttp_request import use_aiohttp
from bot.telegram.convert import MAX_TEXT, Rejected, to_inbound
from bot.telegram.polling import UpdatePoller, chat_key
from bot.telegram.sender import TelegramSender
from handlers.messages import Channel, Inbound, Outgoing, Reply
from speech.recognizer import AudioTooLong, RecognizerBusy, RecognizerUnavailable, SpeechError

log = logging.getLogger(__name__)

OnInbound = Callable[[Inbound], Awaitable[list[Outgoing]]]
OnDelivered = Callable[[dict[str, str | None]], None]
"""Told ``{outbox key: channel message id}`` of the replies sent directly (marks their rows sent)."""
Transcribe = Callable[[Inbound, bytes], Awaitable[Inbound]]
"""Voice hook: the note's bytes in, the same Inbound with ``text``/``transcript`` filled out."""

ALLOWED_UPDATES = ("message", "callback_query")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
MAX_WEBHOOK_BODY = 1 << 20  # an update is a few kB; anything near this is not from Telegram
COMMANDS = (
    ("start", "开始 / 重新开始"),
    ("help", "怎么用"),
    ("my", "我的事项"),
    ("cancel", "取消当前操作"),
)
TEXT_FOREIGN_CONTACT = "请点「📱 留下我的电话」按钮，分享您自己的号码。"
TEXT_UNSUPPORTED = "这类消息我还看不懂。请打字、发照片、发位置或发语音告诉我。"
TEXT_VOICE_OFF = "暂时听不了语音，请打字告诉我，谢谢。"
TEXT_VOICE_TOO_BIG = "这条语音太长了，请说短一点，或者打字告诉我。"
TEXT_VOICE_FAILED = "没听清这条语音，请再说一遍，或者打字告诉我。"
TEXT_VOICE_TOO_LONG = "这条语音超过 {limit} 秒了，请分成短一点的几条再发，或者打字告诉我。"
TEXT_VOICE_BUSY = "现在语音有点多，请过一会儿再发，或者直接打字告诉我。"
TEXT_APOLOGY = "抱歉，系统刚才出了点问题，请稍后再试。"
MERGE_SEPARATOR = "\n\n"
DRAIN_TIMEOUT_S = 10.0  # at stop, how long queued replies may take; the relay sends any left over


class ChatSendQueues:
    """Background sends, one chain per chat: chats in parallel, jobs of one chat in order."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tails)

    def submit(self, chat: str, job: Callable[[], Awaitable[None]]) -> None:
        prev = self._tails.get(chat)
        task = asyncio.create_task(self._after(prev, job), name=f"send-{chat}")
        self._tails[chat] = task
        task.add_done_callback(lambda t: self._tails.pop(chat) if self._tails.get(chat) is t else None)

    @staticmethod
    async def _after(prev: asyncio.Task[None] | None, job: Callable[[], Awaitable[None]]) -> None:
        if prev is not None:
            await asyncio.wait({prev})  # its outcome is its own; only the order matters here
        try:
            await job()
        except Exception:
            log.exception("a queued send failed")

    async def drain(self, timeout_s: float) -> int:
        """Wait for the queued sends; cancel those still waiting after ``timeout_s``. Returns how many."""
        tasks = set(self._tails.values())
        if not tasks:
            return 0
        _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        return len(pending)


class TelegramChannel:
    """Build with the config section and the conversation callback; ``mount`` on the service's
    aiohttp app before it starts (webhook mode), then ``start``/``stop``."""

    def __init__(
        self,
        cfg: TelegramSection,
        on_inbound: OnInbound,
        *,
        transcribe: Transcribe | None = None,
        other_senders: Mapping[Channel, Sender] | None = None,
        commands: Sequence[tuple[str, str]] = COMMANDS,
        concurrency: int = 8,
        on_delivered: OnDelivered | None = None,
    ) -> None:
        if not cfg.token:
            raise ValueError("the Telegram channel needs TELEGRAM_TOKEN")
        if cfg.mode == "webhook" and not cfg.webhook_secret:
            raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_SECRET")
        self.cfg = cfg
        self.on_inbound = on_inbound
        self.transcribe = transcribe
        self.other_senders = dict(other_senders or {})
        self.commands = tuple(commands)
        self.concurrency = concurrency
        self.on_delivered = on_delivered
        self.sends = ChatSendQueues()
        builder = (
            ApplicationBuilder()
            .token(cfg.token)
            .base_url(cfg.base_url)
            .base_file_url(cfg.file_url)
            .updater(None)  # polling is ours (bot.telegram.polling), webhooks come through aiohttp
        )
        if cfg.http_client == "aiohttp":
            builder = use_aiohttp(builder)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.app.add_handler(TypeHandler(Update, self.on_update))
        self.app.add_error_handler(self.on_error)
        self.sender = TelegramSender(self.app.bot, cfg.rate_limit)
        self.poller: UpdatePoller | None = None
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_waiters: dict[int, int] = {}
        self._running = False

    # ---- lifecycle -------------------------------------------------------------------------

    def mount(self, web_app: web.Application) -> None:
        """Add the webhook route. Call before the aiohttp app starts (its router then freezes)."""
        web_app.router.add_post(self.cfg.webhook_path, self.on_webhook)

    async def start(self) -> None:
        await self.app.initialize()  # getMe: a wrong token or URL fails here, at start
        await self.app.start()
        bot = self.app.bot
        try:
            await bot.set_my_commands([BotCommand(c, d) for c, d in self.commands])
        except TelegramError as e:  # a missing menu is no reason not to serve
            log.warning("setMyCommands failed: %s", e)
        if self.cfg.mode == "webhook":
            if not self.cfg.webhook_url:
                raise ValueError("webhook mode needs telegram.webhook_url: the public URL of webhook_path")
            await bot.set_webhook(
                self.cfg.webhook_url,
                secret_token=self.cfg.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        else:
            await bot.delete_webhook(drop_pending_updates=False)
            self.poller = UpdatePoller(
                bot,
                self.process,
                allowed_updates=ALLOWED_UPDATES,
                timeout_s=self.cfg.poll_timeout_s,
                concurrency=self.concurrency,
            )
            await self.poller.start()
        self._running = True
        log.info("telegram %s mode started as @%s", self.cfg.mode, bot.username)

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in hand, close. The webhook stays registered so
        Telegram keeps updates for the next start."""
        self._running = False
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        left = await self.sends.drain(DRAIN_TIMEOUT_S)
        if left:
            log.warning("%d chats' replies not sent at stop; the outbox relay sends them after restart", left)
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # ---- one update ------------------------------------------------------------------------

    async def process(self, update: Update) -> None:
        """Handle one update (committed; its replies queued), in order with its chat's others."""
        key = chat_key(update)
        lock = self._chat_locks.setdefault(key, asyncio.Lock())
        self._chat_waiters[key] = self._chat_waiters.get(key, 0) + 1
        try:
            async with lock:
                await self.app.process_update(update)
        finally:
            self._chat_waiters[key] -= 1
            if not self._chat_waiters[key]:  # keep the lock table as small as the chats in flight
                del self._chat_waiters[key]
                del self._chat_locks[key]

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB callback for every update: translate, ask the conversation, send its answers."""
        if update.callback_query is not None:
            try:  # answered at once so the button stops spinning, whatever the conversation does
                await update.callback_query.answer()
            except TelegramError as e:
                log.info("answerCallbackQuery failed: %s", e)
        converted = to_inbound(update)
        if converted is None:
            return
        chat = update.effective_chat
        chat_id = str(chat.id) if chat is not None else ""
        if isinstance(converted, Rejected):
            text = TEXT_FOREIGN_CONTACT if converted is Rejected.FOREIGN_CONTACT else TEXT_UNSUPPORTED
            await self._send_quietly(chat_id, Reply(text))
            return
        inbound: Inbound | None = converted
        try:
            if converted.voice is not None:
                inbound = await self._hear(converted)
            if inbound is None:
                return
            outgoing = await self.on_inbound(inbound)
        except Exception:
            log.exception("update %s could not be handled", update.update_id)
            await self._send_quietly(chat_id, Reply(TEXT_APOLOGY))
            return
        self.queue(outgoing)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB error callback: log only; users already got an apology from ``on_update``."""
        log.error("telegram error on %r", update, exc_info=context.error)

    def queue(self, outgoing: Sequence[Outgoing]) -> None:
        """Send a turn's replies in the background, after those queued before for the same chats."""
        by_chat: dict[tuple[Channel, str], list[Outgoing]] = {}
        for out in outgoing:
            by_chat.setdefault((out.channel, out.chat_id), []).append(out)
        for (channel, chat_id), outs in by_chat.items():
            self.sends.submit(f"{channel}:{chat_id}", lambda outs=outs: self._deliver_all(outs))  # type: ignore[misc]

    async def _deliver_all(self, outgoing: Sequence[Outgoing]) -> None:
        sent: dict[str, str | None] = {}
        try:
            for out, keys in merge_replies(outgoing):
                ok, external_id = await self.deliver(out)
                if not ok:
                    break  # keep the order: the relay sends this one and the rest after the grace period
                for key in keys:
                    sent[key] = external_id
        finally:
            if sent and self.on_delivered is not None:
                self.on_delivered(sent)

    async def deliver(self, out: Outgoing) -> tuple[bool, str | None]:
        """Send one reply now: (sent?, the channel's message id where it has one)."""
        sender: Sender | None = (
            self.sender if out.channel is Channel.TELEGRAM else self.other_senders.get(out.channel)
        )
        if sender is None:
            log.warning("no sender for %s; reply to %s left to the outbox relay", out.channel, out.chat_id)
            return False, None
        try:
            return True, await sender.send(out.chat_id, out.reply)
        except DeliveryError as e:
            log.warning(
                "reply to %s:%s not delivered now (the outbox relay retries it): %s",
                out.channel,
                out.chat_id,
                e,
            )
            return False, None

    async def _send_quietly(self, chat_id: str, reply: Reply) -> None:
        """A reply the conversation never saw (voice trouble, unsupported update): queued, not durable."""
        if not chat_id:
            return

        async def send() -> None:
            try:
                await self.sender.send(chat_id, reply)
            except DeliveryError as e:
                log.warning("reply to telegram:%s not delivered: %s", chat_id, e)

        self.sends.submit(f"{Channel.TELEGRAM}:{chat_id}", send)

    async def _hear(self, inbound: Inbound) -> Inbound | None:
        """Download the voice note and hand it to the recognizer; None when the user was told why not."""
        assert inbound.voice is not None
        if self.transcribe is None:
            await self._send_quietly(inbound.chat_id, Reply(TEXT_VOICE_OFF))
            return None
        if (inbound.voice.size or 0) > MAX_FILE_BYTES:
            await self._send_quietly(inbound.chat_id, Reply(TEXT_VOICE_TOO_BIG))
            return None
        bot = self.app.bot
        try:
            await bot.send_chat_action(inbound.chat_id, ChatAction.TYPING)
            file = await bot.get_file(inbound.voice.ref)
            if (file.file_size or 0) > MAX_FILE_BYTES:
                await self._send_quietly(inbound.chat_id, Reply(TEXT_VOICE_TOO_BIG))
                return None
            data = bytes(await file.download_as_bytearray())
        except TelegramError as e:
            log.warning("voice note %s not downloaded: %s", inbound.voice.ref, e)
            too_big = "too big" in str(e)
            await self._send_quietly(
                inbound.chat_id, Reply(TEXT_VOICE_TOO_BIG if too_big else TEXT_VOICE_FAILED)
            )
            return None
        try:
            heard = await self.transcribe(inbound, data)
        except AudioTooLong as e:
            await self._send_quietly(inbound.chat_id, Reply(TEXT_VOICE_TOO_LONG.format(limit=round(e.limit))))
            return None
        except RecognizerBusy:
            await self._send_quietly(inbound.chat_id, Reply(TEXT_VOICE_BUSY))
            return None
        except RecognizerUnavailable:
            await self._send_quietly(inbound.chat_id, Reply(TEXT_VOICE_OFF))
            return None
        except Exception as e:
            if not isinstance(e, SpeechError):
                log.exception("voice note %s not transcribed", inbound.voice.ref)
            await self._send_quietly(inbound.chat_id, Reply(TEXT_VOICE_FAILED))
            return None
        if not (heard.text or "").strip():
            await self._send_quietly(inbound.chat_id, Reply(TEXT_VOICE_FAILED))
            return None
        return heard

    # ---- webhook ---------------------------------------------------------------------------

    async def on_webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST. Answered only after the update is committed (its replies are in the
        outbox), so an update that a crash interrupted is delivered again (the conversation drops
        the repeat by update_key) and a committed one is answered even if its replies are not out yet."""
        secret = request.headers.get(SECRET_HEADER)
        if secret is None:
            return _json({"ok": False, "error": "missing secret token"}, 401)
        expected = self.cfg.webhook_secret or ""
        if not hmac.compare_digest(secret.encode("utf-8", "replace"), expected.encode()):
            return _json({"ok": False, "error": "wrong secret token"}, 403)
        if not self._running:
            return _json({"ok": False, "error": "starting"}, 503)  # Telegram will deliver it again
        body = b""
        if (request.content_length or 0) <= MAX_WEBHOOK_BODY:
            body = await request.content.read(MAX_WEBHOOK_BODY + 1)
        if (request.content_length or 0) > MAX_WEBHOOK_BODY or len(body) > MAX_WEBHOOK_BODY:
            too_large = _json({"ok": False, "error": "body too large"}, 413)
            too_large.force_close()  # the rest of the body is never read: drop the connection
            return too_large
        try:
            data = json.loads(body)
        except ValueError:
            return _json({"ok": False, "error": "malformed JSON"}, 400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return _json({"ok": False, "error": "not an update"}, 400)
        try:
            update = Update.de_json(data, self.app.bot)
        except Exception:
            return _json({"ok": False, "error": "not an update"}, 400)
        await self.process(update)
        return _json({"ok": True}, 200)


def _mergeable(first: Outgoing, second: Outgoing) -> bool:
    a, b = first.reply, second.reply
    return (
        first.channel is Channel.TELEGRAM
        and second.channel is Channel.TELEGRAM
        and first.chat_id == second.chat_id
        and not a.buttons
        and a.photo_ref is None
        and not a.remove_keyboard
        and b.photo_ref is None
        and bool(a.text.strip())
        and len(a.text) + len(MERGE_SEPARATOR) + len(b.text) <= MAX_TEXT
    )


def merge_replies(outgoing: Sequence[Outgoing]) -> list[tuple[Outgoing, list[str]]]:
    """A turn's Telegram replies as fewer messages: a plain text (no buttons, no photo) is joined
    to the next reply's text with a blank line, within one message's length. Each message comes
    with the outbox keys it stands for (all marked sent with its message id).

    Fewer messages is fewer waits on Telegram's per-chat limit, and one message is easier to read
    than a string of them. Only the direct send merges: a reply the relay sends later (after a
    failed send or a crash) goes as it was written, so no reply is lost or repeated by merging.
    """
    merged: list[tuple[Outgoing, list[str]]] = []
    for out in outgoing:
        keys = [out.outbox_key] if out.outbox_key is not None else []
        if merged and _mergeable(merged[-1][0], out):
            prev, prev_keys = merged[-1]
            text = prev.reply.text + MERGE_SEPARATOR + out.reply.text if out.reply.text else prev.reply.text
            joined = dataclasses.replace(out, reply=dataclasses.replace(out.reply, text=text))
            merged[-1] = (joined, prev_keys + keys)
        else:
            merged.append((out, keys))
    return merged


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status)
