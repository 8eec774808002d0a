"""The speech-to-text interface every backend implements, its result and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was heard. ``text`` is Simplified Chinese with numerals normalised (ready for NLU);
    ``raw_text`` is the recognizer's own output, kept for the record."""

    text: str
    recognizer_name: str  # e.g. "faster-whisper:whisper-base" or "http:https://asr.example/v1"
    duration_s: float
    language: str
    raw_text: str = ""


class SpeechError(Exception):
    """Base of the errors a recognizer raises; each has a polite reply in handlers/."""


class AudioTooLong(SpeechError):
    """The note is longer than the configured limit: ask for a shorter one."""

    def __init__(self, duration: float, limit: float) -> None:
        super().__init__(f"audio is {duration:.1f} s long, the limit is {limit:.0f} s")
        self.duration = duration
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.duration, self.limit))


class UndecodableAudio(SpeechError):
    """The bytes are not audio we can decode."""


class RecognizerBusy(SpeechError):
    """Too many notes are waiting for recognition: ask the speaker to type or try again shortly."""


class RecognizerUnavailable(SpeechError):
    """Voice is switched off (``voice.backend: none``) or the remote service cannot be reached."""


class Recognizer(Protocol):
    """Audio bytes in, Transcript out. ``mime`` is the sender's content type when known
    (``audio/ogg`` for Telegram voice notes, ``audio/webm;codecs=opus`` from Chrome's recorder)."""

    name: str

    async def transcribe(self, audio: bytes, *, mime: str | None = None) -> Transcript: ...

    async def aclose(self) -> None: ...
