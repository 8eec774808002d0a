"""One live service for the fuzz tests: ``python -m bot`` in webhook mode (which also serves the web
chat) against the fake Bot API server, which runs on an event loop in a background thread so the
hypothesis tests themselves can stay synchronous."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench.harness import BotProcess, fake_server, seed_staff, snapshot, workdir, write_config  # noqa: E402
from tests.fakes.botapi_control import ControlledBotApi  # noqa: E402

T = TypeVar("T")


@dataclass
class Live:
    """The running service and the loop that owns the fake server."""

    loop: asyncio.AbstractEventLoop
    fake: ControlledBotApi
    bot: BotProcess
    db_url: str

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 60) -> T:
        """Run ``coro`` on the fake server's loop (where the fake's state may be touched)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def snapshot(self) -> dict[str, Any]:
        return self.run(snapshot(self.db_url))

    @property
    def url(self) -> str:
        return self.bot.base_url


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-botapi", daemon=True)
    thread.start()
    wd = workdir("fuzz-")
    url = f"sqlite+aiosqlite:///{wd / 'service.db'}"
    cm = fake_server()

    async def up() -> tuple[ControlledBotApi, BotProcess]:
        fake = await cm.__aenter__()
        await seed_staff(url, fake)
        bot = BotProcess(fake, url, write_config(wd), mode="webhook", log_path=wd / "bot.log")
        await bot.start()
        return fake, bot

    fake, bot = asyncio.run_coroutine_threadsafe(up(), loop).result(120)
    try:
        yield Live(loop, fake, bot, url)
    finally:
        asyncio.run_coroutine_threadsafe(bot.stop(), loop).result(60)
        asyncio.run_coroutine_threadsafe(cm.__aexit__(None, None, None), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
