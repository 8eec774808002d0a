"""Photos and voice notes the page uploads before it sends the frame that refers to them."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.webchat.frames import REF_RE
from bot.webchat.identity import is_chat_id

KINDS = ("photo", "voice")
_EXT = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
    "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a", "audio/wav": "wav",
}  # fmt: skip
MIME_BY_EXT = {ext: mime for mime, ext in _EXT.items()}


def sniff(kind: str, head: bytes) -> str | None:
    """The content type the bytes really are (the header a browser sends is not trusted)."""
    if kind == "photo":
        if head.startswith(b"\xff\xd8\xff"):
            return "image/jpeg"
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image/png"
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "image/webp"
        if head.startswith((b"GIF87a", b"GIF89a")):
            return "image/gif"
    elif kind == "voice":
        if head.startswith(b"\x1a\x45\xdf\xa3"):
            return "audio/webm"
        if head.startswith(b"OggS"):
            return "audio/ogg"
        if head[4:8] == b"ftyp":
            return "audio/mp4"
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            return "audio/wav"
    return None


@dataclass(frozen=True, slots=True)
class Upload:
    ref: str
    kind: str
    chat_id: str
    path: Path
    mime: str
    size: int


class UploadStore:
    """Files live flat in one folder as ``<ref>.<chat id>.<ext>``: the ref is 128 random bits, and
    the chat id in the name ties it to the chat that uploaded it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()

    async def save(self, chat_id: str, kind: str, mime: str, data: bytes) -> Upload:
        if kind not in KINDS or not is_chat_id(chat_id) or mime not in _EXT:
            raise ValueError("bad upload")
        ref = f"{kind}_{secrets.token_urlsafe(16)}"
        path = self.folder / f"{ref}.{chat_id}.{_EXT[mime]}"

        def write() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        await asyncio.to_thread(write)
        return Upload(ref, kind, chat_id, path, mime, len(data))

    def find(self, ref: str) -> Upload | None:
        """The upload with this ref, whoever made it (for showing a photo by its unguessable ref)."""
        if not REF_RE.match(ref):
            return None
        for path in self.folder.glob(f"{ref}.*"):
            _, chat_id, ext = path.name.rsplit(".", 2)
            kind = ref.split("_", 1)[0]
            if ext in MIME_BY_EXT and is_chat_id(chat_id):
                return Upload(ref, kind, chat_id, path, MIME_BY_EXT[ext], path.stat().st_size)
        return None

    def owned(self, chat_id: str, ref: str, kind: str) -> Upload | None:
        """The upload only if this chat made it and it is of this kind."""
        up = self.find(ref)
        if up is None or up.chat_id != chat_id or up.kind != kind:
            return None
        return up

    def by_path(self, ref: str) -> Upload | None:
        """The upload stored at this path (an Attachment.ref this web chat made), else None."""
        path = Path(ref)
        if path.parent != self.folder:
            return None
        return self.find(path.name.split(".", 1)[0])
