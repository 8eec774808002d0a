"""End-to-end benchmark: simulated residents and grid workers talk to the real service process
(``python -m bot``: NLU, storage, dispatch, notifications) through the fake Bot API server; the
same harness then drives a bare python-telegram-bot echo bot for comparison.

.venv/bin/python -m bench.e2e_bench [--users 200] [--seconds 30] [--rate 100] [--backends sqlite,postgresql]
                                    [--think 0.2,0.6] [--per-chat-per-s 1] [--write docs/performance.md [--block NAME]]

Figures: updates per second (closed loop: each person sends the next message ``--think`` seconds
after the reply), p50/p99 update-to-reply (the fake server's time from handing the update out in getUpdates
to the bot's first sendMessage into that chat), the bot process's CPU time per update (user + system,
from /proc, over the measured window), peak RSS of the bot process; then a fixed-rate run
at ``--rate`` updates per second (paced; a person only ever has one message in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import (
    BotProcess,
    EchoProcess,
    Latencies,
    Person,
    Texts,
    database_url,
    fake_server,
    postgres_available,
    seed_grid_workers,
    seed_staff,
    workdir,
    write_config,
)

ROOT = Path(__file__).resolve().parent.parent
GRID_SHARE = 0.2  # one in five simulated people is a grid worker reporting for their grid
# The bench lifts the bot's overall send limit: Telegram's default 30 msg/s would cap any run at
# ~15 updates/s (two messages a turn). The per-chat limit (1 msg/s) stays as in production.
OVERALL_PER_S = 2000


@dataclass
class Result:
    target: str
    backend: str
    mode: str
    updates: int = 0
    seconds: float = 0.0
    latency: dict[str, float] = field(default_factory=dict)
    rss_mb: float = 0.0
    cases: int = 0
    lost: int = 0
    errors: int = 0
    cpu_s: float = 0.0  # CPU the bot process used during the measured window

    @property
    def cpu_ms_per_update(self) -> float:
        return 1000 * self.cpu_s / self.updates if self.updates else float("nan")

    @property
    def per_s(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0


class Pacer:
    """Lets ``rate`` updates per second go, to whichever people are waiting for their turn."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens: asyncio.Queue[None] = asyncio.Queue()
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    async def gate(self) -> None:
        await self.tokens.get()

    async def _run(self) -> None:
        start = time.monotonic()
        given = 0
        while True:
            due = int((time.monotonic() - start) * self.rate)
            for _ in range(due - given):
                self.tokens.put_nowait(None)
            given = due
            await asyncio.sleep(0.002)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def stop(self) -> None:
        if self._task:
            self._task.cancel()


async def _people_loop(person: Person, texts: list[str], stop_at: float, echo: bool) -> None:
    while time.monotonic() < stop_at:
        person.text = person.rng.choice(texts)
        if echo:
            await person.think()
            await person.send(person.text)
        else:
            person.lost_replies.clear()
            await person.run_dialogue(max_turns=8)


async def run_one(
    target: str,
    backend: str,
    users: int,
    seconds: float,
    rate: float | None,
    wd: Path,
    texts: Texts,
    *,
    think_s: tuple[float, float] = (0.2, 0.6),
    per_chat_per_s: float = 1.0,
) -> Result:
    """One run. ``think_s``: seconds from a reply to the person's next message; ``per_chat_per_s``:
    the bot's send limit per chat (Telegram's 1/s; lifted, the run measures processing capacity)."""
    mode = f"fixed {rate:.0f}/s" if rate else "closed loop"
    res = Result(target, backend, mode)
    async with fake_server() as fake, database_url(backend, wd) as url:
        n_grid = 0 if target == "echo" else int(users * GRID_SHARE)
        chats = list(range(100_000, 100_000 + users))
        if target == "echo":
            proc: BotProcess = EchoProcess(fake, url, wd / "none.yml", log_path=wd / "echo.log")
        else:
            await seed_staff(url, fake)
            await seed_grid_workers(url, fake, chats[:n_grid])
            proc = BotProcess(
                fake,
                url,
                write_config(wd, overall_per_s=OVERALL_PER_S, per_chat_per_s=per_chat_per_s),
                log_path=wd / f"bot-{backend}.log",
            )
        await proc.start()
        pacer = Pacer(rate) if rate else None
        people = []
        for i, chat in enumerate(chats):
            grid = i < n_grid
            p = Person(
                fake,
                chat,
                "",
                random.Random(i),
                think_s=think_s,
                timeout_s=60,
                name="网格员" if grid else "居民",
                gate=pacer.gate if pacer else None,
            )
            p.__dict__["grid"] = grid
            people.append(p)
        # Warm up: every person's first contact (greeting, onboarding) before the clock starts.
        warm = [asyncio.create_task(p.send("你好")) for p in people]
        await asyncio.gather(*warm, return_exceptions=True)
        for p in people:
            p.turns.clear()
            p.lost_replies.clear()
        peak = [proc.rss_mb()]

        async def sample() -> None:
            while True:
                peak.append(proc.rss_mb())
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        if pacer:
            pacer.start()
        started = time.monotonic()
        cpu_at_start = proc.cpu_s()
        stop_at = started + seconds
        loops = [
            asyncio.create_task(
                _people_loop(
                    p, texts.grid_worker if p.__dict__["grid"] else texts.resident, stop_at, target == "echo"
                )
            )
            for p in people
        ]
        done, pending = await asyncio.wait(loops, timeout=seconds + 60)
        res.seconds = time.monotonic() - started
        res.cpu_s = proc.cpu_s() - cpu_at_start
        for t in pending:
            t.cancel()
        res.errors = sum(1 for t in done if t.exception() is not None)
        if pacer:
            pacer.stop()
        sampler.cancel()
        lat = Latencies()
        for p in people:
            for turn in p.turns:
                if turn.reply_at is not None and turn.injected_at <= stop_at:
                    lat.add(turn, fake.handed_at.get(turn.update_id))
            res.lost += len(p.lost_replies)
        res.updates = len(lat.handed)
        res.seconds = min(res.seconds, max(seconds, 1e-9)) if not pending else res.seconds
        res.latency = lat.summary()
        res.rss_mb = max(peak)
        res.cases = sum(1 for p in people if p.case_number)
        await proc.stop()
    return res


def row(r: Result) -> str:
    lat = r.latency
    return (
        f"| {r.target} | {r.backend} | {r.mode} | {r.updates} | {r.per_s:.1f} | {lat.get('p50_ms', 0):.0f} | "
        f"{lat.get('p99_ms', 0):.0f} | {lat.get('p99_from_injection_ms', 0):.0f} | {r.cpu_ms_per_update:.1f} | "
        f"{r.rss_mb:.0f} | {r.lost} |"
    )


HEADER = (
    "| target | database | load | updates | updates/s | p50 ms | p99 ms | p99 from injection ms | "
    "CPU ms/update | peak RSS MB | replies lost |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def write_doc(path: Path, command: str, results: list[Result], notes: list[str], block: str = "") -> None:
    """Replace the marked block of the doc (``block`` names one of several; "" is the first)."""
    name = f"e2e_bench:{block}" if block else "e2e_bench"
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    body = [
        begin,
        f"Generated by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"(2-core machine shared with other work; figures vary by ±20 %).",
        "",
        HEADER,
        *(row(r) for r in results),
        "",
        *notes,
        end,
    ]
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n"
    if begin in text:
        text = text[: text.index(begin)] + "\n".join(body) + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n## End-to-end (bench/e2e_bench.py)\n\n" + "\n".join(body) + "\n"
    path.write_text(text, encoding="utf-8")


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.e2e_bench")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--write", type=Path, default=None)
    ap.add_argument("--think", default="0.2,0.6", help="MIN,MAX seconds between a reply and the next message")
    ap.add_argument("--block", default="", help="which marked block of the --write doc to replace")
    ap.add_argument("--per-chat-per-s", type=float, default=1.0, help="the bot's send limit per chat")
    args = ap.parse_args(argv)
    low, high = (float(x) for x in args.think.split(","))
    load = {"think_s": (low, high), "per_chat_per_s": args.per_chat_per_s}
    texts = Texts.load()
    results: list[Result] = []
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and not await postgres_available():
        print("PostgreSQL not reachable: skipped", flush=True)
        backends.remove("postgresql")
    wd = workdir("e2e-")
    echo = await run_one("echo", "-", args.users, args.seconds, None, wd, texts, **load)
    print(row(echo), flush=True)
    results.append(echo)
    notes = []
    for backend in backends:
        bot = await run_one("bot", backend, args.users, args.seconds, None, wd, texts, **load)
        print(row(bot), flush=True)
        results.append(bot)
        ratio = bot.per_s / echo.per_s if echo.per_s else 0
        notes.append(f"- {backend}: throughput {ratio:.0%} of the echo bot's (target ≥ 50 %).")
        if args.rate:
            fixed = await run_one("bot", backend, args.users, args.seconds, args.rate, wd, texts, **load)
            print(row(fixed), flush=True)
            results.append(fixed)
            notes.append(
                f"- {backend}: at {args.rate:.0f} updates/s p99 = {fixed.latency['p99_ms']:.0f} ms "
                f"(target < 200 ms); achieved {fixed.per_s:.1f} updates/s."
            )
    for n in notes:
        print(n)
    if args.write:
        command = "python -m bench.e2e_bench " + " ".join(argv)
        write_doc(args.write, command.strip(), results, notes, args.block)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main(sys.argv[1:])))
