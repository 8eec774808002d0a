import pytest

from speech.metrics import cer, char_errors, comparable


def test_comparable_ignores_punctuation_script_and_numeral_style():
    assert comparable("早上七點，就下班了。") == comparable("早上7点就下班了")


@pytest.mark.parametrize(
    ("ref", "hyp", "errors"),
    [
        ("小区督导员", "小区督导员", 0),
        ("小区督导员", "小区多岛元", 3),
        ("小区督导员", "小区", 3),
        ("垃圾", "垃圾桶满", 2),
    ],
)
def test_char_errors(ref, hyp, errors):
    assert char_errors(ref, hyp) == (errors, len(ref))


def test_cer_of_nothing_heard():
    assert cer("你好", "") == 1.0
