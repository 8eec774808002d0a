from __future__ import annotations

import pytest
from voice_helpers import CLIPS, whisper_missing

from speech import RecognizerUnavailable, build_recognizer
from speech.disabled import DisabledRecognizer
from speech.http import HttpRecognizer
from speech.model import DEFAULT_MODEL_DIR


async def test_none_switches_voice_off():
    recognizer = build_recognizer({"voice": {"backend": "none"}})
    assert isinstance(recognizer, DisabledRecognizer)
    with pytest.raises(RecognizerUnavailable):
        await recognizer.transcribe(CLIPS[0].audio, mime="audio/ogg")


async def test_http_backend_takes_its_settings_from_the_voice_section():
    recognizer = build_recognizer(
        {
            "voice": {
                "backend": "http",
                "url": "http://127.0.0.1:9/asr",
                "max_seconds": "60",
                "queue_size": 2,
                "request_format": "multipart",
                "timeout_s": 5,
            }
        }
    )
    assert isinstance(recognizer, HttpRecognizer)
    assert (recognizer.url, recognizer.max_seconds, recognizer.queue_size) == (
        "http://127.0.0.1:9/asr",
        60.0,
        2,
    )
    assert (recognizer.request_format, recognizer.timeout_s) == ("multipart", 5.0)
    assert recognizer.name == "http:http://127.0.0.1:9/asr"
    await recognizer.aclose()


def test_the_voice_section_alone_is_accepted():
    recognizer = build_recognizer({"backend": "http", "url": "http://127.0.0.1:9/asr"})
    assert isinstance(recognizer, HttpRecognizer)


@pytest.mark.parametrize(
    ("voice", "message"),
    [
        ({"backend": "http"}, "voice.url"),
        ({"backend": "sphinx"}, "whisper"),
        ({"backend": "http", "url": "http://x", "request_format": "xml"}, "request_format"),
    ],
)
def test_bad_settings_are_refused(voice, message):
    with pytest.raises(ValueError, match=message):
        build_recognizer({"voice": voice})


@pytest.mark.skipif(whisper_missing() is not None, reason=str(whisper_missing()))
async def test_whisper_is_the_default_and_loads_nothing_until_used(tmp_path):
    from speech.whisper import WhisperRecognizer

    default = build_recognizer({})
    assert isinstance(default, WhisperRecognizer)
    assert (default.config.model_dir, default.max_seconds, default.config.language) == (
        DEFAULT_MODEL_DIR,
        120.0,
        "zh",
    )
    assert default.name == "faster-whisper:whisper-base"
    assert default.worker == "process" and not default.started
    custom = build_recognizer(
        {
            "voice": {
                "model_dir": str(tmp_path / "whisper-large-v3"),
                "beam_size": "2",
                "compute_type": "int8_float32",
            }
        }
    )
    assert isinstance(custom, WhisperRecognizer)
    assert (custom.name, custom.config.beam_size, custom.config.compute_type) == (
        "faster-whisper:whisper-large-v3",
        2,
        "int8_float32",
    )
    assert (
        custom.config.model_sha256 is None
    )  # an operator's own model is checked only when a hash is configured
    await default.aclose()
    await custom.aclose()
