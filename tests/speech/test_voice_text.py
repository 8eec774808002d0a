import pytest

from speech.text import clean_transcript


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("我媽八十多歲了，一個人住", "我妈80多岁了,一个人住"),
        ("住在三幢二單元", "住在3幢2单元"),
        ("電話幺三八零五七一一二三四", "电话13805711234"),
        ("網格員巡查發現井蓋丟了。", "网格员巡查发现井盖丢了。"),
        ("  好的  ", "好的"),
        ("字幕由Amara.org社区提供", ""),
    ],
)
def test_transcripts_are_simplified_with_digits(raw, clean):
    assert clean_transcript(raw) == clean


def test_words_with_numerals_stay_words():
    assert clean_transcript("一个人在家，十分着急") == "一个人在家,十分着急"
