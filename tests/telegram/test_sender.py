"""TelegramSender against the fake Bot API: limits kept, 429 waited out, failures classified."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.config import RateLimitSection
from bot.senders import DeliveryError
from bot.telegram.sender import TelegramSender
from handlers.messages import Button, ButtonKind, Reply
from tests.fakes.botapi import FakeBotApi, Limits

CHAT = 7001
GROUP = -100555


@pytest.fixture
async def strict_fake() -> AsyncIterator[FakeBotApi]:
    """No burst allowance: sends in a chat closer than ~0.9 s get a 429 (network jitter allowed)."""
    async with FakeBotApi(
        limits=Limits(per_chat_per_s=1.1, per_chat_burst=1, group_per_min=60, group_burst=1)
    ) as server:
        server.add_chat(CHAT)
        server.add_chat(GROUP, chat_type="group")
        yield server


async def make_bot(fake: FakeBotApi) -> Bot:
    bot = Bot(
        fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=HTTPXRequest(connection_pool_size=8),
    )
    await bot.initialize()
    return bot


async def test_per_chat_limit_kept_without_a_single_429() -> None:
    # Telegram's own per-chat shape, as the fake enforces it: a burst of 3, then about 1 a second.
    async with FakeBotApi(limits=Limits(per_chat_per_s=1.1, per_chat_burst=3)) as fake:
        fake.add_chat(CHAT)
        bot = await make_bot(fake)
        sender = TelegramSender(bot, RateLimitSection())
        for n in range(6):
            await sender.send(str(CHAT), Reply(f"消息{n}"))
        sends = fake.calls_of("sendMessage")
        assert [c.status for c in sends] == [200] * 6
        assert sends[2].at - sends[0].at < 0.5  # a turn's two or three messages go out together
        assert sends[5].at - sends[0].at >= 2.7  # then paced at 1 per second
        await bot.shutdown()


async def test_group_limit_then_429_is_waited_out(strict_fake: FakeBotApi) -> None:
    bot = await make_bot(strict_fake)
    # The sender thinks groups allow 600/min; the fake allows 1/s with no burst: it must obey retry_after.
    sender = TelegramSender(bot, RateLimitSection(per_chat_per_s=100, per_group_per_min=600))
    strict_fake.limits.per_chat_burst = 100
    strict_fake.limits.per_chat_per_s = 100
    started = time.monotonic()
    for n in range(3):
        await sender.send(str(GROUP), Reply(f"群消息{n}"))
    statuses = [c.status for c in strict_fake.calls_of("sendMessage")]
    assert statuses == [200, 429, 200, 429, 200]
    assert time.monotonic() - started >= 1.9  # each 429 said "retry after 1"
    assert [m["text"] for m in strict_fake.sent_to(GROUP)] == [f"群消息{n}" for n in range(3)]
    await bot.shutdown()


async def test_network_errors_retried_then_reported(fake_loose: FakeBotApi) -> None:
    bot = await make_bot(fake_loose)
    sender = TelegramSender(bot, RateLimitSection(per_chat_per_s=100), network_backoff_s=0.01)
    fake_loose.fail_next("sendMessage", code=502, times=2)
    assert await sender.send(str(CHAT), Reply("过两次错")) is not None
    fake_loose.fail_next("sendMessage", code=500, times=10)
    with pytest.raises(DeliveryError) as err:
        await sender.send(str(CHAT), Reply("一直错"))
    assert not err.value.permanent
    assert [m["text"] for m in fake_loose.sent_to(CHAT)] == ["过两次错"]
    await bot.shutdown()


async def test_unreachable_chats_are_permanent_failures(fake_loose: FakeBotApi) -> None:
    bot = await make_bot(fake_loose)
    sender = TelegramSender(bot, RateLimitSection())
    with pytest.raises(DeliveryError) as unknown:
        await sender.send("424242", Reply("你好"))
    assert unknown.value.permanent and "chat not found" in str(unknown.value).lower()
    fake_loose.block(CHAT)
    with pytest.raises(DeliveryError) as blocked:
        await sender.send(str(CHAT), Reply("你好"))
    assert blocked.value.permanent and "blocked" in str(blocked.value)
    await bot.shutdown()


async def test_photo_from_disk_and_by_file_id_with_keyboard(fake_loose: FakeBotApi, tmp_path: Path) -> None:
    bot = await make_bot(fake_loose)
    sender = TelegramSender(bot, RateLimitSection(per_chat_per_s=100))
    jpeg = tmp_path / "done.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff" + b"p" * 3000)
    buttons = ((Button("发送位置", kind=ButtonKind.SHARE_LOCATION),),)
    first_id = await sender.send(str(CHAT), Reply("已办结", photo_ref=str(jpeg), buttons=buttons))
    sent = fake_loose.sent_to(CHAT)[-1]
    assert sent["message_id"] == int(first_id or 0) and sent["caption"] == "已办结"
    assert sent["reply_markup"]["keyboard"][0][0]["request_location"] is True
    stored = fake_loose.files[sent["photo"][0]["file_id"]]
    assert stored.data == jpeg.read_bytes()
    await sender.send(str(CHAT), Reply("再看一次", photo_ref=stored.file_id))
    assert fake_loose.sent_to(CHAT)[-1]["photo"][0]["file_id"] == stored.file_id
    await bot.shutdown()


@pytest.fixture
async def fake_loose() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=Limits(enabled=False)) as server:
        server.add_chat(CHAT)
        yield server
