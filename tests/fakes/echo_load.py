"""Echo-bot throughput through the fake Bot API: the baseline for the end-to-end benchmark.

    python -m tests.fakes.echo_load --bot ptb      # bare python-telegram-bot: Updater + MessageHandler
    python -m tests.fakes.echo_load --bot channel  # our TelegramChannel with an echo conversation

The fake server runs in its own process (as the benchmarks run it); updates are injected through
its control API in one burst, spread over many chats; latency is from injection to the server
receiving the matching sendMessage, both timed by the server's clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import aiohttp


async def _start_fake() -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.botapi",
        "--port",
        "0",
        "--no-limits",
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    return proc, json.loads(await proc.stdout.readline())


async def _run_ptb(info: dict[str, Any]) -> Any:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text("echo " + update.message.text)

    app = (
        ApplicationBuilder()
        .token(info["token"])
        .base_url(info["base_url"])
        .base_file_url(info["base_file_url"])
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=1, allowed_updates=["message"])

    async def stop() -> None:
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    return stop


async def _run_channel(info: dict[str, Any], concurrency: int) -> Any:
    from bot.config import RateLimitSection, TelegramSection
    from bot.telegram import TelegramChannel
    from handlers.messages import Inbound, Outgoing, Reply

    async def echo(inbound: Inbound) -> list[Outgoing]:
        return [Outgoing(inbound.channel, inbound.chat_id, Reply(f"echo {inbound.text}"))]

    # Telegram's limits are the fake's business here (switched off): measure the bot, not the pacing.
    cfg = TelegramSection(
        token=info["token"],
        base_url=info["base_url"],
        base_file_url=info["base_file_url"],
        poll_timeout_s=1,
        rate_limit=RateLimitSection(per_chat_per_s=1000, overall_per_s=100000, per_group_per_min=100000),
    )
    channel = TelegramChannel(cfg, echo, concurrency=concurrency)
    await channel.start()
    return channel.stop


async def measure(bot: str, updates: int, chats: int, concurrency: int = 8) -> dict[str, float]:
    proc, info = await _start_fake()
    try:
        stop = await (_run_ptb(info) if bot == "ptb" else _run_channel(info, concurrency))
        async with aiohttp.ClientSession() as s:
            specs = [{"kind": "text", "chat_id": 10_000 + n % chats, "text": f"m{n}"} for n in range(updates)]
            started = time.monotonic()
            async with s.post(f"{info['control_url']}/updates", json=specs) as r:
                made = (await r.json())["result"]
            while True:
                async with s.get(f"{info['control_url']}/state") as r:
                    state = (await r.json())["result"]
                if state["bot_messages"] >= updates:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
            async with s.get(f"{info['control_url']}/calls", params={"method": "sendMessage"}) as r:
                sends = (await r.json())["result"]
        await stop()
    finally:
        proc.terminate()
        await proc.wait()
    injected = {f"echo m{n}": state["injected_at"][str(u["update_id"])] for n, u in enumerate(made)}
    lat = sorted(c["at"] - injected[c["params"]["text"]] for c in sends if c["status"] == 200)
    return {
        "updates": updates,
        "updates_per_s": updates / elapsed,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))],
    }


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m tests.fakes.echo_load", description=__doc__.split("\n")[0])
    p.add_argument("--bot", choices=["ptb", "channel"], default="ptb")
    p.add_argument("--updates", type=int, default=2000)
    p.add_argument("--chats", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=8, help="chats handled at once (--bot channel)")
    args = p.parse_args()
    r = asyncio.run(measure(args.bot, args.updates, args.chats, args.concurrency))
    label = args.bot if args.bot == "ptb" else f"channel(concurrency={args.concurrency})"
    print(
        f"{label}: {r['updates']} updates over {args.chats} chats: {r['updates_per_s']:.0f} updates/s, "
        f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms (burst, injection → reply)"
    )


if __name__ == "__main__":
    main()
