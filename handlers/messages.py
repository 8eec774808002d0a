"""Channel-neutral messages: what a person sent (Inbound) and what the bot answers (Reply).

bot/ translates Telegram updates and web-chat frames into Inbound, and draws Reply objects with
the channel's own widgets. handlers/ never sees a channel's types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data; the web chat keeps the same rule


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WEB = "web"


class ButtonKind(StrEnum):
    CALLBACK = "callback"  # sends `data` back as Inbound.callback_data
    SHARE_PHONE = "share_phone"  # asks the client to share the person's phone number
    SHARE_LOCATION = "share_location"  # asks the client to share a location
    TEXT = "text"  # a big reply-keyboard button that simply sends its label as text


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str = ""
    kind: ButtonKind = ButtonKind.CALLBACK

    def __post_init__(self) -> None:
        if self.kind is ButtonKind.CALLBACK and len(self.data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the bot. `buttons` are rows of buttons; CALLBACK buttons are drawn inline
    under the message, the other kinds as a big reply keyboard."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo_ref: str | None = None  # a stored photo to show (e.g. a department's completion photo)
    remove_keyboard: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo or voice note. `ref` is the channel's file id or a stored file path."""

    ref: str
    mime: str | None = None
    size: int | None = None
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """What speech recognition heard in a voice note."""

    text: str
    recognizer: str
    audio_ref: str
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did in a chat."""

    channel: Channel
    chat_id: str
    user_id: str
    at: datetime
    chat_type: str = "private"  # private | group | supergroup
    display_name: str = ""
    text: str | None = None  # typed text, a photo caption, or a voice transcript
    callback_data: str | None = None  # a pressed CALLBACK button
    phone: str | None = None  # a shared contact (only the sender's own contact is accepted)
    location: tuple[float, float] | None = None  # (latitude, longitude)
    photo: Attachment | None = None
    voice: Attachment | None = None
    transcript: Transcript | None = None  # set when `text` came from a voice note
    update_key: str | None = None  # unique per channel delivery, for de-duplication
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_group(self) -> bool:
        return self.chat_type in ("group", "supergroup")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reply addressed to a chat: what the conversation returns, and what notifiers send."""

    channel: Channel
    chat_id: str
    reply: Reply
    outbox_key: str | None = None  # the durable copy of this reply (an outbox row) the channel marks sent
