"""A fake Telegram Bot API server on 127.0.0.1 for the real python-telegram-bot client.

It behaves like Telegram for the methods this service uses: long-polling ``getUpdates`` that
honours ``offset`` (confirming and dropping older updates), ``limit`` and ``allowed_updates``;
webhooks that POST each update with the ``X-Telegram-Bot-Api-Secret-Token`` header and deliver it
again after a non-2xx answer; the send and edit methods with Telegram's validation; file
download with the 20 MB limit; and Telegram's rate limits answered with HTTP 429 and
``retry_after``.

Tests drive it in-process (``FakeBotApi``: inject user actions, then ``await wait_for_reply``);
benchmarks and crash tests run it as ``python -m tests.fakes.botapi --port N`` and use the control
endpoints under ``/_fake/`` (see ``_control_routes``). Every bot call is recorded with its time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST-fake-token"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Fields that arrive as JSON strings inside form data (that is how PTB sends them).
JSON_FIELDS = {
    "reply_markup",
    "allowed_updates",
    "commands",
    "entities",
    "caption_entities",
    "reply_parameters",
    "link_preview_options",
    "scope",
}
SEND_METHODS = {"sendMessage", "sendPhoto"}
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_\-]{1,256}$")


class ApiError(Exception):
    """Answered to the bot as Telegram's error JSON."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Limits:
    """Telegram's flood limits. ``enabled=False`` switches them off for load runs."""

    enabled: bool = True
    per_chat_per_s: float = 1.0
    per_chat_burst: float = 3.0  # Telegram tolerates short bursts in one chat
    group_per_min: float = 20.0
    group_burst: float | None = None  # default: a whole minute's worth, like Telegram
    overall_per_s: float = 30.0
    overall_burst: float = 30.0


class _Bucket:
    """A token bucket: ``wait_s`` is 0 when a send is allowed now, else the seconds until it is."""

    def __init__(self, rate_per_s: float, capacity: float) -> None:
        self.rate = rate_per_s
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.at = time.monotonic()

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now

    def wait_s(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


@dataclass
class Call:
    """One request the bot made, as the server saw it."""

    index: int
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() in the server's process
    status: int = 200
    error: str | None = None


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    declared_size: int | None = None  # lets tests fake a file bigger than they want to allocate

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.data)


@dataclass
class _Injected:
    update: dict[str, Any]
    at: float
    delivered: int = 0  # how many times it was handed to the bot (getUpdates or webhook)


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int = 40
    last_error: str | None = None
    attempts: int = 0


@dataclass
class _Fault:
    method: str
    code: int
    description: str
    retry_after: int | None
    remaining: int


@dataclass
class FakeBotApi:
    """The server. Use ``async with FakeBotApi() as fake:`` and point PTB at ``fake.base_url``."""

    token: str = DEFAULT_TOKEN
    host: str = "127.0.0.1"
    port: int = 0
    limits: Limits = field(default_factory=Limits)
    webhook_retry_s: float = 0.2  # Telegram backs off longer; tests need it short
    bot_username: str = "shangcheng_test_bot"

    def __post_init__(self) -> None:
        self.bot_id = int(self.token.split(":", 1)[0])
        self.calls: list[Call] = []
        self.commands: list[dict[str, str]] = []
        self.files: dict[str, StoredFile] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # every message, both directions
        self.bot_messages: list[dict[str, Any]] = []  # what the bot sent, in order
        self.callback_queries: dict[str, dict[str, Any]] = {}  # id -> {"answered": bool, ...}
        self.webhook: _Webhook | None = None
        self.confirmed_offset = 0
        self._pending: list[_Injected] = []
        self._injected_at: dict[int, float] = {}
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._file_ids = itertools.count(1)
        self._cq_ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._changed = asyncio.Condition()
        self._buckets: dict[Any, _Bucket] = {}
        self._read_cursor: dict[int, int] = defaultdict(int)  # chat -> index into bot messages read
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._in_flight: set[int] = set()
        self._client: aiohttp.ClientSession | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.port}/_fake"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        _control_routes(app, self)
        return app

    async def start(self) -> FakeBotApi:
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if self.port == 0 and sockets:
            self.port = sockets[0].getsockname()[1]
        self._client = aiohttp.ClientSession()
        self._delivery = asyncio.create_task(self._deliver_webhooks(), name="fake-botapi-webhook")
        return self

    async def stop(self) -> None:
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- the Bot API -----------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if token != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        try:
            params = await _read_params(request)
        except ApiError as e:
            return web.json_response(e.body(), status=e.code)
        call = Call(len(self.calls), method, _loggable(params), time.monotonic())
        self.calls.append(call)
        try:
            self._fault(method)
            impl = getattr(self, f"_m_{method.lower()}", None)
            if impl is None:
                raise ApiError(404, "Not Found")
            result = await impl(params)
        except ApiError as e:
            call.status, call.error = e.code, e.description
            await self._notify()
            return web.json_response(e.body(), status=e.code)
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    def _fault(self, method: str) -> None:
        for fault in self._faults:
            if fault.method in (method, "*") and fault.remaining > 0:
                fault.remaining -= 1
                raise ApiError(fault.code, fault.description, fault.retry_after)

    async def _m_getme(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "上城助手",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(p.get("offset"), 0)
        limit = min(max(_int(p.get("limit"), 100), 1), 100)
        timeout = max(_float(p.get("timeout"), 0.0), 0.0)
        allowed = p.get("allowed_updates")
        if offset:
            self._confirm(offset)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                ready = [
                    u
                    for u in self._pending
                    if u.update["update_id"] >= offset and _allowed(u.update, allowed)
                ][:limit]
                if ready or time.monotonic() >= deadline:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(deadline - time.monotonic()):
                        await self._changed.wait()
        for u in ready:
            u.delivered += 1
        return [u.update for u in ready]

    def _confirm(self, offset: int) -> None:
        """Telegram forgets every update below the offset the bot sends."""
        if offset > self.confirmed_offset:
            self.confirmed_offset = offset
        self._pending = [u for u in self._pending if u.update["update_id"] >= offset]

    async def _m_deletewebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = None
        if _bool(p.get("drop_pending_updates")):
            self._pending.clear()
        return True

    async def _m_setwebhook(self, p: dict[str, Any]) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return await self._m_deletewebhook(p)
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise ApiError(400, "Bad Request: bad webhook: secret token contains unallowed characters")
        if _bool(p.get("drop_pending_updates")):
            self._pending.clear()
        self.webhook = _Webhook(
            url, secret, p.get("allowed_updates"), max(1, min(_int(p.get("max_connections"), 40), 100))
        )
        return True

    async def _m_getwebhookinfo(self, p: dict[str, Any]) -> dict[str, Any]:
        w = self.webhook
        info: dict[str, Any] = {
            "url": w.url if w else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if w is not None:
            info["max_connections"] = w.max_connections
            if w.allowed_updates:
                info["allowed_updates"] = w.allowed_updates
            if w.last_error:
                info["last_error_message"] = w.last_error
                info["last_error_date"] = int(time.time())
        return info

    def _chat(self, p: dict[str, Any]) -> dict[str, Any]:
        raw = p.get("chat_id")
        try:
            chat_id = int(str(raw))
        except ValueError as e:
            raise ApiError(400, "Bad Request: chat not found") from e
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return self.chats[chat_id]

    def _rate_limit(self, chat: dict[str, Any]) -> None:
        lim = self.limits
        if not lim.enabled:
            return
        now = time.monotonic()
        keys: list[tuple[Any, float, float]] = [
            ("all", lim.overall_per_s, lim.overall_burst),
            (chat["id"], lim.per_chat_per_s, lim.per_chat_burst),
        ]
        if chat["type"] in ("group", "supergroup"):
            keys.append((("group", chat["id"]), lim.group_per_min / 60, lim.group_burst or lim.group_per_min))
        buckets = [self._buckets.setdefault(k, _Bucket(rate, cap)) for k, rate, cap in keys]
        wait = max(b.wait_s(now) for b in buckets)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        for b in buckets:
            b.take(now)

    def _new_bot_message(self, chat: dict[str, Any], p: dict[str, Any], **content: Any) -> dict[str, Any]:
        message_id = next(self._message_ids[chat["id"]])
        msg: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "上城助手",
                "username": self.bot_username,
            },
            **content,
        }
        markup = _check_markup(p.get("reply_markup"))
        if markup is not None:
            msg["reply_markup"] = markup
        if p.get("parse_mode") is not None:
            msg["parse_mode"] = p["parse_mode"]  # not in Telegram's answer; kept for transcripts
        self.messages[(chat["id"], message_id)] = msg
        self.bot_messages.append(msg)
        return _public(msg)

    async def _m_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        _check_parse_mode(p.get("parse_mode"))
        self._rate_limit(chat)
        return self._new_bot_message(chat, p, text=text)

    async def _m_sendphoto(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        photo = p.get("photo")
        if isinstance(photo, bytes):
            stored = self.store_file(photo, "photos", "jpg")
        elif isinstance(photo, str) and photo in self.files:
            stored = self.files[photo]
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = p.get("caption")
        if caption is not None and len(str(caption)) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        _check_parse_mode(p.get("parse_mode"))
        self._rate_limit(chat)
        content: dict[str, Any] = {"photo": [_photo_size(stored)]}
        if caption:
            content["caption"] = str(caption)
        return self._new_bot_message(chat, p, **content)

    def _bot_message(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not used by this bot")
        chat = self._chat(p)
        msg = self.messages.get((chat["id"], _int(p.get("message_id"), -1)))
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg["from"]["id"] != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return msg

    async def _m_editmessagetext(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._bot_message(p)
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = _check_markup(p.get("reply_markup"))
        if text == msg.get("text") and markup == msg.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content "
                "and reply markup are exactly the same as a current content and reply "
                "markup of the message",
            )
        msg["text"] = text
        msg["edit_date"] = int(time.time())
        if markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = markup
        return _public(msg)

    async def _m_editmessagereplymarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._bot_message(p)
        markup = _check_markup(p.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if markup == msg.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        if markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = markup
        msg["edit_date"] = int(time.time())
        return _public(msg)

    async def _m_answercallbackquery(self, p: dict[str, Any]) -> bool:
        query = self.callback_queries.get(str(p.get("callback_query_id")))
        if query is None or query["answered"]:
            raise ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        text = p.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query.update(answered=True, answer_text=text, show_alert=_bool(p.get("show_alert")))
        return True

    async def _m_getfile(self, p: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(p.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _m_setmycommands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for c in commands:
            if not isinstance(c, dict) or not _COMMAND.match(str(c.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty")
        self.commands = commands
        return True

    async def _m_getmycommands(self, p: dict[str, Any]) -> list[dict[str, str]]:
        return self.commands

    async def _m_sendchataction(self, p: dict[str, Any]) -> bool:
        self._chat(p)
        if p.get("action") not in {
            "typing",
            "upload_photo",
            "record_voice",
            "upload_voice",
            "upload_document",
            "find_location",
            "choose_sticker",
        }:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _m_close(self, p: dict[str, Any]) -> bool:
        return True

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                self.calls.append(Call(len(self.calls), "download", {"file_path": path}, time.monotonic()))
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    # ---- webhook delivery ------------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        while True:
            w = self.webhook
            if w is None:
                async with self._changed:
                    await self._changed.wait()
                continue
            ready = [
                u
                for u in self._pending
                if u.update["update_id"] not in self._in_flight and _allowed(u.update, w.allowed_updates)
            ]
            slots = w.max_connections - len(self._in_flight)
            for u in ready[: max(slots, 0)]:
                self._in_flight.add(u.update["update_id"])
                task = asyncio.create_task(self._post_update(w, u))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.webhook_retry_s):
                        await self._changed.wait()

    def _posting(self, w: _Webhook, uid: int) -> None:
        """Called as an update is POSTed to a webhook (a subclass may record it)."""

    def _confirmed(self, uid: int) -> None:
        """Called when a webhook answered 2xx for an update (a subclass may record it)."""

    async def _post_update(self, w: _Webhook, u: _Injected) -> None:
        uid = u.update["update_id"]
        self._posting(w, uid)
        headers = {"Content-Type": "application/json"}
        if w.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = w.secret_token
        ok = False
        try:
            assert self._client is not None
            u.delivered += 1
            w.attempts += 1
            async with self._client.post(
                w.url, data=json.dumps(u.update), headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as resp:
                await resp.read()
                ok = 200 <= resp.status < 300
                if not ok:
                    w.last_error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except (aiohttp.ClientError, TimeoutError) as e:
            w.last_error = f"Connection failed: {type(e).__name__}"
        if ok:
            self._pending = [p for p in self._pending if p.update["update_id"] != uid]
            self.confirmed_offset = max(self.confirmed_offset, uid + 1)
            self._confirmed(uid)
        else:
            await asyncio.sleep(self.webhook_retry_s)  # Telegram retries later, not at once
        self._in_flight.discard(uid)
        await self._notify()

    # ---- injecting what users do -----------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "private",
        title: str | None = None,
        first_name: str = "用户",
        username: str | None = None,
    ) -> dict[str, Any]:
        """Make a chat known, as if its user had pressed Start (the bot cannot write first)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = first_name
                if username:
                    chat["username"] = username
            else:
                chat["title"] = title or f"群 {chat_id}"
            self.chats[chat_id] = chat
        return chat

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: sends answer 403 from now on."""
        self.blocked.add(chat_id)

    def _user(self, user_id: int, first_name: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "zh-hans"}

    def _inject(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: payload}
        now = time.monotonic()
        self._pending.append(_Injected(update, now))
        self._injected_at[update_id] = now
        # Wake pollers and the webhook pusher; called from sync code, so schedule it.
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self._notify())
        return update

    def _user_message(
        self, chat_id: int, user_id: int | None, chat_type: str, first_name: str, **content: Any
    ) -> dict[str, Any]:
        uid = user_id if user_id is not None else chat_id
        if chat_type == "private" and uid != chat_id:
            raise ValueError("in a private chat the chat id is the user's id")
        chat = self.add_chat(chat_id, chat_type=chat_type, first_name=first_name)
        message_id = next(self._message_ids[chat_id])
        msg = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self._user(uid, first_name),
            **content,
        }
        self.messages[(chat_id, message_id)] = msg
        return self._inject("message", msg)

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "用户",
    ) -> dict[str, Any]:
        """A user types text; a leading /command gets its bot_command entity like Telegram sets."""
        content: dict[str, Any] = {"text": text}
        m = re.match(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?", text)
        if m:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(m.group(0))}]
        return self._user_message(chat_id, user_id, chat_type, first_name, **content)

    def share_contact(
        self,
        chat_id: int,
        phone: str,
        *,
        user_id: int | None = None,
        contact_user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "用户",
    ) -> dict[str, Any]:
        """The user shares a contact: their own (the default) or someone else's (contact_user_id)."""
        uid = user_id if user_id is not None else chat_id
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
        owner = uid if contact_user_id is None else contact_user_id
        if owner:
            contact["user_id"] = owner
        return self._user_message(chat_id, user_id, chat_type, first_name, contact=contact)

    def send_location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "用户",
    ) -> dict[str, Any]:
        return self._user_message(
            chat_id, user_id, chat_type, first_name, location={"latitude": latitude, "longitude": longitude}
        )

    def send_photo(
        self,
        chat_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "用户",
        width: int = 1280,
        height: int = 960,
    ) -> dict[str, Any]:
        """A photo, offered in two sizes like Telegram does: a thumbnail and the full picture."""
        thumb = self.store_file(data[:2048], "photos", "jpg")
        full = self.store_file(data, "photos", "jpg")
        sizes = [_photo_size(thumb, 90, 68), _photo_size(full, width, height)]
        content: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(chat_id, user_id, chat_type, first_name, **content)

    def send_voice(
        self,
        chat_id: int,
        data: bytes,
        *,
        duration: int,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "用户",
        declared_size: int | None = None,
    ) -> dict[str, Any]:
        """A voice note (OGG/Opus). ``declared_size`` fakes a larger file than ``data``."""
        stored = self.store_file(data, "voice", "oga", declared_size=declared_size)
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }
        return self._user_message(chat_id, user_id, chat_type, first_name, voice=voice)

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        check: bool = True,
        first_name: str = "用户",
    ) -> dict[str, Any]:
        """A user presses an inline button under a bot message. With ``check`` the data must be one
        the bot drew on that message; ``check=False`` forges any data."""
        msg = self.messages.get((chat_id, message_id))
        if msg is None or msg["from"]["id"] != self.bot_id:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        if check:
            drawn = [
                b.get("callback_data")
                for row in msg.get("reply_markup", {}).get("inline_keyboard", [])
                for b in row
            ]
            if data not in drawn:
                raise ValueError(f"message {message_id} has no button with data {data!r}: {drawn}")
        uid = user_id if user_id is not None else chat_id
        query_id = f"{self.bot_id}{next(self._cq_ids):08d}"
        self.callback_queries[query_id] = {"answered": False, "message_id": message_id, "chat_id": chat_id}
        query = {
            "id": query_id,
            "from": self._user(uid, first_name),
            "message": _public(msg),
            "chat_instance": str(chat_id * 7919),
            "data": data,
        }
        return self._inject("callback_query", query)

    def store_file(
        self, data: bytes, folder: str, ext: str, *, declared_size: int | None = None
    ) -> StoredFile:
        n = next(self._file_ids)
        stored = StoredFile(
            f"AgAC{n:06d}{folder}", f"u{n:06d}", f"{folder}/file_{n}.{ext}", data, declared_size
        )
        self.files[stored.file_id] = stored
        return stored

    def fail_next(
        self,
        method: str,
        *,
        code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" for any) fail like Telegram would."""
        if code == 429 and retry_after is None:
            retry_after = 1
        desc = description or (
            f"Too Many Requests: retry after {retry_after}"
            if code == 429
            else "Bad Gateway"
            if code == 502
            else "Internal Server Error"
        )
        self._faults.append(_Fault(method, code, desc, retry_after, times))

    # ---- reading what the bot did ----------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.bot_messages if m["chat"]["id"] == chat_id]

    def injected_at(self, update_id: int) -> float | None:
        return self._injected_at.get(update_id)

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; TimeoutError says the bot never got there."""
        deadline = time.monotonic() + timeout_s
        async with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the fake Bot API never saw the expected state")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(left, 0.1)):
                        await self._changed.wait()

    async def wait_for_replies(
        self, chat_id: int, count: int, timeout_s: float = 5.0
    ) -> list[dict[str, Any]]:
        """The next ``count`` messages the bot sends to ``chat_id`` that no earlier wait returned."""
        start = self._read_cursor[chat_id]
        try:
            await self.wait_until(lambda: len(self.sent_to(chat_id)) >= start + count, timeout_s)
        except TimeoutError:
            got = [m.get("text") or m.get("caption") for m in self.sent_to(chat_id)[start:]]
            raise TimeoutError(f"chat {chat_id}: wanted {count} replies, got {got}") from None
        self._read_cursor[chat_id] = start + count
        return self.sent_to(chat_id)[start : start + count]

    async def wait_for_reply(self, chat_id: int, timeout_s: float = 5.0) -> dict[str, Any]:
        """The next message the bot sends to ``chat_id``."""
        return (await self.wait_for_replies(chat_id, 1, timeout_s))[0]

    async def wait_confirmed(self, update: dict[str, Any], timeout_s: float = 5.0) -> None:
        """Wait until the bot has confirmed (offset past it, or webhook 2xx) the update."""
        uid = update["update_id"]
        await self.wait_until(
            lambda: self.confirmed_offset > uid and all(u.update["update_id"] != uid for u in self._pending),
            timeout_s,
        )

    def unread(self, chat_id: int) -> list[dict[str, Any]]:
        return self.sent_to(chat_id)[self._read_cursor[chat_id] :]


# ---- request parsing and validation helpers ----------------------------------------------------


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError as e:
                raise ApiError(400, "Bad Request: can't parse JSON") from e
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: parameters must be an object")
            params.update(body)
            return params
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    params[part.name] = bytes(await part.read())
                else:
                    params[part.name] = await part.text()
        else:
            params.update(dict(await request.post()))  # type: ignore[arg-type]
    for key in JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except ValueError as e:
                raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from e
    # A file sent by upload comes as "attach://name" pointing at another multipart field.
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = params.get(value[len("attach://") :], value)
    return params


def _check_parse_mode(mode: Any) -> None:
    if mode is not None and mode not in ("HTML", "Markdown", "MarkdownV2"):
        raise ApiError(400, "Bad Request: unsupported parse_mode")


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list):
            raise ApiError(
                400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        for row in rows:
            for b in row if isinstance(row, list) else [None]:
                if not isinstance(b, dict) or not b.get("text"):
                    raise ApiError(400, 'Bad Request: can\'t find field "text"')
                data = b.get("callback_data")
                if data is None and not (b.get("url") or b.get("switch_inline_query") is not None):
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                    )
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not rows:
            raise ApiError(400, "Bad Request: keyboard must be non-empty")
        for row in rows:
            for b in row if isinstance(row, list) else [None]:
                text = b if isinstance(b, str) else b.get("text") if isinstance(b, dict) else None
                if not text:
                    raise ApiError(400, 'Bad Request: can\'t find field "text"')
                if isinstance(b, dict) and b.get("request_contact") and b.get("request_location"):
                    raise ApiError(400, "Bad Request: a button can't request contact and location")
        return markup
    if markup.get("remove_keyboard") is True or "force_reply" in markup:
        return markup
    raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")


def _public(msg: dict[str, Any]) -> dict[str, Any]:
    """A message as Telegram returns it: only an inline keyboard shows in ``reply_markup`` (the
    record keeps reply keyboards too, for transcripts)."""
    markup = msg.get("reply_markup")
    if markup is None or "inline_keyboard" in markup:
        return {k: v for k, v in msg.items() if k != "parse_mode"}
    return {k: v for k, v in msg.items() if k not in ("reply_markup", "parse_mode")}


def _photo_size(stored: StoredFile, width: int = 1280, height: int = 960) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": width,
        "height": height,
        "file_size": stored.size,
    }


def _allowed(update: dict[str, Any], allowed: list[str] | None) -> bool:
    if not allowed:
        return True  # Telegram: empty list means "all types except a few opt-in ones"
    return any(k in update for k in allowed)


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _int(v: Any, default: int) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _float(v: Any, default: float) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def _bool(v: Any) -> bool:
    return v is True or str(v).lower() in ("true", "1")


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"<{len(v)} bytes>" if isinstance(v, bytes) else v) for k, v in params.items()}


# ---- control API for other processes ------------------------------------------------------------


def _control_routes(app: web.Application, fake: FakeBotApi) -> None:
    """``/_fake/…``: inject updates, read the record, change limits and faults.

    POST /_fake/updates   {"kind": "text", "chat_id": 1, "text": "…"} or a list of such; kinds:
                          text, contact, location, photo (data_b64), voice (data_b64, duration),
                          callback (message_id, data, check). Answers the created updates.
    GET  /_fake/calls?since=N&method=M   the recorded calls from index N
    GET  /_fake/messages?since=N&chat_id=C   what the bot sent (index N into all bot messages)
    GET  /_fake/state     offsets, pending count, webhook, injection times
    POST /_fake/limits    fields of Limits;  POST /_fake/fail  {"method", "code", "retry_after", "times"}
    POST /_fake/chats     {"chat_id", "chat_type", "title"}; POST /_fake/block {"chat_id"}
    """

    def one(spec: dict[str, Any]) -> dict[str, Any]:
        kind = spec.pop("kind")
        chat_id = int(spec.pop("chat_id"))
        if kind == "text":
            return fake.send_text(chat_id, spec.pop("text"), **spec)
        if kind == "contact":
            return fake.share_contact(chat_id, spec.pop("phone"), **spec)
        if kind == "location":
            return fake.send_location(chat_id, spec.pop("latitude"), spec.pop("longitude"), **spec)
        if kind == "photo":
            return fake.send_photo(chat_id, base64.b64decode(spec.pop("data_b64")), **spec)
        if kind == "voice":
            return fake.send_voice(chat_id, base64.b64decode(spec.pop("data_b64")), **spec)
        if kind == "callback":
            return fake.press_button(chat_id, int(spec.pop("message_id")), spec.pop("data"), **spec)
        raise ValueError(f"unknown kind {kind!r}")

    async def updates(request: web.Request) -> web.Response:
        body = await request.json()
        specs = body if isinstance(body, list) else [body]
        try:
            made = [one(dict(s)) for s in specs]
        except (KeyError, TypeError, ValueError) as e:
            return web.json_response({"ok": False, "error": str(e)}, status=400)
        await fake._notify()
        return web.json_response({"ok": True, "result": made})

    async def calls(request: web.Request) -> web.Response:
        since = _int(request.query.get("since"), 0)
        method = request.query.get("method")
        rows = [asdict(c) for c in fake.calls[since:] if method is None or c.method == method]
        return web.json_response({"ok": True, "result": rows, "next": len(fake.calls)}, dumps=_dumps)

    async def messages(request: web.Request) -> web.Response:
        since = _int(request.query.get("since"), 0)
        chat = request.query.get("chat_id")
        rows = [m for m in fake.bot_messages[since:] if chat is None or str(m["chat"]["id"]) == chat]
        return web.json_response({"ok": True, "result": rows, "next": len(fake.bot_messages)})

    async def state(request: web.Request) -> web.Response:
        w = fake.webhook
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "confirmed_offset": fake.confirmed_offset,
                    "pending": fake.pending_count,
                    "webhook": None
                    if w is None
                    else {"url": w.url, "attempts": w.attempts, "last_error": w.last_error},
                    "calls": len(fake.calls),
                    "bot_messages": len(fake.bot_messages),
                    "injected_at": {str(k): v for k, v in fake._injected_at.items()},
                    "now": time.monotonic(),
                },
            }
        )

    async def limits(request: web.Request) -> web.Response:
        body = await request.json()
        for k, v in body.items():
            if not hasattr(fake.limits, k):
                return web.json_response({"ok": False, "error": f"unknown limit {k}"}, status=400)
            setattr(fake.limits, k, v)
        fake._buckets.clear()
        return web.json_response({"ok": True, "result": asdict(fake.limits)})

    async def fail(request: web.Request) -> web.Response:
        b = await request.json()
        fake.fail_next(
            b["method"],
            code=b.get("code", 429),
            retry_after=b.get("retry_after"),
            times=b.get("times", 1),
            description=b.get("description"),
        )
        return web.json_response({"ok": True})

    async def chats(request: web.Request) -> web.Response:
        b = await request.json()
        chat = fake.add_chat(int(b["chat_id"]), chat_type=b.get("chat_type", "private"), title=b.get("title"))
        return web.json_response({"ok": True, "result": chat})

    async def block(request: web.Request) -> web.Response:
        fake.block(int((await request.json())["chat_id"]))
        return web.json_response({"ok": True})

    app.router.add_post("/_fake/updates", updates)
    app.router.add_get("/_fake/calls", calls)
    app.router.add_get("/_fake/messages", messages)
    app.router.add_get("/_fake/state", state)
    app.router.add_post("/_fake/limits", limits)
    app.router.add_post("/_fake/fail", fail)
    app.router.add_post("/_fake/chats", chats)
    app.router.add_post("/_fake/block", block)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str, ensure_ascii=False)


# ---- CLI ----------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    limits = Limits(enabled=not args.no_limits)
    fake = FakeBotApi(token=args.token, host=args.host, port=args.port, limits=limits)
    await fake.start()
    # The one line a parent process reads to learn the port (useful with --port 0).
    print(
        json.dumps(
            {
                "base_url": fake.base_url,
                "base_file_url": fake.base_file_url,
                "control_url": fake.control_url,
                "token": fake.token,
                "port": fake.port,
            }
        ),
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.botapi", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--no-limits", action="store_true", help="switch Telegram's flood limits off")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
