from datetime import datetime

import pytest

from nlu.entities import extract_entities
from nlu.entity_eval import score_entities
from nlu.normalize import normalize
from nlu.parse import Entity
from nlu.paths import DATA_DIR
from nlu.training_data import read_dir

MONDAY = datetime(2025, 3, 3, 10, 0)  # Monday 10:00 in Shanghai


def found(text: str, kind: str, now: datetime | None = MONDAY) -> list[Entity]:
    return [e for e in extract_entities(normalize(text), now) if e.entity == kind]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("电话13857112233", "13857112233"),
        ("手机 138-5711-2233 找我", "13857112233"),
        ("联系电话幺三八五七一一二二三三", "13857112233"),
        ("座机0571-87654321", "0571-87654321"),
        ("打057187654321就行", "0571-87654321"),
        ("家里电话是87654321", "87654321"),
        ("电话136xxxx2071", "136xxxx2071"),
    ],
)
def test_phone(text: str, value: str) -> None:
    assert [e.value for e in found(text, "phone")] == [value]


@pytest.mark.parametrize("text", ["住3幢2单元501室", "今年86岁", "2025年3月5号", "房号12345", "12号楼"])
def test_no_phone_in_other_numbers(text: str) -> None:
    assert found(text, "phone") == []


@pytest.mark.parametrize(
    ("text", "span", "value", "street"),
    [
        ("我住复兴社区", "复兴社区", "NX04", "NX"),
        ("望江门社区那边", "望江门社区", "WJ01", "WJ"),
        ("家在小营巷", "小营巷", "XY01", "XY"),
        ("清波们社区的王阿姨", "清波们社区", "QB01", "QB"),  # homophone typo of 清波门
        ("浣沙路社区", "浣沙路社区", "HB07", "HB"),  # 纱 → 沙
        ("湖滨街道", "湖滨街道", "HB", "HB"),
        ("住秋涛路58号", "秋涛路58号", "WJ09", "WJ"),
    ],
)
def test_community_and_street(text: str, span: str, value: str, street: str) -> None:
    addr = found(text, "address")
    assert addr, text
    assert (addr[0].text, addr[0].value, addr[0].extra["street"]) == (span, value, street)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("住三幢二单元五零一室", "3幢2单元501室"),
        ("就在9幢", "9幢"),
        ("12号楼楼下", "12号楼"),
        ("6幢1单元302", "6幢1单元302"),
        ("2单元301室漏水", "2单元301室"),
        ("住在中山南路128号", "中山南路128号"),
        ("建国北路3弄", "建国北路3弄"),
    ],
)
def test_building_and_road(text: str, span: str) -> None:
    assert span in [e.text for e in found(text, "address")]


def test_no_address_in_plain_words() -> None:
    assert found("一路上都很顺利，谢谢你们", "address") == []
    assert found("马路上有个坑", "address") == []


@pytest.mark.parametrize(
    ("text", "iso", "grain"),
    [
        ("明天上午", "2025-03-04T09:00:00+08:00", "part"),
        ("今天下午3点", "2025-03-03T15:00:00+08:00", "minute"),
        ("后天", "2025-03-05T09:00:00+08:00", "day"),
        ("下周三下午3点", "2025-03-12T15:00:00+08:00", "minute"),
        ("下周三下午三点", "2025-03-12T15:00:00+08:00", "minute"),
        ("这周五", "2025-03-07T09:00:00+08:00", "day"),
        ("周三", "2025-03-05T09:00:00+08:00", "day"),
        ("周末", "2025-03-08T09:00:00+08:00", "weekend"),
        ("晚上7点半", "2025-03-03T19:30:00+08:00", "minute"),
        ("晚上七点半", "2025-03-03T19:30:00+08:00", "minute"),
        ("3月5号", "2025-03-05T09:00:00+08:00", "day"),
        ("三月五号上午十点", "2025-03-05T10:00:00+08:00", "minute"),
        ("今晚", "2025-03-03T19:00:00+08:00", "part"),
        ("明早8点", "2025-03-04T08:00:00+08:00", "minute"),
        ("下个月1号", "2025-04-01T09:00:00+08:00", "day"),
        ("下周", "2025-03-10T09:00:00+08:00", "week"),
        ("1月2号", "2026-01-02T09:00:00+08:00", "day"),  # a past date means next year's
    ],
)
def test_time(text: str, iso: str, grain: str) -> None:
    times = found(text, "time")
    assert [(t.value, t.extra["grain"]) for t in times] == [(iso, grain)]


def test_time_that_has_passed_today_moves_to_tomorrow() -> None:
    evening = datetime(2025, 3, 3, 17, 0)
    assert found("下午3点", "time", evening)[0].value == "2025-03-04T15:00:00+08:00"


def test_time_defaults_to_now_in_shanghai() -> None:
    (t,) = found("明天上午", "time", None)
    assert t.value.endswith("+08:00")


@pytest.mark.parametrize("text", ["好一点了", "有几点意见", "5号线地铁", "住5号楼", "一下子"])
def test_no_time_in_plain_words(text: str) -> None:
    assert found(text, "time") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("我妈腿不好", "母亲"),
        ("老伴住院了", "配偶"),
        ("奶奶一个人住", "祖母"),
        ("孩子发烧", "子女"),
        ("王阿姨家", "王阿姨"),
        ("李大伯", "李大伯"),
        ("网格内陈某反映", "陈某"),
        ("老李说", "老李"),
    ],
)
def test_person(text: str, value: str) -> None:
    assert [e.value for e in found(text, "person")][:1] == [value]


@pytest.mark.parametrize("text", ["小区门口", "小程序上报", "老毛病又犯了", "小龙虾店", "老人家"])
def test_no_named_person_in_words(text: str) -> None:
    assert [e for e in found(text, "person") if e.extra.get("named")] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("我妈八十多岁了", 80),
        ("八十多了", 80),
        ("他88岁卧床", 88),
        ("今年86", 86),
        ("我爸九十了", 90),
        ("60周岁以上", 60),
    ],
)
def test_age(text: str, value: int) -> None:
    assert [e.value for e in found(text, "age")] == [value]


@pytest.mark.parametrize("text", ["等了3天了", "3幢", "下午3点了", "一个人"])
def test_no_age(text: str) -> None:
    assert found(text, "age") == []


def test_entities_sorted_and_spans_match_text() -> None:
    text = normalize("我妈八十多了住复兴社区3幢2单元501室，明天上午在家，电话13857112233")
    ents = extract_entities(text, MONDAY)
    assert [e.start for e in ents] == sorted(e.start for e in ents)
    assert all(text[e.start : e.end] == e.text for e in ents)
    assert {e.entity for e in ents} == {"person", "age", "address", "time", "phone"}


def test_recall_on_annotated_training_data() -> None:
    """Measured on the annotated spans of nlu/data: recall of the main slots stays high."""
    examples = read_dir(DATA_DIR)
    if not any(ex.spans for ex in examples):
        pytest.skip("no annotated training data yet")
    scores = score_entities(examples)
    for kind, floor in (("phone", 0.95), ("address", 0.9), ("age", 0.9), ("person", 0.85), ("time", 0.7)):
        _, _, gold, hit = scores[kind]
        if gold >= 10:
            assert hit / gold >= floor, (kind, hit, gold)
