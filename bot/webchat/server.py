"""The web chat's routes: the page, the WebSocket, uploads and photos, on the service's aiohttp app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from bot.config import REPO_ROOT
from bot.webchat.frames import ClientFrame, FrameError, error_frame, parse_frame
from bot.webchat.identity import chat_id_for, is_token
from bot.webchat.mailbox import Mailbox
from bot.webchat.ratelimit import TokenBucket
from bot.webchat.sender import Sockets, WebSender
from bot.webchat.texts import ERRORS, VOICE_BUSY, VOICE_FAILED, VOICE_OFF, VOICE_TOO_LONG
from bot.webchat.uploads import KINDS, UploadStore, sniff
from handlers.messages import Attachment, Channel, Inbound, Outgoing, Reply, Transcript
from speech.recognizer import AudioTooLong, RecognizerBusy, RecognizerUnavailable, SpeechError
from speech.recognizer import Transcript as Heard

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
OnInbound = Callable[[Inbound], Awaitable[list[Outgoing]]]
Router = Callable[[Outgoing], Awaitable[Any]]
OnDelivered = Callable[[dict[str, str | None]], None]
"""Told ``{outbox key: message id}`` of the replies sent directly (marks their outbox rows sent)."""
TOKEN_HEADER = "X-Chat-Token"
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Nothing outside this server: no CDN, no inline script.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


class Transcribe(Protocol):
    """A recognizer's ``transcribe`` (speech.Recognizer.transcribe fits as it is)."""

    def __call__(self, audio: bytes, *, mime: str | None = None) -> Awaitable[Heard]: ...


class WebChat:
    """The web chat. ``install(app)`` mounts it; ``sender`` is its bot.senders.Sender.

    ``on_inbound`` is the conversation (ConversationService.handle). Its replies to web chats go
    through ``sender``; replies for other channels go to ``router`` when one is given.
    """

    def __init__(
        self,
        on_inbound: OnInbound,
        transcribe: Transcribe | None = None,
        max_text: int = 4000,
        *,
        data_dir: Path | None = None,
        max_body_bytes: int = 1 << 20,
        max_voice_s: float = 120,
        router: Router | None = None,
        on_delivered: OnDelivered | None = None,
        rate_per_s: float = 1.0,
        burst: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        folder = (data_dir or REPO_ROOT / "var") / "webchat"
        self.on_inbound = on_inbound
        self.transcribe = transcribe
        self.max_text = max_text
        self.max_body_bytes = max_body_bytes
        self.max_voice_s = max_voice_s
        self.router = router
        self.on_delivered = on_delivered
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self.mailbox = Mailbox(folder / "mailbox")
        self.uploads = UploadStore(folder / "uploads")
        self.sockets = Sockets()
        self.sender = WebSender(self.sockets, self.mailbox, self.uploads)
        self._upload_buckets: dict[str, TokenBucket] = {}

    def install(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/webchat/config", self._config)
        app.router.add_post("/webchat/upload", self._upload)
        app.router.add_get("/webchat/media/{ref}", self._media)
        app.router.add_get("/webchat/static/{name}", self._static)
        app.on_shutdown.append(lambda _app: self.sockets.close_all())

    # -- HTTP ---------------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers=_HEADERS)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        # Only the files that are there, by plain name: no paths, no dot files.
        if "/" in name or name.startswith(".") or not (STATIC / name).is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name, headers=_HEADERS)

    async def _config(self, request: web.Request) -> web.Response:
        return web.json_response({
            "max_text": self.max_text,
            "max_upload_bytes": self.max_body_bytes,
            "max_voice_s": self.max_voice_s,
            "voice": self.transcribe is not None,
        })  # fmt: skip

    def _same_origin(self, request: web.Request) -> bool:
        # Another site's page must not open a chat socket or upload through a visitor's browser.
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser (tests, tools); they still need a token
        return origin.split("://", 1)[-1] == request.host

    async def _upload(self, request: web.Request) -> web.Response:
        token = request.headers.get(TOKEN_HEADER)
        if not self._same_origin(request):
            raise web.HTTPForbidden(reason="cross-origin upload")
        if not is_token(token):
            raise web.HTTPUnauthorized(reason="missing or bad chat token")
        assert token is not None
        chat_id = chat_id_for(token)
        kind = request.query.get("kind", "")
        if kind not in KINDS:
            raise web.HTTPBadRequest(reason="kind must be photo or voice")
        bucket = self._upload_buckets.setdefault(chat_id, TokenBucket(self.rate_per_s, self.burst))
        if not bucket.allow():
            raise web.HTTPTooManyRequests(reason=ERRORS["rate"])
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise web.HTTPRequestEntityTooLarge(
                max_size=self.max_body_bytes, actual_size=request.content_length
            )
        data = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            data += chunk
            if len(data) > self.max_body_bytes:
                raise web.HTTPRequestEntityTooLarge(max_size=self.max_body_bytes, actual_size=len(data))
        mime = sniff(kind, bytes(data[:16]))
        if mime is None:
            raise web.HTTPUnsupportedMediaType(reason=f"not a {kind} this chat accepts")
        up = await self.uploads.save(chat_id, kind, mime, bytes(data))
        return web.json_response({"ok": True, "ref": up.ref, "mime": mime, "size": up.size})

    async def _media(self, request: web.Request) -> web.StreamResponse:
        up = self.uploads.find(request.match_info["ref"])
        if up is None or up.kind != "photo":
            raise web.HTTPNotFound()
        return web.FileResponse(
            up.path, headers={**_HEADERS, "Content-Type": up.mime, "Cache-Control": "private, max-age=86400"}
        )

    # -- WebSocket ----------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("chat")
        if not self._same_origin(request):
            raise web.HTTPForbidden(reason="cross-origin socket")
        if not is_token(token):
            raise web.HTTPBadRequest(reason="missing or bad chat token")
        assert token is not None
        chat_id = chat_id_for(token)
        # Larger messages than the body limit close the socket (1009); smaller ones that are still
        # too big for a frame get an error frame and the connection stays.
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=self.max_body_bytes)
        await ws.prepare(request)
        async with self.mailbox.lock(chat_id):
            self.sockets.add(chat_id, ws)
            next_seq, pending = await self.mailbox.pending(chat_id)
            # `next` lets the page notice a server whose mailbox started again from 1.
            await ws.send_json({"type": "hello", "next": next_seq, "max_text": self.max_text})
            for frame in pending:
                await ws.send_json(frame)
        session = _Session(self, ws, chat_id)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await session.on_text(msg.data)
                elif msg.type is WSMsgType.BINARY:
                    if session.bucket.allow():  # the same bucket as text frames: a flood gets no answer each
                        await session.error("binary")
                elif msg.type is WSMsgType.ERROR:
                    log.info("web chat %s: socket error %s", chat_id, ws.exception())
        finally:
            self.sockets.remove(chat_id, ws)
        return ws

    async def deliver(self, outgoing: list[Outgoing]) -> None:
        """Send what the conversation returned: web chats through the mailbox, others to the router.

        Replies sent are reported to ``on_delivered``; the outbox relay sends any others later.
        """
        sent: dict[str, str | None] = {}
        try:
            for out in outgoing:
                if out.channel is Channel.WEB:
                    external: Any = await self.sender.send(out.chat_id, out.reply)
                elif self.router is not None:
                    external = await self.router(out)
                else:
                    log.info(
                        "no router for a %s reply to chat %s; left to the outbox relay",
                        out.channel,
                        out.chat_id,
                    )
                    break
                if out.outbox_key is not None:
                    sent[out.outbox_key] = external if isinstance(external, str) else None
        finally:
            if sent and self.on_delivered is not None:
                self.on_delivered(sent)


class _Session:
    """One open socket: its rate limit and the frames it sends, handled one at a time in order."""

    def __init__(self, chat: WebChat, ws: web.WebSocketResponse, chat_id: str) -> None:
        self.chat = chat
        self.ws = ws
        self.chat_id = chat_id
        self.bucket = TokenBucket(chat.rate_per_s, chat.burst)
        self._rate_told_at = -1e9

    async def error(self, code: str, message_id: str | None = None) -> None:
        message = ERRORS[code].format(limit=self.chat.max_text)
        if not self.ws.closed:
            await self.ws.send_json(error_frame(code, message, message_id))

    async def say(self, text: str) -> None:
        await self.chat.sender.send(self.chat_id, Reply(text))

    async def on_text(self, raw: str) -> None:
        chat = self.chat
        try:
            frame = parse_frame(raw, max_text=chat.max_text, max_frame_chars=_frame_chars(chat))
        except FrameError as e:
            if self.bucket.allow():  # a flood of junk is dropped without an answer each
                await self.error(e.code, e.message_id)
            return
        if frame.type == "ack":
            assert frame.seq is not None
            await chat.mailbox.ack(self.chat_id, frame.seq)
            return
        if not self.bucket.allow():
            now = time.monotonic()
            if now - self._rate_told_at > 2:
                self._rate_told_at = now
                await self.error("rate", frame.id)
            return
        try:
            inbound = await self._inbound(frame)
        except FrameError as e:
            await self.error(e.code, e.message_id)
            return
        if inbound is not None:
            try:
                outgoing = await chat.on_inbound(inbound)
                await chat.deliver(outgoing)
            except Exception:
                log.exception("web chat %s: message %s failed", self.chat_id, frame.id)
                await self.error("busy", frame.id)
                return
        # The page keeps a message until it hears this, and sends it again after a reconnect.
        if not self.ws.closed:
            await self.ws.send_json({"type": "done", "id": frame.id})

    async def _inbound(self, f: ClientFrame) -> Inbound | None:
        chat = self.chat
        base: dict[str, Any] = {
            "channel": Channel.WEB, "chat_id": self.chat_id, "user_id": self.chat_id, "at": chat.clock(),
            "update_key": f"{self.chat_id}:{f.id}",
        }  # fmt: skip
        if f.type == "text":
            return Inbound(**base, text=f.text)
        if f.type == "button":
            return Inbound(**base, callback_data=f.data)
        if f.type == "contact":
            return Inbound(**base, phone=f.phone)
        if f.type == "location":
            return Inbound(**base, location=f.location)
        assert f.ref is not None
        up = chat.uploads.owned(self.chat_id, f.ref, f.type)
        if up is None:
            raise FrameError("bad_ref", f.id)
        if f.type == "photo":
            return Inbound(**base, text=f.text, photo=Attachment(str(up.path), up.mime, up.size))
        if chat.transcribe is None:
            await self.say(VOICE_OFF)
            return None
        try:
            audio = await asyncio.to_thread(up.path.read_bytes)
            heard = await chat.transcribe(audio, mime=up.mime)
        except AudioTooLong as e:
            await self.say(VOICE_TOO_LONG.format(limit=e.limit))
            return None
        except RecognizerBusy:
            await self.say(VOICE_BUSY)
            return None
        except RecognizerUnavailable:
            await self.say(VOICE_OFF)
            return None
        except SpeechError:
            await self.say(VOICE_FAILED)
            return None
        if not heard.text.strip():
            await self.say(VOICE_FAILED)
            return None
        voice = Attachment(str(up.path), up.mime, up.size, heard.duration_s)
        transcript = Transcript(heard.text, heard.recognizer_name, str(up.path), heard.duration_s)
        return Inbound(**base, text=heard.text, voice=voice, transcript=transcript)


def _frame_chars(chat: WebChat) -> int:
    # A text frame at the text limit, every character escaped as \uXXXX, plus the envelope.
    return chat.max_text * 6 + 1024
