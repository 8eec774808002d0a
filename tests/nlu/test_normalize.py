import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.normalize import normalize

CASES = [
    ("我妈八十多岁了", "我妈80多岁了"),
    ("我妈八十多了一个人住", "我妈80多了一个人住"),
    ("奶奶九十了", "奶奶90了"),
    ("我爸七十出头", "我爸70出头"),
    ("爷爷一百零二岁", "爷爷102岁"),
    ("住三幢二单元五零一室", "住3幢2单元501室"),
    ("十二号楼", "12号楼"),
    ("二十二栋", "22栋"),
    ("住在三楼", "住在3楼"),
    ("电话幺三八一二三四五六七八", "电话13812345678"),
    ("下午三点", "下午3点"),
    ("晚上七点半", "晚上7点半"),
    ("下周三下午三点十分", "下周三下午3点10分"),
    ("两点左右", "2点左右"),
    ("三月五号上午", "3月5号上午"),
    ("我媽八十多歲了", "我妈80多岁了"),
    ("電話號碼", "电话号码"),
    ("ＡＢＣ１２３", "ABC123"),
    ("你好，\t 请问  一下", "你好, 请问 一下"),
    ("  前后空格  ", "前后空格"),
]

UNCHANGED = [
    "一个人住",
    "等一下",
    "十分感谢",
    "万一摔了",
    "好一点了",
    "差一点",
    "一点点",
    "三天两头",
    "一层灰",
    "十月怀胎",
    "一楼大厅",
    "一起去",
    "一百个放心",
    "说一不二",
    "五花八门",
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_words_with_numerals_are_left_alone(text: str) -> None:
    assert normalize(text) == text


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


_NUMERALISH = st.text(
    alphabet="零一二两三四五六七八九十百幺岁多了幢单元室号楼层点半分月日周下午上晚我妈住 ,，", max_size=30
)


@settings(max_examples=600, deadline=None)
@given(_NUMERALISH)
def test_idempotent_on_numeral_soup(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
