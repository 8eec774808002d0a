"""Shared pieces of the end-to-end benchmark and the fault tests.

- ``fake_server()``: the fake Bot API server (``tests.fakes.botapi_control``), in this process.
- ``BotProcess``: the real service, ``python -m bot``, in its own process, polling or webhook.
- ``EchoProcess``: a bare python-telegram-bot echo bot (``bench/echo_bot.py``) for comparison.
- ``seed_staff``: department staff and a dispatcher with Telegram chats, so notifications have
  somewhere to go; ``Database`` helpers to count and checksum what is stored.
- Simulated people: ``Resident`` and ``GridWorker`` talk to the bot like a person would (read
  the reply, press the button it offers, answer the question it asks), with texts from the
  held-out NLU set (``tests/nlu/heldout``) and the catalog's example sentences.
- ``Latencies``: update-to-reply times from the fake server's own record.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.fakes.botapi import Limits
from tests.fakes.botapi_control import ControlledBotApi, Sent

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable
WEBHOOK_SECRET = "bench-secret_0123456789"
STAFF_CHAT_BASE = 900_000
DISPATCHER_CHAT = 899_999
PG_BASE = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# ---- the fake server -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fake_server(**kw: Any) -> AsyncIterator[ControlledBotApi]:
    """The fake Bot API with Telegram's flood limits off (the bot keeps its own limiter)."""
    fake = ControlledBotApi(limits=Limits(enabled=False), webhook_retry_s=0.2, **kw)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


# ---- databases -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database_url(backend: str, workdir: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file under ``workdir`` or a PostgreSQL schema dropped after."""
    if backend == "sqlite":
        # A new file each time: runs share the workdir, and a database left by an earlier run would
        # already hold this run's update ids (the fake server numbers from 1 again), so every
        # update would be dropped as a repeat and never answered.
        yield f"sqlite+aiosqlite:///{workdir / f'service-{uuid.uuid4().hex[:10]}.db'}"
        return
    import asyncpg

    dsn = PG_BASE.replace("postgresql+asyncpg://", "postgresql://", 1)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    sep = "&" if "?" in dsn else "?"
    try:
        yield f"{dsn.replace('postgresql://', 'postgresql+asyncpg://', 1)}{sep}search_path={schema}"
    finally:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()


async def postgres_available() -> bool:
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_BASE.replace("postgresql+asyncpg://", "postgresql://", 1), timeout=3)
    except Exception:
        return False
    await conn.close()
    return True


@dataclass(frozen=True)
class Staff:
    departments: dict[str, int]  # department code -> its staff member's chat id
    dispatcher_chat: int

    @property
    def chats(self) -> list[int]:
        return [*self.departments.values(), self.dispatcher_chat]


async def seed_staff(db_url: str, fake: ControlledBotApi) -> Staff:
    """One staff member (the lead) per department and a dispatcher, each with a Telegram chat the
    fake server knows, so every notification the engine writes has a chat to go to."""
    from catalog.loader import load_catalog
    from catalog.model import DISPATCH_CENTER
    from dispatch.people import ChannelIdentity, Person, Role
    from storage.database import Database

    catalog = load_catalog()
    db = await Database.open(db_url)  # applies the migrations
    at = datetime.now(UTC)
    departments: dict[str, int] = {}
    try:
        async with db.uow() as uow:
            for i, code in enumerate(sorted(catalog.departments)):
                chat = STAFF_CHAT_BASE + i
                role = Role.DISPATCHER if code == DISPATCH_CENTER else Role.DEPT_STAFF
                person = Person(
                    str(uuid.uuid4()),
                    f"{code}值班",
                    at,
                    identities=[ChannelIdentity("telegram", str(chat), str(chat))],
                )
                person.grant(role, department=code, lead=True)
                await uow.people.save(person)
                departments[code] = chat
                fake.add_chat(chat, first_name=f"{code}值班")
            await uow.commit(at)
    finally:
        await db.dispose()
    return Staff(departments, departments.get(DISPATCH_CENTER, DISPATCHER_CHAT))


async def seed_grid_workers(db_url: str, fake: ControlledBotApi, chats: Sequence[int]) -> dict[int, str]:
    """Grid workers with Telegram chats; returns chat id -> the grid they cover."""
    from catalog.loader import load_catalog
    from dispatch.people import ChannelIdentity, Person, Role
    from storage.database import Database

    grids = sorted(load_catalog().grids)
    db = await Database.open(db_url)
    at = datetime.now(UTC)
    out: dict[int, str] = {}
    try:
        async with db.uow() as uow:
            for i, chat in enumerate(chats):
                grid = grids[i % len(grids)]
                person = Person(
                    str(uuid.uuid4()),
                    f"网格员{i}",
                    at,
                    phone=f"1390000{i:04d}",
                    identities=[ChannelIdentity("telegram", str(chat), str(chat))],
                )
                person.grant(Role.GRID_WORKER, grids=(grid,))
                await uow.people.save(person)
                out[chat] = grid
                fake.add_chat(chat, first_name=f"网格员{i}")
            await uow.commit(at)
    finally:
        await db.dispose()
    return out


TABLES = (
    "cases",
    "case_events",
    "outbox",
    "timers",
    "people",
    "inbound_updates",
    "conversations",
    "case_counters",
    "channel_identities",
)


async def snapshot(db_url: str, tables: Sequence[str] = TABLES) -> dict[str, Any]:
    """Row counts of the service's tables and a checksum of every case and case event."""
    from sqlalchemy import text

    from storage.engine import create_engine

    engine = create_engine(db_url)
    out: dict[str, Any] = {}
    try:
        async with engine.connect() as conn:
            for t in tables:
                # A turn's replies are outbox rows too (kind 'reply'); "outbox" counts the notifications.
                where = " WHERE kind <> 'reply'" if t == "outbox" else ""
                out[t] = (await conn.execute(text(f"SELECT count(*) FROM {t}{where}"))).scalar_one()
            digest = hashlib.sha256()
            for t in ("cases", "case_events"):
                rows = (await conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))).all()
                for row in rows:
                    digest.update(repr(tuple(row)).encode())
            out["checksum"] = digest.hexdigest()[:16]
    finally:
        await engine.dispose()
    return out


async def query(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    from sqlalchemy import text

    from storage.engine import create_engine

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


# ---- processes -----------------------------------------------------------------------------------


def write_config(
    workdir: Path,
    *,
    relay_interval_s: float = 0.5,
    scheduler_interval_s: float = 30,
    overall_per_s: float = 30,
    per_chat_per_s: float = 1,
    lease_s: float = 60,
    reply_grace_s: float = 15,
) -> Path:
    """config.yml for a run: voice off (no model to load), data under ``workdir``, Telegram's
    rate limits as given (the defaults are Telegram's own)."""
    cfg = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    cfg["service"]["data_dir"] = str(workdir)
    cfg["voice"]["backend"] = "none"
    cfg["relay"]["interval_s"] = relay_interval_s
    cfg["relay"]["reply_grace_s"] = reply_grace_s
    cfg["relay"]["lease_s"] = lease_s  # how long a row claimed by a killed process stays claimed
    cfg["scheduler"]["interval_s"] = scheduler_interval_s
    cfg["telegram"]["poll_timeout_s"] = 10
    cfg["telegram"]["rate_limit"] = {
        "per_chat_per_s": per_chat_per_s,
        "overall_per_s": overall_per_s,
        "per_group_per_min": 20,
    }
    path = workdir / f"config-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BotProcess:
    """``python -m bot`` against the fake server. ``start()`` returns once it serves."""

    fake: ControlledBotApi
    db_url: str
    config: Path
    mode: str = "polling"
    port: int = 0
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [PYTHON, "-m", "bot"]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL"))}
        env.update(
            TELEGRAM_TOKEN=self.fake.token,
            TELEGRAM_BASE_URL=self.fake.base_url,
            TELEGRAM_MODE=self.mode,
            DATABASE_URL=self.db_url,
            HTTP_PORT=str(self.port),
            CONFIG_FILE=str(self.config),
            PYTHONUNBUFFERED="1",
        )
        if self.mode == "webhook":
            env["TELEGRAM_WEBHOOK_SECRET"] = WEBHOOK_SECRET
        env.update(self.extra_env)
        return env

    async def start(self, timeout_s: float = 90) -> None:
        if not self.port:
            self.port = free_port()
        if self.mode == "webhook":
            # The public URL Telegram calls; only the config file can say it.
            cfg = yaml.safe_load(self.config.read_text(encoding="utf-8"))
            cfg["telegram"]["webhook_url"] = self.webhook_url
            self.config = self.config.with_name(f"{self.config.stem}-{self.port}.yml")
            self.config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115, ASYNC230
        # A plain Popen (not asyncio's): the process must outlive this loop's child watcher for kill -9.
        self.proc = subprocess.Popen(  # noqa: ASYNC220
            self.command(), cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT
        )
        await self._wait_ready(timeout_s)

    async def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.command()} exited with {self.proc.returncode}; see {self.log_path}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with http.get(f"{self.base_url}/health", timeout=aiohttp.ClientTimeout(2)) as r:
                        body = await r.json()
                        if r.status == 200 and self._telegram_up(body):
                            return
                await asyncio.sleep(0.2)
        raise TimeoutError(f"the bot did not come up in {timeout_s}s; see {self.log_path}")

    def _telegram_up(self, health: dict[str, Any]) -> bool:
        # /health is served before the Telegram channel starts; wait for its first Bot API call.
        method = "setWebhook" if self.mode == "webhook" else "getUpdates"
        if self.mode == "webhook":
            return self.webhook_url in self.fake.webhooks
        return any(c.method == method for c in self.fake.calls[-200:])

    def rss_mb(self) -> float:
        """Resident memory of the process, from /proc."""
        if self.proc is None:
            return 0.0
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def cpu_s(self) -> float:
        """CPU time (user + system) the process has used so far, from /proc."""
        if self.proc is None:
            return 0.0
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return 0.0

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    async def stop(self, timeout_s: float = 20) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@dataclass
class EchoProcess(BotProcess):
    """The bare PTB echo bot (bench/echo_bot.py), polling the same fake server."""

    def command(self) -> list[str]:
        return [PYTHON, str(ROOT / "bench" / "echo_bot.py"), self.fake.base_url, self.fake.token]

    async def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"echo bot exited with {self.proc.returncode}")
            if any(c.method == "getUpdates" for c in self.fake.calls[-50:]):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("the echo bot did not start polling")


# ---- what simulated people say -------------------------------------------------------------------


@dataclass(frozen=True)
class Texts:
    resident: list[str]
    grid_worker: list[str]

    @classmethod
    def load(cls) -> Texts:
        """Requests (items labelled with a catalog code) from the held-out set and the examples."""
        resident: list[str] = []
        grid: list[str] = []
        files = [
            *sorted((ROOT / "tests" / "nlu" / "heldout").glob("*.yml")),
            ROOT.parent / "shared" / "catalog" / "examples.yml",
        ]
        for path in files:
            if not path.exists():
                continue
            for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("items", []):
                label, text = str(item.get("label", "")), str(item.get("text", ""))
                if not text or not (label[:2].isalpha() and label[2:].isdigit() and label[:2].isupper()):
                    continue
                (grid if item.get("speaker") == "grid_worker" else resident).append(text)
        return cls(resident, grid or resident)


ADDRESSES = [
    "东坡路社区 3幢2单元301",
    "清波街道 劳动路12号",
    "湖滨街道 平海路5号2楼",
    "望江街道 近江家园7幢",
    "小营街道 马市街88号",
    "紫阳街道 十五奎巷3号",
]


@dataclass
class Turn:
    """One update a simulated person sent and what came of it."""

    update_id: int
    chat_id: int
    kind: str
    handed_at: float | None = None
    reply_at: float | None = None
    injected_at: float = 0.0


@dataclass
class Person:
    """A simulated user in a private chat. ``step()`` sends one update and waits for the bot to
    finish with it; ``run_dialogue()`` goes from a request to the case number."""

    fake: ControlledBotApi
    chat_id: int
    text: str
    rng: random.Random
    turns: list[Turn] = field(default_factory=list)
    case_number: str | None = None
    name: str = "居民"
    timeout_s: float = 60.0
    think_s: tuple[float, float] | None = (1.0, 2.0)
    lost_after_s: float = 3.0
    settle_s: float = 0.0  # after the first reply, wait until the chat is this long quiet (a turn is
    # several messages, spaced by the per-chat rate limit; a person reads them all before answering)
    gate: Callable[[], Awaitable[None]] | None = None
    lost_replies: list[int] = field(default_factory=list)
    _turn_start: int = 0

    @property
    def last(self) -> Sent | None:
        msgs = self.fake.by_chat.get(self.chat_id)
        return msgs[-1] if msgs else None

    async def send(self, text: str | None = None, button: str | None = None) -> Turn:
        before = len(self.fake.by_chat[self.chat_id])
        self._turn_start = before
        if button is not None:
            last_with_data = next(
                (
                    m
                    for m in reversed(self.fake.by_chat[self.chat_id])
                    if any(d == button for _, d in m.buttons)
                ),
                None,
            )
            if last_with_data is None:
                raise RuntimeError(f"no button {button!r} in chat {self.chat_id}")
            mid = self._message_id(last_with_data)
            update = self.fake.press_button(self.chat_id, mid, button, first_name=self.name)
            kind = "button"
        else:
            update = self.fake.send_text(self.chat_id, text or "", first_name=self.name)
            kind = "text"
        await self.fake._notify()
        uid = update["update_id"]
        turn = Turn(uid, self.chat_id, kind, injected_at=self.fake.injected_at(uid) or time.monotonic())
        self.turns.append(turn)
        # The first message to this chat after the update was handed out is its reply.
        replied = asyncio.create_task(self.fake.wait_sent(self.chat_id, before + 1, self.timeout_s))
        handled = asyncio.create_task(self.fake.wait_handled(uid, self.timeout_s))
        try:
            await asyncio.wait({replied, handled}, return_when=asyncio.FIRST_COMPLETED)
            if not replied.done():
                # Accepted with no reply yet: give the last sends of the turn a moment, then call it lost.
                await asyncio.wait({replied}, timeout=self.lost_after_s)
            if replied.done():
                turn.reply_at = replied.result()[before].at
                await handled
                await self._settle()
            else:
                self.lost_replies.append(uid)
        finally:
            for t in (replied, handled):
                t.cancel()
        turn.handed_at = self.fake.handed_at.get(uid)
        return turn

    async def _settle(self) -> None:
        if self.settle_s <= 0:
            return
        seen = -1
        while seen != len(self.fake.by_chat[self.chat_id]):
            seen = len(self.fake.by_chat[self.chat_id])
            await asyncio.sleep(self.settle_s)

    def _message_id(self, sent: Sent) -> int:
        # The n-th message the bot sent to this chat: find its message id in the fake's record.
        mine = [m for m in self.fake.bot_messages if m["chat"]["id"] == self.chat_id]
        chat_msgs = self.fake.by_chat[self.chat_id]
        return int(mine[chat_msgs.index(sent)]["message_id"])

    def _this_turn(self) -> list[Sent]:
        """What the bot said since the person's last message (a turn may be several messages)."""
        return self.fake.by_chat[self.chat_id][self._turn_start :]

    def _inline(self) -> Sent | None:
        """The latest message of the turn that carries inline buttons."""
        for m in reversed(self._this_turn()):
            if any(d for _, d in m.buttons):
                return m
        return None

    def _button_data(self, *labels: str) -> str | None:
        m = self._inline()
        for label, data in m.buttons if m else ():
            if data and any(x in label for x in labels):
                return data
        return None

    def _recent_text(self) -> str:
        return "\n".join(m.text for m in self._this_turn())

    async def think(self) -> None:
        """A person reads and types: the next message comes a while after the reply (or, in a
        fixed-rate run, when the pacer lets the next update go)."""
        if self.gate is not None:
            await self.gate()
        elif self.think_s:
            await asyncio.sleep(self.rng.uniform(*self.think_s))

    async def run_dialogue(self, max_turns: int = 10) -> str | None:
        """From the request to a case number (or until ``max_turns``); returns the number."""
        if self.gate is not None:
            await self.gate()
        await self.send(self.text)
        for _ in range(max_turns):
            if self.lost_replies:
                return None  # the person never heard back: they would phone the hotline instead
            recent = self._recent_text()
            if "SC-" in recent:
                self.case_number = _case_number(recent)
                return self.case_number
            await self.think()
            data = (
                self._button_data("对，就办这个")
                or self._button_data("登记的电话")
                or self._button_data("跳过")
            )
            if data is None and ("都不是" in recent or "是想" in recent or "是哪" in recent):
                data = self._first_data()
            if data is not None:
                await self.send(button=data)
            elif "电话" in recent:
                await self.send(f"1380000{self.chat_id % 10000:04d}")
            elif "地址" in recent or "在哪" in recent:
                await self.send(self.rng.choice(ADDRESSES))
            elif "时间" in recent or "什么时候" in recent:
                await self.send("明天上午")
            else:
                await self.send(self.text)
        recent = self._recent_text()
        self.case_number = _case_number(recent) if "SC-" in recent else None
        return self.case_number

    def _first_data(self) -> str | None:
        m = self._inline()
        return next((d for _, d in m.buttons if d), None) if m else None


def _case_number(text: str) -> str | None:
    import re

    m = re.search(r"SC-[0-9A-Z-]+", text)
    return m.group(0) if m else None


# ---- figures -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


@dataclass
class Latencies:
    """Update-to-reply in ms: from the fake's hand-out (getUpdates answer / webhook POST) to the
    first sendMessage to that chat; ``queued`` counts from injection instead (includes the wait
    for the bot's next getUpdates)."""

    handed: list[float] = field(default_factory=list)
    queued: list[float] = field(default_factory=list)

    def add(self, turn: Turn, handed_at: float | None) -> None:
        if turn.reply_at is None:
            return
        self.queued.append(1000 * (turn.reply_at - turn.injected_at))
        if handed_at is not None:
            self.handed.append(1000 * (turn.reply_at - handed_at))

    def summary(self) -> dict[str, float]:
        return {
            "n": len(self.handed),
            "p50_ms": percentile(self.handed, 50),
            "p99_ms": percentile(self.handed, 99),
            "max_ms": max(self.handed, default=float("nan")),
            "mean_ms": statistics.fmean(self.handed) if self.handed else float("nan"),
            "p50_from_injection_ms": percentile(self.queued, 50),
            "p99_from_injection_ms": percentile(self.queued, 99),
        }


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str, indent=1)
