"""Small renderings of a case shared by the dialogues."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from catalog.model import Catalog
from dispatch.case import Case
from handlers.texts import STATUS


def item_name(catalog: Catalog, case: Case) -> str:
    item = catalog.services.get(case.code) or catalog.case_types.get(case.code)
    return item.name if item else case.code


def local_time(tz: ZoneInfo, at: datetime) -> str:
    return at.astimezone(tz).strftime("%m月%d日 %H:%M")


def status_text(case: Case) -> str:
    return STATUS.get(str(case.status), str(case.status))


def status_line(catalog: Catalog, case: Case) -> str:
    return f"{case.number} {item_name(catalog, case)}：{status_text(case)}"
