"""From what a recognizer printed to what NLU reads: Simplified characters, digits, no filler."""

from __future__ import annotations

import re

from nlu.normalize import normalize

# Whisper sometimes echoes the prompt or emits subtitle credits on near-silence; drop them.
_NOISE = re.compile(r"(字幕(由|提供|制作)[^。,，]*|请不吝点赞[^。]*|Amara\.org[^。]*)")


def clean_transcript(raw: str) -> str:
    """Simplified Chinese (OpenCC t2s) with spoken numerals as digits (八十多岁 → 80多岁),
    via the same ``nlu.normalize.normalize`` that typed messages go through."""
    text = normalize(raw)
    text = _NOISE.sub("", text)
    return text.strip(" ,")
