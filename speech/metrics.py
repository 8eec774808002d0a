"""Character error rate, for tests and bench/voice_bench.py."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from speech.text import clean_transcript

_NOT_CHAR = re.compile(r"[\W_]+")


def comparable(text: str) -> str:
    """Reference and hypothesis alike: normalised (七点 and 7点 are the same), punctuation and spaces dropped."""
    return _NOT_CHAR.sub("", clean_transcript(text))


def char_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance, reference length) in characters, after `comparable`."""
    ref, hyp = comparable(reference), comparable(hypothesis)
    return Levenshtein.distance(ref, hyp), len(ref)


def cer(reference: str, hypothesis: str) -> float:
    errors, length = char_errors(reference, hypothesis)
    return errors / max(length, 1)
