"""The real service, as ``bot.app.build_service`` wires it, talking to the fake Bot API server.

The configuration is read the way the process reads it (config.yml plus the environment):
``TELEGRAM_TOKEN`` and ``TELEGRAM_BASE_URL`` point at the fake, ``DATABASE_URL`` at a fresh SQLite
file, ``HTTP_PORT=0``. Only what a test needs differently is changed on the loaded config: the
rate limits (the sender's flood control is tested in tests/telegram; at 1 message a second a
transcript would mostly wait), a short long-poll, the data folder, and voice off unless asked for.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from transcript_script import TgPerson, Transcript

from bot import admin_cli
from bot.app import Service, build_service
from bot.config import AppConfig, RateLimitSection, load_config
from dispatch.case import Case
from handlers.cases import CaseService
from storage.database import Database
from tests.fakes.botapi import FakeBotApi


class SteadyClock:
    """Runs at wall-clock speed from a fixed start, so dates in the texts are the same in every run;
    ``advance`` jumps ahead (a later day, a new month)."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)) -> None:
        self.start = start
        self.t0 = time.monotonic()
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return self.start + self.offset + timedelta(seconds=time.monotonic() - self.t0)

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


def service_config(fake: FakeBotApi, folder: Path, *, voice: bool = False) -> AppConfig:
    cfg = load_config(env={
        "TELEGRAM_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'service.db'}",
        "HTTP_PORT": "0",
    })  # fmt: skip
    cfg.telegram.poll_timeout_s = 1
    cfg.telegram.rate_limit = RateLimitSection(per_chat_per_s=100, overall_per_s=1000, per_group_per_min=6000)
    cfg.service.data_dir = str(folder)
    cfg.relay.interval_s = 0.2
    if not voice:
        cfg.voice.backend = "none"
    return cfg


@dataclass
class Running:
    """The started service, the fake Telegram around it, and the transcript being written."""

    service: Service
    fake: FakeBotApi
    clock: SteadyClock
    record: Transcript
    db_url: str

    @property
    def db(self) -> Database:
        db: Database = self.service.parts["db"]
        return db

    @property
    def cases(self) -> CaseService:
        cases: CaseService = self.service.parts["cases"]
        return cases

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.service.http.port}"

    def person(self, name: str, user_id: int) -> TgPerson:
        return TgPerson(self.fake, self.record, name, user_id)

    async def case(self, number: str) -> Case:
        async with self.db.uow(read_only=True) as uow:
            case = await uow.cases.get_by_number(number)
        assert case is not None, number
        return case

    async def admin(self, *argv: str) -> str:
        """``python -m bot <argv>`` (the admin CLI) against this service's database; its output."""
        out = io.StringIO()
        code = await asyncio.to_thread(admin_cli.main, list(argv), out=out, now=self.clock())
        assert code == 0, f"python -m bot {' '.join(argv)} exited {code}"
        return out.getvalue()

    async def invite(self, *argv: str) -> str:
        """An invite code from ``python -m bot invite create <argv>``."""
        return (await self.admin("invite", "create", *argv)).split()[0]


@asynccontextmanager
async def running_service(
    fake: FakeBotApi,
    folder: Path,
    record: Transcript,
    monkeypatch: pytest.MonkeyPatch,
    *,
    voice: bool = False,
) -> AsyncIterator[Running]:
    cfg = service_config(fake, folder, voice=voice)
    monkeypatch.setenv("DATABASE_URL", cfg.database.url)  # for the admin CLI, as an operator would set it
    clock = SteadyClock()
    service = await build_service(cfg, clock=clock)
    try:
        await service.start()
        yield Running(service, fake, clock, record, cfg.database.url)
    finally:
        await service.stop()


def shared_parser(cfg: Any) -> Any:
    """``bot.app.build_parser`` for the tests: the embedded model, loaded once per test session
    instead of once per service (about 2 s each)."""
    from nlu.embedded import default_parser

    assert cfg.nlu.backend == "embedded"
    return default_parser()
