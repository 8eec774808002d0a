"""The admin command line against a real SQLite file (it runs its own event loop, so tests are sync)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.admin_cli import main
from dispatch.people import ChannelIdentity, Role
from storage.database import Database
from storage.invites import redeem_invite

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out, now=NOW), out.getvalue()


def test_invite_flow_and_direct_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    rc, out = run("staff", "add", "--name", "张三", "--department", "CGJ", "--lead")
    assert rc == 0 and "/start " in out
    code = out.split("/start ")[1].split()[0]
    rc, out = run("gridworker", "add", "--name", "李四", "--grids", "HB01-1,hb01-2", "--telegram-id", "777")
    assert rc == 0 and "grid_worker" in out
    rc, listed = run("invite", "list")
    assert rc == 0 and code in listed and "张三" in listed

    async def redeem_and_check() -> None:
        db = Database(url)
        try:
            person = await redeem_invite(db, code, ChannelIdentity("telegram", "555", "555"), NOW)
            assert person.display_name == "张三" and person.is_department_lead
            async with db.uow() as uow:
                (worker,) = await uow.people.grid_workers_of("HB01-2")
                assert worker.display_name == "李四" and worker.has_role(Role.GRID_WORKER)
                assert [p.id for p in await uow.people.staff_of("CGJ", lead_only=True)] == [person.id]
        finally:
            await db.dispose()

    asyncio.run(redeem_and_check())
    rc, listed = run("invite", "list")
    assert code not in listed
    rc, listed = run("invite", "list", "--all")
    assert code in listed and "used by" in listed
    rc, staff = run("staff", "list")
    assert "张三" in staff and "李四" in staff


def test_bad_input_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    assert run("staff", "add", "--name", "x", "--department", "NOPE")[0] == 2
    assert run("gridworker", "add", "--name", "y", "--grids", "ZZ99-1")[0] == 2
    assert run("invite", "create", "--role", "dept_staff")[0] == 2
    assert run("invite", "create", "--role", "wizard")[0] == 2
    rc, out = run("invite", "create", "--role", "dispatcher", "--ttl-hours", "1")
    assert rc == 0 and len(out.split()[0]) == 8
