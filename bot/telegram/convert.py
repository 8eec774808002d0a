"""Between Telegram's types and the channel-neutral messages: Update → Inbound, Reply → send calls."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.warnings import PTBDeprecationWarning

from handlers.messages import Attachment, Button, ButtonKind, Channel, Inbound, Reply

MAX_TEXT = 4096
MAX_CAPTION = 1024
# Sent with the reply keyboard when a Reply mixes inline buttons with big keyboard buttons:
# Telegram allows one markup per message, so the keyboard needs a message of its own.
BUTTONS_PROMPT = "👇 请点下面的按钮："
KEYBOARD_PROMPT = "👇 也可以点下面的大按钮"


class Rejected(StrEnum):
    """Why an update could not become an Inbound; the channel answers each politely."""

    FOREIGN_CONTACT = "foreign_contact"  # a contact card that is not the sender's own number
    UNSUPPORTED = "unsupported"  # stickers, documents, videos …


@dataclass(frozen=True, slots=True)
class SendCall:
    """One Bot API call: ``send_message`` or ``send_photo`` with its keyword arguments."""

    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def update_key(update: Update) -> str:
    return f"tg:{update.update_id}"


def to_inbound(update: Update) -> Inbound | Rejected | None:
    """The Inbound for an update; a Rejected reason for one we answer but cannot use; None for
    updates that need no answer (edits, updates without a person)."""
    if update.callback_query is not None:
        return _callback_inbound(update)
    msg = update.message
    if msg is None or msg.from_user is None:
        return None
    user = msg.from_user
    base: dict[str, Any] = {
        "channel": Channel.TELEGRAM,
        "chat_id": str(msg.chat.id),
        "user_id": str(user.id),
        "at": msg.date or datetime.now(UTC),
        "chat_type": msg.chat.type,
        "display_name": user.full_name,
        "update_key": update_key(update),
    }
    if msg.text is not None:
        text, extra = _command_text(msg)
        return Inbound(**base, text=text, extra=extra)
    if msg.contact is not None:
        # Only the sender's own number: anyone can forward someone else's contact card.
        if msg.contact.user_id != user.id:
            return Rejected.FOREIGN_CONTACT
        return Inbound(**base, phone=_phone(msg.contact.phone_number))
    if msg.location is not None:
        return Inbound(**base, location=(msg.location.latitude, msg.location.longitude), text=msg.caption)
    if msg.photo:
        best = max(msg.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        photo = Attachment(ref=best.file_id, mime="image/jpeg", size=best.file_size)
        return Inbound(**base, photo=photo, text=msg.caption or None)
    if msg.voice is not None:
        v = msg.voice
        voice = Attachment(
            ref=v.file_id,
            mime=v.mime_type or "audio/ogg",
            size=v.file_size,
            duration_s=seconds_of(v, "duration"),
        )
        return Inbound(**base, voice=voice)
    return Rejected.UNSUPPORTED


def _callback_inbound(update: Update) -> Inbound | None:
    q = update.callback_query
    assert q is not None
    message = q.message
    # An inaccessible (very old) message still names its chat; fall back to the presser's private chat.
    chat_id = message.chat.id if message is not None else q.from_user.id
    chat_type = message.chat.type if message is not None else "private"
    extra = {"message_id": str(message.message_id)} if message is not None else {}
    return Inbound(
        channel=Channel.TELEGRAM,
        chat_id=str(chat_id),
        user_id=str(q.from_user.id),
        at=datetime.now(UTC),  # a callback query carries no date of its own
        chat_type=chat_type,
        display_name=q.from_user.full_name,
        callback_data=q.data or "",
        update_key=update_key(update),
        extra=extra,
    )


def _command_text(msg: Message) -> tuple[str, dict[str, str]]:
    """A leading bot_command entity becomes extra["command"]; "/my@somebot x" reads as "/my x"."""
    text = msg.text or ""
    for entity in msg.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            raw = msg.parse_entity(entity)
            name = raw[1:].split("@", 1)[0].lower()
            rest = text[len(raw) :].strip()
            return (f"/{name} {rest}".strip(), {"command": name})
    return text, {}


def _phone(raw: str) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    return digits or raw


def seconds_of(obj: object, attribute: str) -> float | None:
    """A PTB duration attribute in seconds. PTB 22 returns int or timedelta depending on the
    PTB_TIMEDELTA variable and warns on every read; the value is the same either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = getattr(obj, attribute)
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# ---- Reply → send calls -----------------------------------------------------------------------


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line ends where possible."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:  # a single line longer than a message: cut it hard
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [p.rstrip("\n") or p for p in pieces if p.strip()]


def inline_markup(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    drawn = [
        [InlineKeyboardButton(b.label, callback_data=b.data) for b in row if b.kind is ButtonKind.CALLBACK]
        for row in rows
    ]
    drawn = [r for r in drawn if r]
    return InlineKeyboardMarkup(drawn) if drawn else None


def keyboard_markup(rows: tuple[tuple[Button, ...], ...]) -> ReplyKeyboardMarkup | None:
    drawn: list[list[KeyboardButton]] = []
    one_time = False
    for row in rows:
        out = []
        for b in row:
            if b.kind is ButtonKind.SHARE_PHONE:
                out.append(KeyboardButton(b.label, request_contact=True))
                one_time = True  # asked once: the keyboard goes away after sharing
            elif b.kind is ButtonKind.SHARE_LOCATION:
                out.append(KeyboardButton(b.label, request_location=True))
                one_time = True
            elif b.kind is ButtonKind.TEXT:
                out.append(KeyboardButton(b.label))
        if out:
            drawn.append(out)
    if not drawn:
        return None
    return ReplyKeyboardMarkup(drawn, resize_keyboard=True, one_time_keyboard=one_time)


def to_send_calls(chat_id: str, reply: Reply) -> list[SendCall]:
    """The Bot API calls that draw ``reply``. Markup goes on the last piece of a long text, so the
    buttons sit under the end of what they answer."""
    inline = inline_markup(reply.buttons)
    keyboard = keyboard_markup(reply.buttons)
    markup: Any = inline or keyboard
    if markup is None and reply.remove_keyboard:
        markup = ReplyKeyboardRemove()
    calls: list[SendCall] = []
    text = reply.text
    if reply.photo_ref:
        caption_fits = len(text) <= MAX_CAPTION
        kwargs: dict[str, Any] = {"chat_id": chat_id, "photo": reply.photo_ref}
        if caption_fits and text.strip():
            kwargs["caption"] = text
            text = ""
        calls.append(SendCall("send_photo", kwargs))
    if text.strip():
        for piece in split_text(text):
            calls.append(SendCall("send_message", {"chat_id": chat_id, "text": piece}))
    if not calls:
        calls.append(SendCall("send_message", {"chat_id": chat_id, "text": KEYBOARD_PROMPT}))
    if inline is not None and keyboard is None and reply.remove_keyboard:
        # One message carries one markup: the big keyboard goes away with the text, and the inline
        # buttons follow (or sit on the last piece of a long text).
        calls[0].kwargs["reply_markup"] = ReplyKeyboardRemove()
        if len(calls) == 1:
            calls.append(SendCall("send_message", {"chat_id": chat_id, "text": BUTTONS_PROMPT}))
    if markup is not None:
        calls[-1].kwargs["reply_markup"] = markup
    if inline is not None and keyboard is not None:
        calls.append(
            SendCall("send_message", {"chat_id": chat_id, "text": KEYBOARD_PROMPT, "reply_markup": keyboard})
        )
    return calls
