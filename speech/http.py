"""A remote speech-to-text service behind the Recognizer protocol.

Contract (documented in docs/voice.md): ``POST <url>?language=zh`` with the audio either as the
raw request body (``Content-Type`` = the note's MIME type) or, with ``request_format="multipart"``,
as a ``file`` form field plus ``language`` (the shape whisper.cpp's server and OpenAI-compatible
``/v1/audio/transcriptions`` servers accept). The answer is JSON ``{"text": "..."}``, optionally
with ``"language"``. Status 413 means too long, 400/415/422 undecodable, 429/503 busy.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import aiohttp

from speech.audio import decode
from speech.recognizer import (
    AudioTooLong,
    RecognizerBusy,
    RecognizerUnavailable,
    SpeechError,
    Transcript,
    UndecodableAudio,
)
from speech.text import clean_transcript

REQUEST_FORMATS = ("raw", "multipart")


class HttpRecognizer:
    """Sends each note to an HTTP speech-to-text service.

    The note is decoded locally first (in a thread) so that undecodable and over-long notes are
    answered without a round trip, with the same limits as the local recognizer.
    """

    def __init__(
        self,
        url: str,
        *,
        max_seconds: float = 120.0,
        queue_size: int = 4,
        timeout_s: float = 60.0,
        language: str = "zh",
        request_format: str = "raw",
        token: str | None = None,
    ) -> None:
        if request_format not in REQUEST_FORMATS:
            raise ValueError(f"voice.request_format must be one of {REQUEST_FORMATS}, not {request_format!r}")
        self.url = url
        self.max_seconds = max_seconds
        self.queue_size = queue_size
        self.timeout_s = timeout_s
        self.language = language
        self.request_format = request_format
        self._token = token
        self.name = f"http:{url}"
        self._session: aiohttp.ClientSession | None = None
        self._lock = threading.Lock()
        self._held = 0

    async def transcribe(self, audio: bytes, *, mime: str | None = None) -> Transcript:
        with self._lock:
            if self._held >= self.queue_size:
                raise RecognizerBusy(f"{self._held} voice notes are already at the speech service")
            self._held += 1
        try:
            decoded = await asyncio.to_thread(decode, audio, mime=mime, max_seconds=self.max_seconds)
            answer = await self._post(audio, mime or "application/octet-stream")
        finally:
            with self._lock:
                self._held -= 1
        raw = answer.get("text")
        if not isinstance(raw, str):
            raise RecognizerUnavailable(f"speech service at {self.url} answered without a text field")
        language = answer.get("language")
        return Transcript(
            text=clean_transcript(raw),
            recognizer_name=self.name,
            duration_s=round(decoded.duration_s, 2),
            language=language if isinstance(language, str) and language else self.language,
            raw_text=raw,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            self._session = aiohttp.ClientSession(
                headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout_s)
            )
        return self._session

    async def _post(self, audio: bytes, mime: str) -> dict[str, Any]:
        body: bytes | aiohttp.FormData
        headers: dict[str, str] = {}
        if self.request_format == "multipart":
            body = aiohttp.FormData()
            body.add_field("file", audio, filename="voice", content_type=mime)
            body.add_field("language", self.language)
            body.add_field("response_format", "json")
        else:
            body = audio
            headers["Content-Type"] = mime
        try:
            async with self._client().post(
                self.url, data=body, headers=headers, params={"language": self.language}
            ) as resp:
                if resp.status == 413:
                    raise AudioTooLong(float("nan"), self.max_seconds)
                if resp.status in (400, 415, 422):
                    raise UndecodableAudio(f"speech service refused the audio: HTTP {resp.status}")
                if resp.status in (429, 503):
                    raise RecognizerBusy(f"speech service is busy: HTTP {resp.status}")
                if resp.status != 200:
                    raise RecognizerUnavailable(f"speech service at {self.url} answered HTTP {resp.status}")
                answer = await resp.json(content_type=None)
        except SpeechError:
            raise
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise RecognizerUnavailable(f"speech service at {self.url} failed: {e!r}") from e
        if not isinstance(answer, dict):
            raise RecognizerUnavailable(
                f"speech service at {self.url} answered {type(answer).__name__}, not an object"
            )
        return answer
