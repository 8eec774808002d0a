"""The jieba user dictionary built from the catalog, and the one tokenizer of the process."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import jieba

from catalog.loader import load_catalog
from catalog.model import CaseType, Catalog, Service
from nlu.paths import model_dir

USERDICT_NAME = "userdict.txt"
_ADDRESS_WORDS = ("幢", "单元", "室", "号楼", "栋", "弄", "小区", "社区", "街道", "网格", "网格员", "楼道")
_PERSON_WORDS = ("老伴", "我妈", "我爸", "老人家", "独居老人", "空巢老人", "高龄老人", "失能老人")
_FREQ = 2000  # high enough that catalog words win over jieba's own segmentation
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def catalog_words(catalog: Catalog) -> list[tuple[str, str]]:
    """(word, part-of-speech tag) pairs: service and case names, keywords, communities and streets."""
    words: dict[str, str] = {}

    def add(word: str, tag: str) -> None:
        word = word.strip()
        # jieba's dictionary format is space separated, and one-character words add nothing
        if len(word) >= 2 and not re.search(r"\s", word):
            words.setdefault(word, tag)

    for c in catalog.communities.values():
        add(c.name, "ns")
        add(c.name.removesuffix("社区"), "ns")
    for s in catalog.streets.values():
        add(s.name, "ns")
        add(s.name.removesuffix("街道"), "ns")
    named: list[Service | CaseType] = [*catalog.services.values(), *catalog.case_types.values()]
    for item in named:
        add(item.name, "nz")
        for kw in item.keywords:
            add(kw, "nz")
    for w in _ADDRESS_WORDS:
        add(w, "n")
    for w in _PERSON_WORDS:
        add(w, "nr")
    return sorted(words.items())


def write_userdict(words: Iterable[tuple[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{w} {_FREQ} {tag}\n" for w, tag in words), encoding="utf-8")
    tmp.replace(path)
    return path


def build_userdict(path: Path | None = None, catalog: Catalog | None = None) -> Path:
    """Write the user dictionary (default var/models/nlu/userdict.txt) and return its path."""
    return write_userdict(catalog_words(catalog or load_catalog()), path or model_dir() / USERDICT_NAME)


def tokenizer() -> jieba.Tokenizer:
    """The process-wide tokenizer with the catalog dictionary, built on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                path = model_dir() / USERDICT_NAME
                if not path.exists():
                    build_userdict(path)
                tok.load_userdict(str(path))
                # the address patterns must split as 3 幢 2 单元 501 室 whatever the user dictionary says
                for w in ("幢", "单元", "室", "号楼"):
                    tok.suggest_freq(w, tune=True)
                _tokenizer = tok
    return _tokenizer


def cut(text: str) -> list[str]:
    """Segment already normalised text into words (precise mode, HMM on)."""
    return [w for w in tokenizer().lcut(text) if w.strip()]
