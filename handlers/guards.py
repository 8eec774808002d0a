"""Input limits checked before any dialogue sees a message."""

from __future__ import annotations

import unicodedata

from handlers.messages import Inbound

_ALLOWED_CONTROLS = {"\n", "\r", "\t"}


def input_problem(inbound: Inbound, max_chars: int) -> str | None:
    """Why this message cannot be handled (a short reason key), or None when it is fine.

    A message with nothing to act on (no text, button, contact, location, photo or voice) is
    "empty"; text that is only whitespace is "blank"; text over ``max_chars`` is "too_long";
    control characters (other than line breaks and tabs) or unassigned code points are "binary".
    """
    text = inbound.text
    has_other = any((inbound.callback_data, inbound.phone, inbound.location, inbound.photo, inbound.voice))
    if text is None:
        return None if has_other else "empty"
    if not text.strip():
        return None if has_other else "blank"
    if len(text) > max_chars:
        return "too_long"
    for ch in text:
        if ch in _ALLOWED_CONTROLS:
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn") or ch == "\ufffd":
            return "binary"
    return None
