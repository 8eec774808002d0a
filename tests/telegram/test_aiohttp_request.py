"""AiohttpRequest: a real ``telegram.Bot`` on it against the fake Bot API and a few raw servers (one
that records requests, one that never answers, one that never reads). Where it matters the same
calls go through PTB's own HTTPXRequest, and both must send the same and fail the same way."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ReplyKeyboardRemove
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest

from bot.telegram.aiohttp_request import POOL_TIMEOUT_MESSAGE, AiohttpRequest, builder_requests, use_aiohttp
from tests.fakes.botapi import FakeBotApi

CHAT = 6001
TOKEN = "42:raw-server-token"
RequestClass = Callable[..., BaseRequest]


def make_bot(base: str, cls: RequestClass = AiohttpRequest, token: str = TOKEN, **kw: Any) -> Bot:
    return Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=cls(**kw),
        get_updates_request=cls(**kw),
    )


def fake_bot(fake: FakeBotApi, cls: RequestClass = AiohttpRequest, **kw: Any) -> Bot:
    return make_bot(fake.base_url.removesuffix("/bot"), cls, fake.token, **kw)


# ---- small servers ---------------------------------------------------------------------------


@dataclass
class Seen:
    """One request as a raw server received it."""

    method: str
    path: str
    headers: dict[str, str]
    content_type: str
    fields: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)
    # (name, Content-Disposition, Content-Type of a file part, body)


@dataclass
class RawServer:
    """An aiohttp server on 127.0.0.1 that records every request; ``silent`` ones never answer."""

    silent: bool = False
    redirect_to: str | None = None  # answer 302 to every other path
    seen: list[Seen] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    base: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        seen = Seen(request.method, request.path, dict(request.headers), request.content_type)
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                assert isinstance(part, aiohttp.BodyPartReader) and part.name is not None
                file_type = part.headers.get("Content-Type") if part.filename is not None else None
                seen.fields.append(
                    (part.name, part.headers["Content-Disposition"], file_type, bytes(await part.read()))
                )
        elif request.content_type == "application/x-www-form-urlencoded":
            seen.fields = [(k, "", None, str(v).encode()) for k, v in (await request.post()).items()]
        self.seen.append(seen)
        self.arrived.set()
        if self.redirect_to is not None and request.path != self.redirect_to:
            raise web.HTTPFound(self.redirect_to)
        if self.silent:
            await asyncio.Event().wait()
        chat = {"id": CHAT, "type": "private", "first_name": "用户"}
        return web.json_response({"ok": True, "result": {"message_id": 1, "date": 0, "chat": chat}})


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[..., Any]]:
    runners: list[web.AppRunner] = []

    async def start(**kw: Any) -> RawServer:
        server = RawServer(**kw)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", server.handle)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        server.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


class _Deaf(asyncio.Protocol):
    """Accepts a connection and reads nothing until ``listen()``: an upload stalls once the socket
    buffers are full."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.pause_reading()

    def listen(self) -> None:
        assert self.transport is not None
        self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


def me(result: object) -> dict[str, Any]:
    assert isinstance(result, dict)
    return result


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- against the fake Bot API ----------------------------------------------------------------


async def test_get_me_send_message_and_get_updates(fake: FakeBotApi) -> None:
    fake.add_chat(CHAT)
    async with fake_bot(fake) as bot:  # initialize() calls getMe
        assert bot.username == fake.bot_username
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok|1")]])
        msg = await bot.send_message(CHAT, "你好 & a=b+c %20", reply_markup=markup)
        sent = fake.sent_to(CHAT)[-1]
        assert (msg.message_id, msg.text, msg.reply_markup) == (
            sent["message_id"],
            "你好 & a=b+c %20",
            markup,
        )
        assert sent["reply_markup"] == {"inline_keyboard": [[{"text": "好", "callback_data": "ok|1"}]]}
        u = fake.send_text(CHAT, "在吗")
        updates = await bot.get_updates(timeout=1)  # through the getUpdates request
        assert [(x.update_id, x.message and x.message.text) for x in updates] == [(u["update_id"], "在吗")]


async def test_send_photo_bytes_arrive_as_an_upload(fake: FakeBotApi) -> None:
    fake.add_chat(CHAT)
    data = bytes(range(256)) * 400  # 100 KiB: more than one 64 KiB write
    async with fake_bot(fake) as bot:
        msg = await bot.send_photo(CHAT, data, caption="现场照片")
    stored = fake.files[msg.photo[-1].file_id]
    assert stored.data == data
    assert fake.sent_to(CHAT)[-1]["caption"] == "现场照片" == msg.caption
    assert fake.calls_of("sendPhoto")[-1].params["photo"] == f"<{len(data)} bytes>"


async def test_an_open_file_handle_is_sent_whole_each_time_and_left_open(fake: FakeBotApi) -> None:
    fake.add_chat(CHAT)
    with tempfile.TemporaryFile() as fh:
        fh.write(b"\xff\xd8 jpeg from a file handle")
        async with fake_bot(fake) as bot:
            for _ in range(2):  # the first read leaves the handle at its end
                upload = InputFile(fh, filename="p.jpg", read_file_handle=False)
                msg = await bot.send_photo(CHAT, upload)
                assert fake.files[msg.photo[-1].file_id].data == b"\xff\xd8 jpeg from a file handle"
        assert not fh.closed


async def test_get_file_and_download(fake: FakeBotApi) -> None:
    voice = fake.send_voice(CHAT, b"OggS-voice-bytes", duration=2)["message"]["voice"]
    big = fake.send_voice(CHAT, b"OggS", duration=900, declared_size=21 << 20)["message"]["voice"]
    async with fake_bot(fake) as bot:
        f = await bot.get_file(voice["file_id"])
        assert await f.download_as_bytearray() == bytearray(b"OggS-voice-bytes")
        with pytest.raises(BadRequest, match="too big"):
            await bot.get_file(big["file_id"])
    assert fake.calls_of("download")[-1].params == {"file_path": fake.files[voice["file_id"]].file_path}


@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")  # PTB's own, for RetryAfter
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown chat", BadRequest),
        ("blocked", Forbidden),
        ("flood", RetryAfter),
        ("bad gateway", NetworkError),
        ("wrong token", InvalidToken),
    ],
)
async def test_bot_api_errors_raise_what_httpx_raises(
    fake: FakeBotApi, case: str, expected: type[TelegramError]
) -> None:
    async def attempt(cls: RequestClass) -> TelegramError:
        fake.add_chat(CHAT)
        if case == "blocked":
            fake.block(CHAT)
        elif case == "flood":
            fake.fail_next("sendMessage", code=429, retry_after=7)
        elif case == "bad gateway":
            fake.fail_next("sendMessage", code=502)
        chat = CHAT + 1 if case == "unknown chat" else CHAT
        token = "1:wrong" if case == "wrong token" else fake.token
        bot = make_bot(fake.base_url.removesuffix("/bot"), cls, token=token)
        async with bot.request:
            with pytest.raises(TelegramError) as caught:
                await bot.send_message(chat, "hi")
        return caught.value

    ours, theirs = await attempt(AiohttpRequest), await attempt(HTTPXRequest)
    assert type(ours) is type(theirs) is expected
    assert str(ours) == str(theirs)
    if case == "flood":
        assert "Retry in 7 seconds" in str(ours)


async def test_application_builder_takes_the_pair(fake: FakeBotApi) -> None:
    fake.add_chat(CHAT)
    request, get_updates = builder_requests(8)
    assert request is not get_updates and request.read_timeout == get_updates.read_timeout == 5.0
    builder = ApplicationBuilder().token(fake.token).base_url(fake.base_url).updater(None)
    app = use_aiohttp(builder.base_file_url(fake.base_file_url), pool_size=8, read_timeout=7.0).build()
    async with app:
        assert isinstance(app.bot.request, AiohttpRequest) and app.bot.request.read_timeout == 7.0
        await app.bot.send_message(CHAT, "经由 Application")
    assert fake.sent_to(CHAT)[-1]["text"] == "经由 Application"


async def test_lazy_start_shutdown_and_restart(fake: FakeBotApi) -> None:
    request = AiohttpRequest(read_timeout=3.5)
    url = f"{fake.base_url}{fake.token}/getMe"
    assert request.read_timeout == 3.5
    assert me(await request.post(url))["username"] == fake.bot_username
    await request.shutdown()
    await request.shutdown()  # twice is fine
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(url)
    async with request:  # initialize() opens it again
        assert me(await request.post(url))["is_bot"] is True


# ---- against raw servers ---------------------------------------------------------------------


async def test_same_bytes_on_the_wire_as_httpx(raw_server: Callable[..., Any]) -> None:
    """Form fields, JSON-encoded markup, and an upload with a name that needs escaping."""
    got: dict[str, list[Seen]] = {}
    for cls in (HTTPXRequest, AiohttpRequest):
        server: RawServer = await raw_server()
        bot = make_bot(server.base, cls)
        async with bot.request:
            await bot.send_message(CHAT, "第1行\n& = + ?", reply_markup=ReplyKeyboardRemove())
            await bot.send_document(
                CHAT, b"%PDF-1.4\n" + bytes(70000), filename='报告 "终"\\.pdf', caption="说明"
            )
            await bot.send_chat_action(CHAT, "typing")
        got[cls.__name__] = server.seen
    ours, theirs = got["AiohttpRequest"], got["HTTPXRequest"]
    assert (
        [s.path for s in ours]
        == [s.path for s in theirs]
        == [
            f"/bot{TOKEN}/sendMessage",
            f"/bot{TOKEN}/sendDocument",
            f"/bot{TOKEN}/sendChatAction",
        ]
    )
    for a, b in zip(ours, theirs, strict=True):
        assert (a.method, a.content_type, a.fields) == (b.method, b.content_type, b.fields)
        assert a.headers["User-Agent"] == b.headers["User-Agent"] == BaseRequest.USER_AGENT
    upload = {name: (disposition, ctype) for name, disposition, ctype, _ in ours[1].fields if ctype}
    assert list(upload.values()) == [
        ('form-data; name="document"; filename="报告 %22终%22\\\\.pdf"', "application/pdf")
    ]


async def test_redirects_are_not_followed(raw_server: Callable[..., Any]) -> None:
    errors: dict[str, NetworkError] = {}
    for cls in (HTTPXRequest, AiohttpRequest):
        server: RawServer = await raw_server(redirect_to="/elsewhere")
        bot = make_bot(server.base, cls)
        async with bot.request:
            with pytest.raises(NetworkError) as caught:
                await bot.get_me()
        errors[cls.__name__] = caught.value
        assert [s.path for s in server.seen] == [f"/bot{TOKEN}/getMe"]
    assert str(errors["AiohttpRequest"]) == str(errors["HTTPXRequest"])
    assert str(errors["AiohttpRequest"]).startswith("Found (302)")


async def test_closed_port_is_a_network_error() -> None:
    bot = make_bot(f"http://127.0.0.1:{closed_port()}")
    async with bot.request:
        with pytest.raises(NetworkError) as caught:
            await bot.get_me()
    assert not isinstance(caught.value, TimedOut)
    assert str(caught.value).startswith("aiohttp.ClientConnectorError")


async def test_no_answer_times_out_with_the_default_or_the_given_read_timeout(
    raw_server: Callable[..., Any],
) -> None:
    server: RawServer = await raw_server(silent=True)
    async with asyncio.timeout(60):  # only a guard against hanging
        bot = make_bot(server.base, read_timeout=0.2)  # the default applies
        async with bot.request:
            with pytest.raises(TimedOut) as caught:
                await bot.get_me()
        assert str(caught.value) == "Timed out"
        bot = make_bot(server.base, read_timeout=None)  # never, unless the call says otherwise
        async with bot.request:
            with pytest.raises(TimedOut):
                await bot.get_me(read_timeout=0.2)
    assert len(server.seen) == 2


async def test_full_pool_times_out_without_sending(raw_server: Callable[..., Any]) -> None:
    server: RawServer = await raw_server(silent=True)
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.1, read_timeout=None)
    url = f"{server.base}/bot{TOKEN}/getMe"
    async with asyncio.timeout(60), request:
        first = asyncio.create_task(request.post(url))
        await server.arrived.wait()
        with pytest.raises(TimedOut) as caught:
            await request.post(url)
        assert str(caught.value) == POOL_TIMEOUT_MESSAGE
        assert len(server.seen) == 1  # the second was never sent
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        with pytest.raises(TimedOut) as caught:  # the slot is free again: sent, then no answer
            await request.post(url, read_timeout=0.2)
        assert str(caught.value) == "Timed out" and len(server.seen) == 2


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
async def test_stalled_upload_times_out_on_the_media_write_timeout() -> None:
    loop = asyncio.get_running_loop()
    deaf = _Deaf()
    server = await loop.create_server(lambda: deaf, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with asyncio.timeout(60):  # only a guard against hanging
            bot = make_bot(base, media_write_timeout=0.3, read_timeout=None)
            before = open_fds()
            async with bot.request:
                with pytest.raises(TimedOut) as caught:
                    await bot.send_document(CHAT, bytes(32 << 20), filename="big.bin")
                assert isinstance(caught.value.__cause__, TimeoutError)
            # The client's socket is closed at once, as httpx closes it; only the deaf server's
            # end is still open (aiohttp alone would wait for the peer to take the rest).
            assert open_fds() <= before + 1
            deaf.listen()
            await deaf.lost.wait()
    finally:
        server.close()
