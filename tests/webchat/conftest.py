"""The web chat on a real aiohttp server (127.0.0.1), with the echo stand-in for the conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from webchat_browser import CHROMIUM, LAUNCH_ARGS
from webchat_helpers import MAX_BODY, EchoBot

from bot.http import build_web_app
from bot.webchat import WebChat


@pytest.fixture
def echo() -> EchoBot:
    return EchoBot()


@pytest.fixture
def webchat(echo: EchoBot, tmp_path: Path) -> WebChat:
    return WebChat(echo, max_text=4000, data_dir=tmp_path, max_body_bytes=MAX_BODY, burst=8)


@pytest.fixture
async def client(webchat: WebChat) -> AsyncIterator[TestClient]:
    app = build_web_app(MAX_BODY)
    webchat.install(app)
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: `make webchat-test-deps` installs Debian's package")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        await b.close()
