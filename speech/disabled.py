"""The recognizer used when voice is switched off (``voice.backend: none``)."""

from __future__ import annotations

from speech.recognizer import RecognizerUnavailable, Transcript


class DisabledRecognizer:
    """Refuses every note with RecognizerUnavailable, so handlers answer "please type" in one place."""

    name = "none"

    async def transcribe(self, audio: bytes, *, mime: str | None = None) -> Transcript:
        raise RecognizerUnavailable("voice recognition is switched off (voice.backend: none)")

    async def aclose(self) -> None:
        return None
