"""Webhook mode: the fake Bot API POSTs updates to the service's aiohttp server like Telegram does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram_helpers import USER, EchoBot, section

from bot.http import HttpServer, build_web_app
from bot.telegram import TelegramChannel
from bot.telegram.channel import MAX_WEBHOOK_BODY, SECRET_HEADER
from tests.fakes.botapi import FakeBotApi

SECRET = "s3cret-Token_for-tests"
PATH = "/telegram/webhook"


@pytest.fixture
async def service(fake: FakeBotApi, echo: EchoBot) -> AsyncIterator[tuple[HttpServer, TelegramChannel]]:
    web_app = build_web_app(4 << 20)
    server = HttpServer(web_app, "127.0.0.1", 0)
    cfg = section(fake, mode="webhook", webhook_secret=SECRET, webhook_path=PATH)
    channel = TelegramChannel(cfg, echo)
    channel.mount(web_app)
    await server.start()
    cfg.webhook_url = f"http://127.0.0.1:{server.port}{PATH}"
    await channel.start()
    yield server, channel
    await channel.stop()
    await server.stop()


def update_json(update_id: int, text: str = "伪造") -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "text": text,
            "chat": {"id": USER, "type": "private", "first_name": "x"},
            "from": {"id": USER, "is_bot": False, "first_name": "x"},
        },
    }


async def post(server: HttpServer, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"http://127.0.0.1:{server.port}{PATH}", data=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_updates_arrive_by_webhook_with_the_secret(
    fake: FakeBotApi, echo: EchoBot, service: tuple[HttpServer, TelegramChannel]
) -> None:
    assert fake.webhook is not None and fake.webhook.secret_token == SECRET
    assert fake.webhook.allowed_updates == ["message", "callback_query"]
    u = fake.send_text(USER, "/start")
    first, _ = await fake.wait_for_replies(USER, 2)
    await fake.wait_confirmed(u)
    fake.press_button(USER, first["message_id"], "menu|help")
    assert (await fake.wait_for_reply(USER))["text"] == "pressed menu|help"
    assert [i.callback_data for i in echo.seen] == [None, "menu|help"]
    assert all(q["answered"] for q in fake.callback_queries.values())


async def test_forged_or_missing_secret_is_refused_and_nothing_processed(
    fake: FakeBotApi, echo: EchoBot, service: tuple[HttpServer, TelegramChannel]
) -> None:
    server, _ = service
    body = json.dumps(update_json(9001)).encode()
    ctype = {"Content-Type": "application/json"}
    assert (await post(server, body, ctype))[0] == 401
    assert (await post(server, body, {**ctype, SECRET_HEADER: "wrong"}))[0] == 403
    assert (await post(server, body, {**ctype, SECRET_HEADER: SECRET[:-1]}))[0] == 403
    assert (await post(server, body, {**ctype, SECRET_HEADER: "秘密"}))[0] == 403
    assert echo.seen == [] and fake.sent_to(USER) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00binary",
        b"[1, 2]",
        b'{"update_id": "x"}',
        b'{"update_id": 5, "message": {"text": 3}}',
        b"",
    ],
)
async def test_malformed_bodies_get_400(
    fake: FakeBotApi, echo: EchoBot, body: bytes, service: tuple[HttpServer, TelegramChannel]
) -> None:
    server, _ = service
    status, answer = await post(server, body, {SECRET_HEADER: SECRET, "Content-Type": "application/json"})
    assert (status, answer["ok"]) == (400, False)
    assert "Traceback" not in json.dumps(answer)
    assert echo.seen == []


async def test_oversize_body_gets_413(echo: EchoBot, service: tuple[HttpServer, TelegramChannel]) -> None:
    server, _ = service
    big = json.dumps(update_json(9002, "a" * MAX_WEBHOOK_BODY)).encode()
    status, _ = await post(server, big, {SECRET_HEADER: SECRET, "Content-Type": "application/json"})
    assert status == 413 and echo.seen == []


async def test_a_valid_post_is_processed_once_and_answered_after_the_turn(
    fake: FakeBotApi, echo: EchoBot, service: tuple[HttpServer, TelegramChannel]
) -> None:
    server, _ = service
    fake.add_chat(USER)
    status, _ = await post(
        server,
        json.dumps(update_json(9003, "直接")).encode(),
        {SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )
    assert status == 200
    # The turn was handled when the 200 came back (a crash before it means re-delivery); its reply
    # goes out from the chat's send queue, durable in the outbox where a real conversation runs.
    assert [i.update_key for i in echo.seen] == ["tg:9003"]
    await fake.wait_for_replies(USER, 1)
    assert [m["text"] for m in fake.sent_to(USER)] == ["echo 直接"]


async def test_telegram_redelivers_until_the_service_is_up(fake: FakeBotApi, echo: EchoBot) -> None:
    web_app = build_web_app(1 << 20)
    server = HttpServer(web_app, "127.0.0.1", 0)
    cfg = section(fake, mode="webhook", webhook_secret=SECRET, webhook_path=PATH)
    channel = TelegramChannel(cfg, echo)
    channel.mount(web_app)
    await server.start()
    try:
        # The webhook is registered, the channel is not started yet: the endpoint answers 503.
        fake.webhook_retry_s = 0.05
        await fake._m_setwebhook({"url": f"http://127.0.0.1:{server.port}{PATH}", "secret_token": SECRET})
        u = fake.send_text(USER, "早到的消息")
        await fake.wait_until(lambda: fake.webhook is not None and fake.webhook.attempts >= 2)
        assert echo.seen == [] and fake.pending_count == 1
        assert fake.webhook is not None and "503" in (fake.webhook.last_error or "")
        cfg.webhook_url = f"http://127.0.0.1:{server.port}{PATH}"
        await channel.start()
        assert (await fake.wait_for_reply(USER))["text"] == "echo 早到的消息"
        await fake.wait_confirmed(u)
        assert len(echo.seen) == 1
    finally:
        await channel.stop()
        await server.stop()
