"""Text normalisation applied to every message before training and parsing.

Traditional → Simplified, full-width → half-width ASCII, whitespace collapsed, and Chinese numerals
turned into digits only where the context says they are a number people write with digits: ages,
building / unit / room numbers, clock times, dates and spoken digit strings (phone numbers).
Words that merely contain a numeral (一个人, 一下, 十分, 万一, 三天两头) are left alone.
"""

from __future__ import annotations

import re
from functools import lru_cache

import cn2an
from opencc import OpenCC

_DIGIT = {
    "零": "0",
    "〇": "0",
    "幺": "1",
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
_NUM = "零〇一二两三四五六七八九十百"
_DAYPART = "凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|今晚|明晚|今早|明早"

# Runs of three or more single digits are read digit by digit (phone numbers, room numbers, years).
_DIGIT_RUN = re.compile(r"[零〇幺一二三四五六七八九]{3,}")
# A Chinese numeral followed by a unit that marks an address, an age or a date.
_UNIT = re.compile(
    rf"(?<![{_NUM}])([{_NUM}]+)(?=(?:周岁|岁|多岁|幢|栋|号楼|单元|室|号|弄|月[{_NUM}\d]+[号日]))"
)
# Floors and storeys: 三楼, 十二层; a lone 一 stays (一层灰, 一楼 is fine but 一层 often is not a floor).
_FLOOR = re.compile(rf"(?<![{_NUM}])([{_NUM}]{{2,}}|[二两三四五六七八九十])(?=[楼层](?!下|上|梯))")
# Ages said without 岁: 八十多了, 九十了, 七十出头, 八十好几.
_AGE = re.compile(
    rf"(?<![{_NUM}])([二三四五六七八九]十[一二三四五六七八九]?|一百[零一二三四五六七八九十]*)(?=多了|了|出头|好几|多岁|岁)"
)
# Clock times: 下午三点, 晚上七点半, 3点十分; a bare 一点 (a bit) stays unless a day part precedes it.
_CLOCK = re.compile(
    rf"(?:(?<=(?:{_DAYPART}))([{_NUM}]+)|(?<![{_NUM}一\d])([二两三四五六七八九十][{_NUM}]*))(?=点)"
)
_MINUTE = re.compile(rf"(?<=\d点)([{_NUM}]+)(?=分)")
_SPACE = re.compile(r"\s+")
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _traditional_starts() -> frozenset[str] | None:
    """First characters of every t2s rule that changes something; None when OpenCC's layout is unknown.

    A text with none of them comes out of the converter unchanged, so most messages skip it (it is a
    third of the cost of a parse).
    """
    conv = _t2s()
    conv.convert("")
    try:
        return frozenset(
            key[0]
            for group in conv._dict_chain_data
            for _, _, table in group
            for key, value in table.items()
            if key != value
        )
    except (AttributeError, TypeError, ValueError):
        return None


def _to_int(num: str) -> str | None:
    if all(ch in _DIGIT for ch in num):
        return "".join(_DIGIT[ch] for ch in num) if len(num) > 1 else _DIGIT[num]
    try:
        value = cn2an.cn2an(num.replace("两", "二"), "strict")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return str(int(value))


def _sub_num(pattern: re.Pattern[str], text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        group = next(i for i in range(1, (m.lastindex or 0) + 1) if m.group(i) is not None)
        num = m.group(group)
        digits = _to_int(num)
        if digits is None:
            return m.group(0)
        return m.group(0)[: m.start(group) - m.start(0)] + digits + m.group(0)[m.end(group) - m.start(0) :]

    return pattern.sub(repl, text)


def numerals_to_digits(text: str) -> str:
    """Turn Chinese numerals into digits in ages, addresses, times and digit strings only."""
    if not any(ch in _DIGIT or ch in "十百" for ch in text):
        return text
    text = _DIGIT_RUN.sub(lambda m: "".join(_DIGIT[c] for c in m.group(0)), text)
    for pattern in (_AGE, _UNIT, _FLOOR, _CLOCK, _MINUTE):
        text = _sub_num(pattern, text)
    # 3月五号: the day after a converted month.
    text = _sub_num(re.compile(rf"(?<=\d月)([{_NUM}]+)(?=[号日])"), text)
    return text


def normalize(text: str) -> str:
    """Normalise one message; idempotent, never raises on any string."""
    text = text.translate(_FULLWIDTH)
    if not text.isascii():
        starts = _traditional_starts()
        if starts is None or not starts.isdisjoint(text):
            text = _t2s().convert(text)
    text = _SPACE.sub(" ", text).strip()
    return numerals_to_digits(text)
