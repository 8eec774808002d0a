"""A small parser for the Chinese time expressions residents use to book a visit.

Handles days (今天, 明天, 后天, 大后天, 下周三, 这周五, 周末, 3月5号, 5号), day parts (上午, 下午, 晚上, 今晚,
明早 ...) and clock times (3点, 7点半, 3点10分, 15:30) in any sensible combination, on normalised text
(numerals already digits). Values are ISO datetimes in Asia/Shanghai relative to `now`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

_REL_DAY = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3, "昨天": -1, "前天": -2}
_REL_WEEK = {"下下": 2, "下个": 1, "下": 1, "这个": 0, "这": 0, "本": 0, "上个": -1, "上": -1}
_WEEKDAY = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "七": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
_PART_HOUR = {
    "凌晨": 5,
    "早上": 8,
    "早晨": 8,
    "上午": 9,
    "中午": 12,
    "下午": 15,
    "傍晚": 18,
    "晚上": 19,
    "夜里": 21,
    "晚": 19,
    "早": 8,
}
_PM_PARTS = {"下午", "傍晚", "晚上", "夜里", "晚"}
# 今晚 / 明早 style contractions: a day and a part in two characters.
_CONTRACTED = {
    "今晚": (0, "晚上"),
    "明晚": (1, "晚上"),
    "今早": (0, "早上"),
    "明早": (1, "早上"),
    "昨晚": (-1, "晚上"),
}

_DAY = (
    r"(?P<rel>大后天|后天|明天|明日|今天|今日|昨天|前天)"
    r"|(?P<contracted>今晚|明晚|今早|明早|昨晚)"
    r"|(?P<wkprefix>下下|下个|下|这个|这|本)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天七1-7]|末)"
    r"|(?P<month>\d{1,2})月(?P<mday>\d{1,2})[号日]?"
    r"|(?P<mrel>下个|下|这个|本|上个|上)月(?:(?P<mrelday>\d{1,2})[号日]|(?P<mpart>初|底|末|中旬|上旬|下旬))?"
    r"|(?P<wkrel>下下|下个|下|这个|这|本|上个|上)(?:周|星期|礼拜)(?![一二三四五六日天七1-7末])"
    r"|(?<![\d幢栋楼单元室])(?P<day>\d{1,2})[号日](?![楼院])"
)
_PART = r"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)"
_CLOCK = r"(?P<hour>\d{1,2})(?:点|:|：)(?:(?P<half>半)|(?P<minute>\d{1,2})分?|(?P<quarter>一刻))?(?:钟)?"
_EXPR = re.compile(rf"(?:(?:{_DAY})(?:的)?)?(?:{_PART})?(?:{_CLOCK})?")


@dataclass(frozen=True, slots=True)
class TimeMatch:
    start: int
    end: int
    text: str
    value: datetime
    grain: str  # minute | part | day | week


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(TZ)
    return now.replace(tzinfo=TZ) if now.tzinfo is None else now.astimezone(TZ)


def _weekday_date(today: date, prefix: str, wd: int) -> date:
    monday = today - timedelta(days=today.weekday())
    if prefix in ("下", "下个"):
        return monday + timedelta(days=7 + wd)
    if prefix == "下下":
        return monday + timedelta(days=14 + wd)
    if prefix in ("这", "这个", "本"):
        return monday + timedelta(days=wd)
    # a bare 周三 means the coming one (today if today is that day)
    ahead = (wd - today.weekday()) % 7
    return today + timedelta(days=ahead)


def _day_of(m: re.Match[str], today: date) -> tuple[date | None, str | None]:
    if m.group("rel"):
        return today + timedelta(days=_REL_DAY[m.group("rel")]), None
    if m.group("contracted"):
        offset, part = _CONTRACTED[m.group("contracted")]
        return today + timedelta(days=offset), part
    if m.group("wd"):
        prefix = m.group("wkprefix") or ""
        if m.group("wd") == "末":
            sat = _weekday_date(today, prefix, 5)
            # on a Sunday the bare 周末 is today
            return (today if not prefix and today.weekday() == 6 else sat), None
        return _weekday_date(today, prefix, _WEEKDAY[m.group("wd")]), None
    if m.group("wkrel"):
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(days=7 * _REL_WEEK[m.group("wkrel")]), None
    if m.group("mrel"):
        step = {"下个": 1, "下": 1, "这个": 0, "本": 0, "上个": -1, "上": -1}[m.group("mrel")]
        y, mo = divmod(today.year * 12 + today.month - 1 + step, 12)
        mday = int(
            m.group("mrelday")
            or {"底": 28, "末": 28, "中旬": 15, "下旬": 21, "上旬": 1}.get(m.group("mpart") or "", 1)
        )
        try:
            return date(y, mo + 1, mday), None
        except ValueError:
            return None, None
    if m.group("month"):
        month, mday = int(m.group("month")), int(m.group("mday"))
        for year in (today.year, today.year + 1):
            try:
                d = date(year, month, mday)
            except ValueError:
                return None, None
            if d >= today - timedelta(days=1):
                return d, None
        return None, None
    if m.group("day"):
        mday = int(m.group("day"))
        year, month = today.year, today.month
        for _ in range(2):
            try:
                found: date | None = date(year, month, mday)
            except ValueError:
                found = None
            if found is not None and found >= today:
                return found, None
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return None, None
    return None, None


def _hour(m: re.Match[str], part: str | None) -> tuple[int, int] | None:
    hour = int(m.group("hour"))
    minute = 30 if m.group("half") else 15 if m.group("quarter") else int(m.group("minute") or 0)
    if hour > 24 or minute > 59:
        return None
    if (part in _PM_PARTS and hour < 12) or (part == "中午" and hour <= 2):
        hour += 12
    elif part is None and 1 <= hour <= 6:
        hour += 12  # 约3点 means the afternoon; nobody books a home visit at 3 am
    return hour % 24, minute


def find_times(text: str, now: datetime | None = None) -> list[TimeMatch]:
    """Every time expression in normalised text, left to right."""
    ref = _now(now)
    today = ref.date()
    found: list[TimeMatch] = []
    for m in _EXPR.finditer(text):
        if m.end() == m.start():
            continue
        has_day = any(m.group(g) for g in ("rel", "contracted", "wd", "month", "day", "wkrel", "mrel"))
        part = m.group("part")
        has_clock = m.group("hour") is not None
        if not (has_day or part or has_clock):
            continue
        # a bare number with 点 (3点) is a time only when something else in the match supports it
        # or it reads like a clock (3点半, 3点10分); alone it is often a count (几点意见)
        bare_clock = has_clock and not (has_day or part) and not (m.group("half") or m.group("minute"))
        if bare_clock and not re.search(
            r"(?:约|在|到|前|后|左右|以前|之前)", text[max(0, m.start() - 2) : m.end() + 2]
        ):
            continue
        # 5号 alone is too often a building or bus (5号楼 is excluded above, but 5号线 ...)
        if (
            m.group("day")
            and not (part or has_clock)
            and not re.search(r"[到在前后那]", text[max(0, m.start() - 1) : m.start()])
        ):
            continue
        day, contracted_part = (None, None)
        if has_day:
            day, contracted_part = _day_of(m, today)
            if day is None:
                continue
        part = part or contracted_part
        grain = "day"
        if has_clock:
            hm = _hour(m, part)
            if hm is None:
                continue
            at, grain = time(*hm), "minute"
        elif part:
            at, grain = time(_PART_HOUR[part]), "part"
        else:
            at = time(9)  # a day alone: the start of office hours
        if day is None:
            day = today
            # 下午3点 said at 17:00 means tomorrow
            if datetime.combine(day, at, TZ) < ref - timedelta(minutes=30):
                day += timedelta(days=1)
        if grain == "day":
            grain = "weekend" if m.group("wd") == "末" else "week" if m.group("wkrel") else grain
            grain = "month" if m.group("mrel") and not m.group("mrelday") else grain
        found.append(TimeMatch(m.start(), m.end(), m.group(0), datetime.combine(day, at, TZ), grain))
    return found
