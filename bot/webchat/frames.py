"""The web chat's JSON frames: strict parsing of what the browser sends, drawing of what we send.

Client → server (every frame that carries content has ``id``, a client-made message id that is
kept when the page resends after a reconnect, so the conversation can de-duplicate it)::

    {"type": "text", "id": …, "text": …}
    {"type": "button", "id": …, "data": …}
    {"type": "contact", "id": …, "phone": …}
    {"type": "location", "id": …, "lat": …, "lon": …}
    {"type": "photo", "id": …, "ref": …, "caption": …}     ref from POST /webchat/upload
    {"type": "voice", "id": …, "ref": …}
    {"type": "ack", "seq": …}                              every reply up to seq was shown

Server → client::

    {"type": "hello", "next": …, "max_text": …}              first, on every connection
    {"type": "reply", "seq": …, "text": …, "buttons": [[…]], "keyboard": [[…]] | null,
     "remove_keyboard": …, "photo": url | null}
    {"type": "done", "id": …}                                 the message was handled (replies sent)
    {"type": "error", "code": …, "message": …, "id": …}
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from handlers.messages import MAX_CALLBACK_BYTES, ButtonKind, Reply

CONTENT_TYPES = frozenset({"text", "button", "contact", "location", "photo", "voice"})
MESSAGE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
REF_RE = re.compile(r"^[a-z]{1,8}_[A-Za-z0-9_-]{22}$")
_PHONE_STRIP = re.compile(r"[\s\-()（）]")
_PHONE_RE = re.compile(r"^(\+?86)?(1[3-9]\d{9}|0\d{9,11}|[2-9]\d{6,7})$")
_ALLOWED_CONTROLS = frozenset("\n\r\t")
MAX_CAPTION_CHARS = 1000


class FrameError(ValueError):
    """The frame cannot be used. ``code`` picks the message in texts.ERRORS."""

    def __init__(self, code: str, message_id: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message_id = message_id


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """One valid frame from the browser. Only the fields of its type are set."""

    type: str
    id: str = ""
    text: str | None = None
    data: str | None = None
    phone: str | None = None
    location: tuple[float, float] | None = None
    ref: str | None = None
    seq: int | None = None


def has_control_chars(text: str) -> bool:
    for ch in text:
        if ch in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch == "\ufffd":
            return True
    return False


def _text(value: Any, limit: int, message_id: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise FrameError("bad_field", message_id)
    if len(value) > limit:
        raise FrameError("too_long", message_id)
    if has_control_chars(value):
        raise FrameError("control_chars", message_id)
    if required and not value.strip():
        raise FrameError("empty", message_id)
    return value if value.strip() else None


def _coordinate(value: Any, bound: float, message_id: str) -> float:
    # bool is an int in Python; true/false is never a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FrameError("bad_location", message_id)
    f = float(value)
    if not math.isfinite(f) or abs(f) > bound:
        raise FrameError("bad_location", message_id)
    return f


def normalize_phone(value: Any) -> str | None:
    """Digits (with a leading + if given) when it looks like a Chinese phone number, else None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    cleaned = _PHONE_STRIP.sub("", value)
    return cleaned if _PHONE_RE.match(cleaned) else None


def parse_frame(raw: str, *, max_text: int, max_frame_chars: int) -> ClientFrame:
    """Parse and check one text frame; raises FrameError saying what is wrong."""
    if len(raw) > max_frame_chars:
        raise FrameError("too_big")
    try:
        obj = json.loads(raw)
    except ValueError as e:  # JSONDecodeError, and lone surrogates that cannot be decoded
        raise FrameError("bad_json") from e
    if not isinstance(obj, dict):
        raise FrameError("bad_json")
    kind = obj.get("type")
    if kind == "ack":
        seq = obj.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise FrameError("bad_field")
        return ClientFrame("ack", seq=seq)
    if not isinstance(kind, str) or kind not in CONTENT_TYPES:
        raise FrameError("unknown_type")
    message_id = obj.get("id")
    if not isinstance(message_id, str) or not MESSAGE_ID_RE.match(message_id):
        raise FrameError("bad_id")
    if kind == "text":
        return ClientFrame(kind, message_id, text=_text(obj.get("text"), max_text, message_id, required=True))
    if kind == "button":
        data = obj.get("data")
        if not isinstance(data, str) or not data or len(data.encode("utf-8", "replace")) > MAX_CALLBACK_BYTES:
            raise FrameError("bad_button", message_id)
        if has_control_chars(data):
            raise FrameError("bad_button", message_id)
        return ClientFrame(kind, message_id, data=data)
    if kind == "contact":
        phone = normalize_phone(obj.get("phone"))
        if phone is None:
            raise FrameError("bad_phone", message_id)
        return ClientFrame(kind, message_id, phone=phone)
    if kind == "location":
        lat = _coordinate(obj.get("lat"), 90, message_id)
        lon = _coordinate(obj.get("lon"), 180, message_id)
        return ClientFrame(kind, message_id, location=(lat, lon))
    ref = obj.get("ref")
    if not isinstance(ref, str) or not REF_RE.match(ref):
        raise FrameError("bad_ref", message_id)
    caption = _text(obj.get("caption"), min(max_text, MAX_CAPTION_CHARS), message_id, required=False)
    return ClientFrame(kind, message_id, ref=ref, text=caption if kind == "photo" else None)


def _button(b: Any) -> dict[str, str]:
    return {"label": b.label, "data": b.data, "kind": str(b.kind)}


def reply_frame(reply: Reply, seq: int, photo_url: str | None = None) -> dict[str, Any]:
    """Draw a Reply: CALLBACK buttons under the message, the other kinds as the big keyboard.

    ``keyboard`` is None when the reply leaves the current keyboard as it is (Telegram's rule: a
    reply keyboard stays until another one replaces it or a reply removes it).
    """
    inline: list[list[dict[str, str]]] = []
    keyboard: list[list[dict[str, str]]] = []
    for row in reply.buttons:
        inline_row = [_button(b) for b in row if b.kind is ButtonKind.CALLBACK]
        keyboard_row = [_button(b) for b in row if b.kind is not ButtonKind.CALLBACK]
        if inline_row:
            inline.append(inline_row)
        if keyboard_row:
            keyboard.append(keyboard_row)
    return {
        "type": "reply",
        "seq": seq,
        "text": reply.text,
        "buttons": inline,
        "keyboard": keyboard or None,
        "remove_keyboard": reply.remove_keyboard and not keyboard,
        "photo": photo_url,
    }


def error_frame(code: str, message: str, message_id: str | None = None) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "id": message_id}
