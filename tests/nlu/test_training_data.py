from pathlib import Path

import pytest

from nlu.parse import NONE_INTENT
from nlu.paths import DATA_DIR, EXAMPLES_FILE
from nlu.training_data import read_dir, read_examples_file, read_rasa_nlu, strip_annotations


@pytest.mark.parametrize(
    ("marked", "plain", "spans"),
    [
        (
            "住[复兴社区](address)[3幢](address)",
            "住复兴社区3幢",
            [("address", 1, 5, "复兴社区"), ("address", 5, 7, "3幢")],
        ),
        ("电话[13857112233](phone)", "电话13857112233", [("phone", 2, 13, "13857112233")]),
        ('[明天上午]{"entity": "time", "value": "x"}来', "明天上午来", [("time", 0, 4, "明天上午")]),
        ("[我妈](person:母亲)", "我妈", [("person", 0, 2, "我妈")]),
        ("没有标注的句子", "没有标注的句子", []),
        ("方括号[不是实体]的文字", "方括号[不是实体]的文字", []),
    ],
)
def test_strip_annotations(marked: str, plain: str, spans: list[tuple[str, int, int, str]]) -> None:
    text, found = strip_annotations(marked)
    assert text == plain
    assert [(s.entity, s.start, s.end, s.text) for s in found] == spans
    assert all(text[s.start : s.end] == s.text for s in found)


def test_read_rasa_nlu(tmp_path: Path) -> None:
    f = tmp_path / "nlu.yml"
    f.write_text(
        'version: "3.1"\nnlu:\n- intent: YL001\n  examples: |\n    - 给[我妈](person)送饭\n    - 老人送饭\n'
        "- intent: greet\n  examples: |\n    - 你好\n- synonym: 老人\n  examples: |\n    - 老年人\n"
        "- regex: phone\n  examples: |\n    - 1[3-9]\\d{9}\n",
        encoding="utf-8",
    )
    ex = read_rasa_nlu(f)
    assert [(e.text, e.label) for e in ex] == [
        ("给我妈送饭", "YL001"),
        ("老人送饭", "YL001"),
        ("你好", "greet"),
    ]
    assert ex[0].spans[0].text == "我妈"


def test_read_examples_file_maps_none(tmp_path: Path) -> None:
    f = tmp_path / "t.yml"
    f.write_text(
        "items:\n  - text: 今天天气不错\n    label: none\n    speaker: resident\n"
        "  - text: 给老人送饭\n    label: YL001\n",
        encoding="utf-8",
    )
    ex = read_examples_file(f)
    assert [(e.text, e.label) for e in ex] == [("今天天气不错", NONE_INTENT), ("给老人送饭", "YL001")]
    assert ex[0].speaker == "resident"


def test_project_training_data_is_readable() -> None:
    examples = read_dir(DATA_DIR)
    assert len(examples) > 100
    assert all(e.text.strip() and e.label for e in examples)
    assert all("](" not in e.text for e in examples), "an annotation was not stripped"


def test_examples_file_readable() -> None:
    if not EXAMPLES_FILE.exists():
        pytest.skip("../shared/catalog/examples.yml is not beside the repository")
    assert len(read_examples_file(EXAMPLES_FILE)) >= 10
