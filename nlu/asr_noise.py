"""Speech-recognition-like noise for Mandarin text: homophones, near-homophones, lost punctuation.

Whisper on Mandarin mostly writes the right syllables with the wrong characters (沥青 → 力经,
重度 → 众都): toneless homophones, sometimes a near sound (zh/z, n/l, in/ing …), now and then a
dropped character, and punctuation of its own. :class:`AsrNoise` makes such copies of a text, for
training the NLU on what a recognizer prints and for measuring it on noised test sets.

Replacement characters and words come from jieba's general dictionary (word frequencies of a large
general corpus), never from our own data, so the noise knows nothing of the catalog or the tests.

    python -m nlu.asr_noise OUT_DIR FILE.yml ...   # noised copies of examples.yml-style files
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jieba
import yaml
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

_CJK = re.compile(r"[\u4e00-\u9fff]")
_PUNCT = re.compile(r"[\s,.!?;:，。！？、；：…~～]+")
_INITIALS = (
    "zh",
    "ch",
    "sh",
    "b",
    "p",
    "m",
    "f",
    "d",
    "t",
    "n",
    "l",
    "g",
    "k",
    "h",
    "j",
    "q",
    "x",
    "r",
    "z",
    "c",
    "s",
    "y",
    "w",
)
POOL_CHARS = 5000  # the most frequent characters of jieba's dictionary: what a recognizer writes
MIN_WORD_FREQ = 30


@cache
def char_syllable(char: str) -> str:
    """The toneless pinyin of a character's most common reading ('' for non-Chinese characters)."""
    readings = pinyin_dict.get(ord(char))
    if not readings:
        return ""
    return str(to_normal(readings.split(",")[0])).replace("ü", "v")


def split_syllable(syllable: str) -> tuple[str, str]:
    """Initial and final: 'zhuang' → ('zh', 'uang'), 'an' → ('', 'an')."""
    for ini in _INITIALS:
        if syllable.startswith(ini) and len(syllable) > len(ini):
            return ini, syllable[len(ini) :]
    return "", syllable


@dataclass(frozen=True, slots=True)
class ConfusionTable:
    """Pairs of initials and of finals that a recognizer confuses (each pair works both ways)."""

    initials: tuple[tuple[str, str], ...]
    finals: tuple[tuple[str, str], ...]

    def near(self, syllable: str) -> list[str]:
        """Syllables one confusion away (they may not exist in Mandarin; callers look them up)."""
        ini, fin = split_syllable(syllable)
        out = [b + fin for a, b in self._both(self.initials) if a == ini]
        out += [ini + b for a, b in self._both(self.finals) if a == fin]
        return out

    @staticmethod
    def _both(pairs: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
        return [*pairs, *((b, a) for a, b in pairs)]


# The classic southern-Mandarin / IME "fuzzy pinyin" confusions: used for training.
TRAIN_CONFUSIONS = ConfusionTable(
    initials=(("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("h", "f")),
    finals=(("in", "ing"), ("en", "eng"), ("an", "ang"), ("ian", "iang")),
)
# A different set, for noised test copies: a model must not be scored on the confusions it was taught.
EVAL_CONFUSIONS = ConfusionTable(
    initials=(("j", "q"), ("b", "p"), ("d", "t"), ("g", "k"), ("r", "l")),
    finals=(("u", "uo"), ("e", "o"), ("uan", "uang"), ("ie", "ian"), ("ong", "eng")),
)


class _Lexicon:
    """Characters and words of jieba's dictionary, indexed by toneless pinyin, with frequencies."""

    def __init__(self) -> None:
        char_freq: dict[str, int] = defaultdict(int)
        words: list[tuple[str, int]] = []
        path = Path(jieba.__file__).parent / "dict.txt"
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split(" ")
            if len(parts) < 2 or not parts[1].isdigit():
                continue
            word, freq = parts[0], int(parts[1])
            if not all(_CJK.fullmatch(ch) for ch in word):
                continue
            for ch in word:
                char_freq[ch] += freq
            if 2 <= len(word) <= 4 and freq >= MIN_WORD_FREQ:
                words.append((word, freq))
        common = sorted(char_freq, key=lambda c: -char_freq[c])[:POOL_CHARS]
        self.chars: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for ch in common:
            if syl := char_syllable(ch):
                self.chars[syl].append((ch, char_freq[ch]))
        allowed = set(common)
        self.words: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
        for word, freq in words:
            if all(ch in allowed for ch in word):
                self.words[tuple(char_syllable(ch) for ch in word)].append((word, freq))


@cache
def lexicon() -> _Lexicon:
    return _Lexicon()


def _pick(rng: random.Random, items: Sequence[tuple[str, int]], avoid: str, power: float) -> str | None:
    """A random item other than `avoid`, weighted by frequency ** power (recognizers favour common ones)."""
    choices = [(s, f**power) for s, f in items if s != avoid]
    if not choices:
        return None
    cum = list(itertools.accumulate(w for _, w in choices))
    return choices[bisect.bisect_right(cum, rng.random() * cum[-1]) if cum[-1] else 0][0]


@dataclass(frozen=True, slots=True)
class NoiseConfig:
    confusions: ConfusionTable = TRAIN_CONFUSIONS
    char_rate: float = 0.12  # a character becomes a (near-)homophone
    word_rate: float = 0.10  # a word becomes a dictionary word that sounds (nearly) the same
    near_rate: float = 0.3  # of those replacements, the share that uses a confusion instead of the same sound
    drop_rate: float = 0.02  # a character is lost
    punct_keep: float = 0.3  # punctuation kept (else dropped, or a comma/full stop where there was none)
    power: float = 0.7  # replacements are drawn with weight frequency ** power


TRAIN_NOISE = NoiseConfig()
EVAL_NOISE = NoiseConfig(confusions=EVAL_CONFUSIONS, char_rate=0.15, word_rate=0.10, power=1.0)


class AsrNoise:
    """Callable that returns a recognizer-like rendering of a text; deterministic for a seed."""

    def __init__(self, config: NoiseConfig = TRAIN_NOISE, seed: int = 0) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.lex = lexicon()

    def __call__(self, text: str) -> str:
        out: list[str] = []
        for token in jieba.lcut(text, HMM=False):
            if _PUNCT.fullmatch(token):
                r = self.rng.random()
                out.append(token if r < self.config.punct_keep else "" if r < 0.9 else "。")
            elif len(token) >= 2 and _CJK.match(token) and self.rng.random() < self.config.word_rate:
                out.append(self._word(token) or self._chars(token))
            else:
                out.append(self._chars(token))
        return "".join(out)

    def _syllables(self, syllable: str) -> str:
        if self.rng.random() < self.config.near_rate:
            near = [s for s in self.config.confusions.near(syllable) if s in self.lex.chars]
            if near:
                return self.rng.choice(near)
        return syllable

    def _word(self, word: str) -> str | None:
        syl = [char_syllable(ch) for ch in word]
        if not all(syl):
            return None
        i = self.rng.randrange(len(syl))
        fuzzy = (*syl[:i], self._syllables(syl[i]), *syl[i + 1 :])
        candidates = self.lex.words.get(fuzzy) or self.lex.words.get(tuple(syl))
        return _pick(self.rng, candidates, word, self.config.power) if candidates else None

    def _chars(self, token: str) -> str:
        chars: list[str] = []
        for ch in token:
            r = self.rng.random()
            if r < self.config.drop_rate and _CJK.match(ch):
                continue
            if r < self.config.drop_rate + self.config.char_rate and (syl := char_syllable(ch)):
                pool = self.lex.chars.get(self._syllables(syl)) or self.lex.chars.get(syl, [])
                ch = _pick(self.rng, pool, ch, self.config.power) or ch
            chars.append(ch)
        return "".join(chars)


def noisy_copies(texts: Sequence[str], config: NoiseConfig = TRAIN_NOISE, seed: int = 0) -> list[str]:
    """One noised copy per text, reproducible for a seed."""
    noise = AsrNoise(config, seed)
    return [noise(t) for t in texts]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="noised copies of examples.yml-style test files (EVAL_NOISE)")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--seed", type=int, default=20261129)
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    noise = AsrNoise(EVAL_NOISE, args.seed)
    for path in args.files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = doc.get("items", []) if isinstance(doc, dict) else doc
        noised = [{**item, "text": noise(str(item["text"]))} for item in items if item.get("text")]
        dest = args.out_dir / f"{path.parent.name}_{path.name}"
        dest.write_text(
            yaml.safe_dump({"items": noised}, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        print(f"{dest}: {len(noised)} items", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
