"""Throughput of the dispatch engine on SQLite (or DATABASE_URL): submissions, timer firing, relay sends.

.venv/bin/python bench/dispatch_bench.py [N]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from bot.relay import OutboxRelay
from bot.scheduler import DeadlineScheduler
from catalog.loader import load_catalog
from dispatch.people import ChannelIdentity, Role
from handlers.cases import CaseService, SubmitRequest
from handlers.messages import Channel, Reply
from storage.database import Database


class NullSender:
    channel = Channel.TELEGRAM

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        return "1"


async def main(n: int) -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    db = await Database.open(url)
    now = [datetime(2026, 11, 2, 1, tzinfo=UTC)]
    service = CaseService(db, load_catalog(), clock=lambda: now[0])
    async with db.uow() as uow:
        resident, _ = await uow.people.get_or_create_by_identity(
            ChannelIdentity("telegram", "1", "1"), display_name="r", at=now[0], new_id=str(uuid.uuid4())
        )
        staff, _ = await uow.people.get_or_create_by_identity(
            ChannelIdentity("telegram", "2", "2"), display_name="s", at=now[0], new_id=str(uuid.uuid4())
        )
        staff.grant(Role.DEPT_STAFF, department="CGJ")
        await uow.people.save(staff)
        await uow.commit(now[0])
    t = time.perf_counter()
    for i in range(n):
        req = SubmitRequest("case", "HJ01", resident.id, "telegram", "1", "垃圾", grid=f"HB01-{i % 5 + 1}")
        await service.submit(req, check_duplicates=False)
    submit_s = time.perf_counter() - t
    now[0] += timedelta(days=3)
    sched = DeadlineScheduler(db, service, clock=lambda: now[0])
    t = time.perf_counter()
    fired = await sched.catch_up()
    fire_s = time.perf_counter() - t
    relay = OutboxRelay(db, {"telegram": NullSender()}, clock=lambda: now[0])
    t = time.perf_counter()
    while await relay.tick():
        pass
    relay_s = time.perf_counter() - t
    print(f"backend={db.backend} cases={n}")
    print(f"submit: {n / submit_s:.1f} cases/s ({1000 * submit_s / n:.1f} ms each)")
    print(f"scheduler catch-up: {fired} timers in {fire_s:.2f} s ({fired / fire_s:.1f}/s)")
    print(f"relay: {relay.sent} messages in {relay_s:.2f} s ({relay.sent / relay_s:.1f}/s)")
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
