"""Scores computed from a known history: the demo month through the real engine, and pure cases."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.demo_history import DEMO_MONTH, seed_demo_history
from bot.report_cli import main as report_main
from catalog.model import Catalog
from dispatch.case import Case, SurveyResult
from dispatch.scoring import parse_month, score_month
from handlers.cases import CaseService
from storage.database import Database


async def test_demo_month_scores_exactly(db: Database, catalog: Catalog) -> None:
    await seed_demo_history(db, catalog)
    start, end, _ = parse_month(DEMO_MONTH)
    scores = {s.department: s for s in await CaseService(db, catalog).scores(start, end)}
    assert sorted(scores) == ["CGJ", "MZJ", "ZJJ"]
    cgj, mzj, zjj = scores["CGJ"], scores["MZJ"], scores["ZJJ"]
    assert (cgj.accepted, cgj.accepted_on_time, cgj.resolved, cgj.resolved_on_time) == (4, 3, 4, 3)
    assert (cgj.surveyed, cgj.satisfied, cgj.reopened) == (4, 2, 1)
    assert (cgj.response_overdue, cgj.resolve_overdue, cgj.points) == (1, 1, 95)
    assert cgj.acceptance_rate == 0.75 and cgj.satisfaction == 0.5 and cgj.reopen_rate == 0.25
    assert (mzj.accepted, mzj.accepted_on_time, mzj.resolved, mzj.resolved_on_time) == (2, 1, 2, 2)
    assert (mzj.surveyed, mzj.satisfied, mzj.reopened, mzj.points) == (2, 1, 1, 98)
    assert (zjj.accepted_on_time, zjj.resolved_on_time, zjj.surveyed, zjj.points) == (1, 1, 0, 100)
    assert zjj.satisfaction is None  # 未评价 is not an answer
    # the month before holds nothing
    prev_start, prev_end, _ = parse_month("2026-09")
    assert await CaseService(db, catalog).scores(prev_start, prev_end) == []


async def test_report_command_prints_and_writes_csv_and_png(
    db_url: str, tmp_path: Path, capsys: object
) -> None:
    argv = ["--seed-demo", "--month", "2026-10", "--db", db_url, "--out", str(tmp_path)]
    code = await asyncio.to_thread(report_main, argv)  # the command runs its own event loop
    assert code == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "CGJ" in out and "95" in out
    rows = list(csv.DictReader((tmp_path / "scores-2026-10.csv").open(encoding="utf-8")))
    assert [(r["department"], r["points"], r["satisfaction"]) for r in rows] == [
        ("CGJ", "95", "50.0%"),
        ("MZJ", "98", "50.0%"),
        ("ZJJ", "100", "-"),
    ]
    png = (tmp_path / "scores-2026-10.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_events_are_credited_to_the_department_holding_the_case(catalog: Catalog) -> None:
    t = datetime(2026, 10, 10, 2, tzinfo=UTC)
    case = Case.submit(
        id="c1", number="SC-20261010-0001", item=catalog.case_types["HJ01"], requester_id="p",
        channel="web", chat_id="x", text="垃圾", at=t,
    )  # fmt: skip
    case.assign("ZJJ", actor="system", at=t)
    case.return_to_center(actor="z", at=t + timedelta(minutes=30), reason="不归我们")
    case.escalate(actor="system", at=t + timedelta(hours=3), reason="response_overdue")  # while at LDZX
    case.assign("CGJ", actor="d", at=t + timedelta(hours=4))
    case.accept(actor="c", at=t + timedelta(hours=5))  # late: response due at +2 h
    case.resolve(actor="c", at=t + timedelta(hours=6))
    case.rate(SurveyResult.SATISFIED, actor="p", at=t + timedelta(hours=7))
    start, end, _ = parse_month("2026-10")
    scores = {s.department: s for s in score_month([case], start, end)}
    assert sorted(scores) == ["CGJ", "LDZX"]
    assert scores["LDZX"].response_overdue == 1 and scores["LDZX"].points == 98
    cgj = scores["CGJ"]
    assert (cgj.accepted, cgj.accepted_on_time, cgj.resolved_on_time, cgj.satisfied) == (1, 0, 1, 1)
    # events outside the month do not count
    nov_start, nov_end, _ = parse_month("2026-11")
    assert score_month([case], nov_start, nov_end) == []
