"""Human-readable case numbers such as ``SC-20261128-0001`` (district prefix, local date, daily sequence)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

PREFIX = "SC"
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The district's clock; China has no daylight saving, so a fixed offset is exact."""

_NUMBER_RE = re.compile(rf"^{PREFIX}-(\d{{8}})-(\d{{4,}})$")


def local_day(at: datetime) -> date:
    """The district's calendar day at instant ``at`` (which must be timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return at.astimezone(CHINA_TZ).date()


def format_case_number(day: date, sequence: int) -> str:
    """``SC-YYYYMMDD-NNNN``; the sequence is at least four digits and grows past 9999."""
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return f"{PREFIX}-{day:%Y%m%d}-{sequence:04d}"


def parse_case_number(text: str) -> tuple[date, int]:
    """Split a case number into (day, sequence); ``ValueError`` when it is not one."""
    m = _NUMBER_RE.match(text.strip().upper())
    if not m:
        raise ValueError(f"not a case number: {text!r}")
    day = datetime.strptime(m.group(1), "%Y%m%d").date()
    seq = int(m.group(2))
    if seq < 1:
        raise ValueError(f"not a case number: {text!r}")
    return day, seq


def is_case_number(text: str) -> bool:
    try:
        parse_case_number(text)
    except ValueError:
        return False
    return True
