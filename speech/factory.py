"""Choosing the recognizer from configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from speech.disabled import DisabledRecognizer
from speech.recognizer import Recognizer

BACKENDS = ("whisper", "http", "none")
_WHISPER_KEYS = {
    "model_dir": str,
    "model_sha256": str,
    "worker": str,
    "compute_type": str,
    "cpu_threads": int,
    "beam_size": int,
    "language": str,
    "initial_prompt": str,
}
_HTTP_KEYS = {"timeout_s": float, "language": str, "request_format": str, "token": str}


def voice_section(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``voice`` mapping of a whole config, or ``settings`` itself when it is that section."""
    section = settings.get("voice", settings)
    if not isinstance(section, Mapping):
        raise ValueError("config key `voice` must be a mapping")
    return section


def build_recognizer(settings: Mapping[str, Any]) -> Recognizer:
    """Build the recognizer that ``voice.backend`` names (default ``whisper``).

    ``settings`` is the whole config (with a ``voice`` mapping) or that mapping alone. Keys:
    ``backend``, ``max_seconds`` (120), ``queue_size`` (4); for whisper ``model_dir`` (default: the
    pinned Whisper base under var/models/whisper-base), ``model_sha256``, ``worker`` (process | thread), ``compute_type`` (int8),
    ``cpu_threads``, ``beam_size`` (5), ``language`` (zh), ``initial_prompt``; for http ``url``
    (required), ``timeout_s``, ``request_format`` (raw | multipart), ``token``.
    """
    voice = voice_section(settings)
    backend = str(voice.get("backend") or "whisper").lower()
    common: dict[str, Any] = {}
    if voice.get("max_seconds") is not None:
        common["max_seconds"] = float(voice["max_seconds"])
    if voice.get("queue_size") is not None:
        common["queue_size"] = int(voice["queue_size"])
    if backend == "none":
        return DisabledRecognizer()
    if backend == "whisper":
        # Imported only here: it loads faster-whisper, CTranslate2 and PyAV.
        from speech.whisper import WhisperRecognizer

        return WhisperRecognizer(**common, **_typed(voice, _WHISPER_KEYS))
    if backend == "http":
        url = voice.get("url")
        if not url:
            raise ValueError("voice.backend is http but voice.url is not set")
        from speech.http import HttpRecognizer

        return HttpRecognizer(str(url), **common, **_typed(voice, _HTTP_KEYS))
    raise ValueError(f"voice.backend must be one of {BACKENDS}, not {backend!r}")


def _typed(voice: Mapping[str, Any], keys: Mapping[str, type]) -> dict[str, Any]:
    return {k: cast(voice[k]) for k, cast in keys.items() if voice.get(k) not in (None, "")}
