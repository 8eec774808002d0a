"""``python -m bot report --month YYYY-MM [--out DIR] [--db URL] [--seed-demo]``: monthly 考核 scores.

Prints one row per department, writes ``scores-YYYY-MM.csv`` and ``scores-YYYY-MM.png`` (a bar
chart labelled with department codes, readable without CJK fonts) under ``--out`` (default
``var/reports``). ``--seed-demo`` first writes the known demo history (bot/demo_history.py) into
an empty database and reports its month (2026-10) unless ``--month`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
from pathlib import Path

from bot.config import load_config
from bot.demo_history import DEMO_MONTH, seed_demo_history
from catalog.loader import load_catalog
from dispatch.scoring import DepartmentScore, format_rate, parse_month
from handlers.cases import CaseService
from storage.database import Database

COLUMNS = (
    "department", "accepted", "accepted_on_time", "acceptance_rate", "resolved", "resolved_on_time",
    "resolution_rate", "surveyed", "satisfied", "satisfaction", "reopened", "reopen_rate",
    "response_overdue", "resolve_overdue", "points",
)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot report", description="monthly department scores (考核)")
    p.add_argument("--month", help="YYYY-MM (district time)")
    p.add_argument("--out", type=Path, default=Path("var/reports"), help="folder for the CSV and PNG")
    p.add_argument("--db", help="database URL (default: config / DATABASE_URL)")
    p.add_argument(
        "--seed-demo", action="store_true", help="write the demo history into an empty database first"
    )
    return p


def row_of(score: DepartmentScore) -> dict[str, object]:
    return {
        "department": score.department,
        "accepted": score.accepted,
        "accepted_on_time": score.accepted_on_time,
        "acceptance_rate": format_rate(score.acceptance_rate),
        "resolved": score.resolved,
        "resolved_on_time": score.resolved_on_time,
        "resolution_rate": format_rate(score.resolution_rate),
        "surveyed": score.surveyed,
        "satisfied": score.satisfied,
        "satisfaction": format_rate(score.satisfaction),
        "reopened": score.reopened,
        "reopen_rate": format_rate(score.reopen_rate),
        "response_overdue": score.response_overdue,
        "resolve_overdue": score.resolve_overdue,
        "points": score.points,
    }


def format_table(month: str, scores: list[DepartmentScore]) -> str:
    head = f"{'dept':<6}{'accept':>10}{'resolve':>10}{'satisf.':>10}{'reopen':>9}{'overdue':>9}{'points':>8}"
    lines = [f"考核 {month}", head, "-" * len(head)]
    for s in scores:
        lines.append(
            f"{s.department:<6}{format_rate(s.acceptance_rate):>10}{format_rate(s.resolution_rate):>10}"
            f"{format_rate(s.satisfaction):>10}{format_rate(s.reopen_rate):>9}"
            f"{f'{s.response_overdue}/{s.resolve_overdue}':>9}{s.points:>8}"
        )
    if not scores:
        lines.append("(no counted events this month)")
    return "\n".join(lines)


def write_csv(path: Path, scores: list[DepartmentScore]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for s in scores:
            writer.writerow(row_of(s))


def write_chart(path: Path, month: str, scores: list[DepartmentScore]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(scores) + 2), 4))
    codes = [s.department for s in scores]
    bars = ax.bar(codes, [s.points for s in scores], color="#3b7dd8")
    ax.bar_label(bars, labels=[str(s.points) for s in scores])
    ax.set_ylim(0, 110)
    ax.set_ylabel("points")
    ax.set_title(f"Department scores {month}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


async def run(args: argparse.Namespace) -> int:
    url = args.db or load_config().database.url
    catalog = load_catalog()
    db = await Database.open(url)
    try:
        if args.seed_demo:
            numbers = await seed_demo_history(db, catalog)
            print(f"seeded {len(numbers)} demo cases: {', '.join(numbers)}")
        start, end, month = parse_month(args.month or DEMO_MONTH)
        scores = await CaseService(db, catalog).scores(start, end)
    finally:
        await db.dispose()
    print(format_table(month, scores))
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = args.out / f"scores-{month}.csv", args.out / f"scores-{month}.png"
    write_csv(csv_path, scores)
    write_chart(png_path, month, scores)
    print(f"wrote {csv_path} and {png_path}")
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if not args.month and not args.seed_demo:
        _parser().error("--month is required (or --seed-demo)")
    return asyncio.run(run(args))
