"""Sparse text features: jieba words and word bigrams, character 1-3-grams, optional pinyin bigrams.

Training uses scikit-learn's TfidfVectorizer with :func:`analyze` as analyzer; parsing recomputes the
same sublinear TF-IDF by hand (:class:`FastVectorizer`), because the vectorizer's per-call overhead
is larger than the whole rest of a single-message parse.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from nlu.asr_noise import char_syllable
from nlu.dictionary import cut

_PUNCT = re.compile(r"[\s,.!?;:，。！？、；：…~～\"'“”‘’()（）\[\]【】<>《》-]+")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    words: bool = True
    word_bigrams: bool = False
    char_min: int = 1
    char_max: int = 2
    pinyin: bool = True  # toneless pinyin syllable bigrams, against homophones in recognised speech


def syllables(chunk: str) -> list[str]:
    """Toneless pinyin per character (the character itself when it has none, e.g. a digit)."""
    return [char_syllable(ch) or ch for ch in chunk]


def _clean(text: str) -> str:
    # digits carry entity values (phones, rooms), not intent: one shape token is enough
    return _DIGITS.sub("0", text.lower())


def analyze(text: str, config: FeatureConfig) -> list[str]:
    """Feature strings of one normalised text, prefixed by kind (w: word, b: bigram, c: chars, p: pinyin)."""
    text = _clean(text)
    feats: list[str] = []
    if config.words or config.word_bigrams:
        words = [w for w in cut(text) if not _PUNCT.fullmatch(w)]
        if config.words:
            feats.extend("w:" + w for w in words)
        if config.word_bigrams:
            feats.extend(f"b:{a}|{b}" for a, b in itertools.pairwise(words))
    for chunk in _PUNCT.split(text):
        if not chunk:
            continue
        for n in range(config.char_min, config.char_max + 1):
            feats.extend("c:" + chunk[i : i + n] for i in range(len(chunk) - n + 1))
        if config.pinyin:
            feats.extend(f"p:{a} {b}" for a, b in itertools.pairwise(syllables(chunk)))
    return feats


class FastVectorizer:
    """Sublinear TF-IDF with L2 norm for one text, identical to the fitted TfidfVectorizer."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, config: FeatureConfig) -> None:
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float64)
        self.config = config

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Indices and weights of the non-zero features of one text."""
        counts = Counter(f for f in analyze(text, self.config) if f in self.vocabulary)
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        idx = np.fromiter((self.vocabulary[f] for f in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        w = tf * self.idf[idx]
        return idx, w / np.linalg.norm(w)
