import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from nlu.embedded import EmbeddedParser, default_parser
from nlu.embedded.model import data_hash, is_stale, load, split_holdout
from nlu.parse import NONE_INTENT, ParseKind
from nlu.paths import DATA_DIR, ROOT
from nlu.training_data import read_dir


@pytest.fixture(scope="module")
def parser() -> EmbeddedParser:
    return default_parser()


async def test_parse_returns_top5_and_entities(parser: EmbeddedParser) -> None:
    p = await parser.parse(
        "我妈八十多了一个人住复兴社区，中午饭总是凑合，电话13857112233", now=datetime(2025, 3, 3, 10)
    )
    assert p.kind is ParseKind.SERVICE
    assert len(p.ranking) == 5
    assert [r.confidence for r in p.ranking] == sorted((r.confidence for r in p.ranking), reverse=True)
    assert 0.0 <= p.confidence <= 1.0
    assert p.entity("phone") is not None and p.entity("phone").value == "13857112233"  # type: ignore[union-attr]
    assert p.entity("age") is not None and p.entity("age").value == 80  # type: ignore[union-attr]
    assert p.entity("address") is not None and p.entity("address").value == "NX04"  # type: ignore[union-attr]


def test_kinds_follow_labels(parser: EmbeddedParser) -> None:
    for text in ("楼下那家烧烤天天晚上烟熏火燎的", "你好", "谢谢你们", "今天股票涨了没有"):
        p = parser.parse_sync(text)
        assert p.kind is ParseKind.NONE or p.label == p.ranking[0].label
        if p.kind is ParseKind.NONE:
            assert p.label == NONE_INTENT


def test_empty_text_is_none(parser: EmbeddedParser) -> None:
    p = parser.parse_sync("   ")
    assert p.kind is ParseKind.NONE


def test_saved_model_matches_data(parser: EmbeddedParser) -> None:
    model = parser.model
    assert model.data_hash == data_hash()
    assert not is_stale()
    assert load().labels == model.labels


def test_holdout_split_is_deterministic_and_disjoint() -> None:
    examples = read_dir(DATA_DIR)
    a_train, a_held = split_holdout(examples)
    _, b_held = split_holdout(list(reversed(examples)))
    assert [e.text for e in a_held] == [e.text for e in b_held]
    assert {id(e) for e in a_train}.isdisjoint({id(e) for e in a_held})
    assert len(a_held) / len(examples) == pytest.approx(0.15, abs=0.03)


def test_predict_cli(parser: EmbeddedParser, tmp_path: Path) -> None:
    assert parser.model.labels  # trained and saved now, so the CLI only loads it
    out = subprocess.run(
        [sys.executable, "-m", "nlu", "predict"],
        input="老人想要上门洗澡\n\n你好\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["老人想要上门洗澡", "你好"]
    assert set(rows[0]) == {"text", "kind", "label", "confidence", "ranking", "entities"}
    assert len(rows[0]["ranking"]) == 5


def test_eval_cli(tmp_path: Path) -> None:
    f = tmp_path / "t.yml"
    f.write_text(
        "items:\n  - text: 老人想要上门洗澡\n    label: YL002\n  - text: 今天股市怎么样\n    label: none\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "nlu", "eval", str(f)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert "top-3" in out.stdout and "none" in out.stdout and "per category" in out.stdout
