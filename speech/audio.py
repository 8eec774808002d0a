"""Decoding voice notes (OGG/Opus from Telegram, WebM/MP4 from browsers) to 16 kHz mono float32."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from speech.recognizer import AudioTooLong, UndecodableAudio

SAMPLE_RATE = 16_000

# A hint for the container probe when it cannot guess the format from the bytes alone.
_FORMAT_BY_MIME = {
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/mp4": "mp4",
    "audio/m4a": "mp4",
    "audio/x-m4a": "mp4",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/flac": "flac",
}


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    samples: npt.NDArray[np.float32]  # mono, SAMPLE_RATE Hz, in [-1, 1]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def format_for(mime: str | None) -> str | None:
    if not mime:
        return None
    return _FORMAT_BY_MIME.get(mime.split(";", 1)[0].strip().lower())


def decode(audio: bytes, *, mime: str | None = None, max_seconds: float | None = None) -> DecodedAudio:
    """Decode ``audio`` to 16 kHz mono float32.

    Raises UndecodableAudio for bytes that hold no decodable audio stream, and AudioTooLong as
    soon as the container header or the decoded samples pass ``max_seconds``, so a long file is
    never decoded whole.
    """
    if not audio:
        raise UndecodableAudio("empty audio")
    try:
        return _decode(audio, format_for(mime), max_seconds)
    except (AudioTooLong, UndecodableAudio):
        raise
    except (av.FFmpegError, ValueError, IndexError, StopIteration) as e:
        fmt = format_for(mime)
        if fmt is None:
            raise UndecodableAudio(f"cannot decode audio: {e}") from e
        # The probe failed on its own; retry once with the container the sender declared.
        try:
            return _decode(audio, fmt, max_seconds, force_format=True)
        except (AudioTooLong, UndecodableAudio):
            raise
        except (av.FFmpegError, ValueError, IndexError, StopIteration) as e2:
            raise UndecodableAudio(f"cannot decode {mime} audio: {e2}") from e2


def _decode(
    audio: bytes, fmt: str | None, max_seconds: float | None, *, force_format: bool = False
) -> DecodedAudio:
    with av.open(io.BytesIO(audio), mode="r", format=fmt if force_format else None) as container:
        if not container.streams.audio:
            raise UndecodableAudio("no audio stream in the file")
        if max_seconds is not None and container.duration is not None:
            header_s = container.duration / av.time_base
            # Headers can be off by a frame or two; only trust them for a clear overrun.
            if header_s > max_seconds + 1.0:
                raise AudioTooLong(header_s, max_seconds)
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[npt.NDArray[Any]] = []
        n = 0
        limit = None if max_seconds is None else int(max_seconds * SAMPLE_RATE)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                a = out.to_ndarray().reshape(-1)
                chunks.append(a)
                n += len(a)
            if limit is not None and n > limit:
                raise AudioTooLong(n / SAMPLE_RATE, max_seconds or 0.0)
        for out in resampler.resample(None):
            a = out.to_ndarray().reshape(-1)
            chunks.append(a)
            n += len(a)
    if n == 0:
        raise UndecodableAudio("the file holds no audio samples")
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    if limit is not None and n > limit:
        raise AudioTooLong(n / SAMPLE_RATE, max_seconds or 0.0)
    return DecodedAudio(samples)
