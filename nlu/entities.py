"""Rule-based entity extraction: phone, address, time, person and age, on normalised text."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

from catalog.loader import load_catalog
from nlu.parse import Entity
from nlu.timeexpr import find_times

_MOBILE = re.compile(r"(?<![\dA-Za-z])(1[3-9]\d)[- ]?(\d{4}|[xX*]{4})[- ]?(\d{4})(?![\d])")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?([2-9]\d{6,7})(?!\d)")
_LOCAL = re.compile(r"(?:电话|座机|号码|打|是|:)\s?([5-8]\d{7})(?!\d)")
_BUILDING = re.compile(
    r"(?<![\d-])(?:\d{1,3}(?:幢|栋|号楼|号院)(?:\d{1,2}单元)?(?:\d{2,4}(?:室|号)?)?"
    r"|\d{1,2}单元\d{2,4}室?|\d{3,4}室|\d{1,2}(?:楼|层)(?![下上梯道]))"
)
# Road names: two to four characters before 路/街/巷/弄, then an optional house number.
_ROAD = re.compile(r"([\u4e00-\u9fa5]{2,4}(?:路|街|巷|弄))(\d{1,4}(?:号|弄)(?:\d{1,4}号)?)")
_ROAD_TAIL = re.compile(r"[路街巷弄](?:\d{1,4}号)?")
_ROAD_LEAD = "住在家到去是的于从往就那这我他她在"
_HOOD = re.compile(r"([\u4e00-\u9fa5]{2,5})(社区|小区)")
_SHORT_NEXT = re.compile(r"(?:社区|小区|那边|这边|附近|一带|片区|路|街|巷|的|,|，|。|\s|$)")

_RELATIONS = {
    "母亲": ("妈妈", "我妈", "老妈", "母亲", "俺妈", "我娘"),
    "父亲": ("爸爸", "我爸", "老爸", "父亲", "俺爸", "老爷子"),
    "配偶": ("老伴", "老公", "老婆", "爱人", "丈夫", "妻子", "媳妇"),
    "祖母": ("奶奶", "外婆", "姥姥", "婆婆"),
    "祖父": ("爷爷", "外公", "姥爷"),
    "子女": ("孩子", "小孩", "儿子", "女儿", "宝宝", "孙子", "孙女", "外孙", "外孙女", "闺女", "娃"),
    "邻居": ("邻居", "隔壁老人"),
}
_RELATION_OF = {w: rel for rel, words in _RELATIONS.items() for w in words}
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余杜叶程魏苏吕丁沈任姚卢傅钟"
    "姜崔谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱侯江尹薛闫段雷黎史龙陶贺顾毛郝龚邵万钱严覃武戴莫孔汤俞倪"
)
_TITLES = "阿姨|大伯|大爷|大妈|大娘|奶奶|爷爷|阿婆|阿公|老伯|伯伯|婆婆|叔叔|大姐|大哥|师傅|老师|先生|女士|老太|老头|某某|某"
# 老王 / 小李, leaving out surnames that start common words (小程序, 老毛病, 小龙虾, 老黄历, 小石子)
_SHORT_SURNAMES = "".join(ch for ch in _SURNAMES if ch not in "毛龙程石金白叶万江方马田黄汤段钱余苏任")
_NAMED = re.compile(rf"[{_SURNAMES}](?:{_TITLES})|[老小][{_SHORT_SURNAMES}]")
_KIN = re.compile("|".join(sorted(_RELATION_OF, key=len, reverse=True)))
_AGE = re.compile(r"(?<![\d.])(\d{1,3})(?=(?:周岁|岁|多岁|来岁|多了|了|出头|好几))")
_AGE_CONTEXT = re.compile(r"(?:今年|年满|年龄|高龄|已经)(\d{2,3})(?![\d岁])")


@dataclass(frozen=True, slots=True)
class _Place:
    code: str
    street: str
    name: str


class _Gazetteer:
    """Community and street names from the catalog, with their pinyin for homophone matching."""

    def __init__(self) -> None:
        cat = load_catalog()
        self.full: dict[str, _Place] = {}
        self.short: dict[str, _Place] = {}
        for c in cat.communities.values():
            place = _Place(c.code, c.street, c.name)
            self.full[c.name] = place
            self.short[c.name.removesuffix("社区")] = place
        for s in cat.streets.values():
            place = _Place(s.code, s.code, s.name)
            self.full[s.name] = place
            self.short.setdefault(s.name.removesuffix("街道"), place)
        self.pinyin = {"".join(lazy_pinyin(name)): name for name in self.short}
        self.names = sorted((*self.full, *self.short), key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, self.names)))

    def fuzzy(self, stem: str) -> _Place | None:
        """A near miss or a homophone of a community name written before 社区/小区."""
        for start in range(len(stem) - 1):
            cand = stem[start:]
            hit = process.extractOne(
                "".join(lazy_pinyin(cand)), self.pinyin.keys(), scorer=fuzz.ratio, score_cutoff=88
            )
            if hit is not None:
                return self.short[self.pinyin[hit[0]]]
            chars = process.extractOne(cand, self.short.keys(), scorer=fuzz.ratio, score_cutoff=80)
            if chars is not None and len(cand) >= 3:
                return self.short[chars[0]]
        return None


_gazetteer: _Gazetteer | None = None
_lock = threading.Lock()


def _places() -> _Gazetteer:
    global _gazetteer
    if _gazetteer is None:
        with _lock:
            if _gazetteer is None:
                _gazetteer = _Gazetteer()
    return _gazetteer


def _free(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= s or start >= e for s, e in taken)


def _phones(text: str) -> list[Entity]:
    out: list[Entity] = []
    for m in _MOBILE.finditer(text):
        out.append(Entity("phone", m.group(0), m.start(), m.end(), "".join(m.groups()).lower()))
    for m in _LANDLINE.finditer(text):
        if _free([(e.start, e.end) for e in out], m.start(), m.end()):
            out.append(Entity("phone", m.group(0), m.start(), m.end(), f"{m.group(1)}-{m.group(2)}"))
    for m in _LOCAL.finditer(text):
        if _free([(e.start, e.end) for e in out], m.start(1), m.end(1)):
            out.append(Entity("phone", m.group(1), m.start(1), m.end(1), m.group(1)))
    return out


def _addresses(text: str, taken: list[tuple[int, int]]) -> list[Entity]:
    g = _places()
    out: list[Entity] = []
    for m in g.pattern.finditer(text):
        name = m.group(0)
        place = g.full.get(name) or g.short[name]
        is_short = name not in g.full
        if is_short and len(name) <= 2 and not _SHORT_NEXT.match(text, m.end()):
            continue
        end = m.end()
        if is_short and text.startswith(("社区", "小区"), end):
            end += 2
        elif is_short and (tail := _ROAD_TAIL.match(text, end)):
            end = tail.end()  # 秋涛路58号: the road that gave the community its name
        if not _free(taken, m.start(), end):
            continue
        extra = {"street": place.street}
        if len(place.code) == 4:
            extra["community"] = place.code
        out.append(Entity("address", text[m.start() : end], m.start(), end, place.code, extra))
        taken.append((m.start(), end))
    for m in _HOOD.finditer(text):
        stem = m.group(1).lstrip(_ROAD_LEAD)
        start = m.end(1) - len(stem)
        if len(stem) < 2 or not _free(taken, start, m.end()):
            continue
        near = g.fuzzy(stem)
        if near is not None:
            fuzzy_extra = {"street": near.street, "community": near.code, "fuzzy": True}
            out.append(Entity("address", text[start : m.end()], start, m.end(), near.code, fuzzy_extra))
            taken.append((start, m.end()))
    for m in _ROAD.finditer(text):
        road = m.group(1).lstrip(_ROAD_LEAD)
        start = m.end(1) - len(road)
        if len(road) >= 2 and _free(taken, start, m.end()):
            out.append(
                Entity(
                    "address", text[start : m.end()], start, m.end(), text[start : m.end()], {"road": road}
                )
            )
            taken.append((start, m.end()))
    for m in _BUILDING.finditer(text):
        if _free(taken, m.start(), m.end()):
            out.append(Entity("address", m.group(0), m.start(), m.end(), m.group(0), {"building": True}))
            taken.append((m.start(), m.end()))
    return out


def _people(text: str, taken: list[tuple[int, int]]) -> list[Entity]:
    out: list[Entity] = []
    for m in _NAMED.finditer(text):
        if _free(taken, m.start(), m.end()):
            out.append(Entity("person", m.group(0), m.start(), m.end(), m.group(0), {"named": True}))
            taken.append((m.start(), m.end()))
    for m in _KIN.finditer(text):
        if _free(taken, m.start(), m.end()):
            rel = _RELATION_OF[m.group(0)]
            out.append(Entity("person", m.group(0), m.start(), m.end(), rel, {"relation": rel}))
            taken.append((m.start(), m.end()))
    return out


def _ages(text: str, taken: list[tuple[int, int]]) -> list[Entity]:
    out: list[Entity] = []
    for pattern in (_AGE, _AGE_CONTEXT):
        for m in pattern.finditer(text):
            value = int(m.group(1))
            # 等了3天了 is not an age; people worth a home service are 1-120 and 了 alone needs >= 50
            tail = text[m.end(1) : m.end(1) + 2]
            if not 0 < value <= 120 or (tail.startswith(("了", "多了")) and value < 50):
                continue
            if _free(taken, m.start(1), m.end(1)):
                out.append(Entity("age", m.group(1), m.start(1), m.end(1), value))
                taken.append((m.start(1), m.end(1)))
    return out


def extract_entities(text: str, now: datetime | None = None) -> tuple[Entity, ...]:
    """All entities in normalised text, sorted by position; `now` anchors relative times."""
    phones = _phones(text)
    taken = [(e.start, e.end) for e in phones]
    times: list[Entity] = []
    for t in find_times(text, now):
        if _free(taken, t.start, t.end):
            times.append(Entity("time", t.text, t.start, t.end, t.value.isoformat(), {"grain": t.grain}))
            taken.append((t.start, t.end))
    addresses = _addresses(text, taken)
    ages = _ages(text, taken)
    people = _people(text, taken)
    return tuple(sorted((*phones, *times, *addresses, *ages, *people), key=lambda e: (e.start, e.end)))
