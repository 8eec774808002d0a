"""What the web chat itself costs, apart from the conversation: message round trips over a real
socket on 127.0.0.1, and notifications stored for a closed page (one fsync'd file write each).

.venv/bin/python -m bench.webchat_bench [N]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.http import build_web_app
from bot.webchat import WebChat, chat_id_for, new_token
from handlers.messages import Inbound, Outgoing, Reply


async def echo(inbound: Inbound) -> list[Outgoing]:
    return [Outgoing(inbound.channel, inbound.chat_id, Reply(f"您说：{inbound.text}"))]


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))] * 1000


async def round_trips(folder: Path, n: int) -> None:
    chat = WebChat(echo, data_dir=folder, rate_per_s=1e6, burst=1_000_000)
    app = build_web_app(1 << 20)
    chat.install(app)
    async with TestClient(TestServer(app)) as client, client.ws_connect(f"/ws?chat={new_token()}") as ws:
        await ws.receive_json()  # hello
        took: list[float] = []
        start = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            await ws.send_json({"type": "text", "id": f"bench{i:06d}", "text": "楼下路灯坏了"})
            reply = await ws.receive_json()
            await ws.send_json({"type": "ack", "seq": reply["seq"]})
            assert (await ws.receive_json())["type"] == "done"
            took.append(time.perf_counter() - t0)
        total = time.perf_counter() - start
    print(f"round trip (text → reply → done, ack), {n} messages on one socket:")
    print(
        f"  {n / total:8.0f} msg/s   p50 {pct(took, 0.5):6.2f} ms   p95 {pct(took, 0.95):6.2f} ms"
        f"   mean {statistics.mean(took) * 1000:6.2f} ms"
    )


async def stored(folder: Path, n: int) -> None:
    chat = WebChat(echo, data_dir=folder)
    chats = [chat_id_for(new_token()) for _ in range(20)]
    took: list[float] = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        await chat.sender.send(chats[i % len(chats)], Reply("您的工单已受理，正在处理。"))
        took.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    print(f"notifications for closed pages (mailbox append + fsync), {n} over {len(chats)} chats:")
    print(f"  {n / total:8.0f} sends/s p50 {pct(took, 0.5):6.2f} ms   p95 {pct(took, 0.95):6.2f} ms")


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await round_trips(Path(tmp) / "a", n)
        await stored(Path(tmp) / "b", n)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
