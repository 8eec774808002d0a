"""The real PTB client (through TelegramChannel) against the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# `.venv/bin/pytest` (unlike `python -m pytest`) does not put the project root on sys.path, and
# the fake server lives in the `tests` package there.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from telegram_helpers import ChannelFactory, EchoBot, section  # noqa: E402

from bot.telegram import TelegramChannel  # noqa: E402
from tests.fakes.botapi import FakeBotApi, Limits  # noqa: E402


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=Limits(enabled=False), webhook_retry_s=0.1) as server:
        yield server


@pytest.fixture
def echo() -> EchoBot:
    return EchoBot()


@pytest.fixture
async def polling_channel(fake: FakeBotApi, echo: EchoBot) -> AsyncIterator[ChannelFactory]:
    started: list[TelegramChannel] = []

    async def make(**kw: object) -> TelegramChannel:
        on_inbound = kw.pop("on_inbound", echo)
        ch = TelegramChannel(section(fake), on_inbound, **kw)  # type: ignore[arg-type]
        await ch.start()
        started.append(ch)
        return ch

    yield make
    for ch in started:
        await ch.stop()
