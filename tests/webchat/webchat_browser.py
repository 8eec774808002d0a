"""Driving the page in headless Chromium: Debian's browser, the service's app on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.http import build_web_app
from bot.webchat import WebChat

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
    # A fake microphone (a beep) so the hold-to-talk button records real audio.
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]  # fmt: skip


class Site:
    """The service's aiohttp app with the web chat, on 127.0.0.1; can be stopped and started again."""

    def __init__(self, chat: WebChat) -> None:
        self.chat = chat
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = build_web_app(1 << 20)
        self.chat.install(app)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@asynccontextmanager
async def phone_page(browser: Any, url: str) -> AsyncIterator[Any]:
    """A phone-sized page in Shangcheng (allowed to share its location) at ``url``; fails the test
    if the page logged an error or threw."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="zh-CN",
        geolocation={"latitude": 30.2500, "longitude": 120.1700}, permissions=["geolocation"],
    )  # fmt: skip
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(url)
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], errors
