"""Read-only aggregate queries for the dispatch center's overview and the monthly scoring."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.case import Case
from storage.sql import table
from storage.uow import UnitOfWork

cases_t = table("cases")
events_t = table("case_events")


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    """How many cases are in each status (statuses with none are absent)."""
    rows = await conn.execute(select(cases_t.c.status, func.count()).group_by(cases_t.c.status))
    return {str(status): int(n) for status, n in rows.all()}


async def cases_with_events_between(uow: UnitOfWork, start: datetime, end: datetime) -> list[Case]:
    """Every case with at least one event in [start, end), with its full history."""
    ids = (
        (
            await uow.connection.execute(
                select(events_t.c.case_id).where(events_t.c.at >= start, events_t.c.at < end).distinct()
            )
        )
        .scalars()
        .all()
    )
    found: list[Case] = []
    for case_id in sorted(ids):
        case = await uow.cases.get(case_id)
        if case is not None:
            found.append(case)
    return found
