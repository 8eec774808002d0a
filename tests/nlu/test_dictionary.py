from pathlib import Path

from catalog.loader import load_catalog
from nlu.dictionary import build_userdict, catalog_words, cut, tokenizer


def test_userdict_holds_catalog_words(tmp_path: Path) -> None:
    path = build_userdict(tmp_path / "userdict.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    words = {line.split()[0] for line in lines}
    assert all(len(line.split()) == 3 for line in lines)
    cat = load_catalog()
    assert {"老年助餐送餐", "复兴社区", "复兴", "湖滨街道", "湖滨", "单元"} <= words
    assert all(c.name in words for c in cat.communities.values())
    assert all(s.name in words or " " in s.name for s in cat.services.values())


def test_catalog_words_have_no_spaces_or_single_chars() -> None:
    assert all(len(w) >= 2 and " " not in w for w, _ in catalog_words(load_catalog()))


def test_cut_keeps_catalog_names_whole() -> None:
    words = cut("住在清波门社区想申请老年助餐送餐")
    assert "清波门社区" in words
    assert "老年助餐送餐" in words


def test_cut_splits_address_patterns() -> None:
    assert cut("3幢2单元501室") == ["3", "幢", "2", "单元", "501", "室"]


def test_one_tokenizer_per_process() -> None:
    assert tokenizer() is tokenizer()
