from __future__ import annotations

import numpy as np
import pytest
from voice_helpers import CLIPS, encode, tone

from speech.audio import SAMPLE_RATE, decode, format_for
from speech.recognizer import AudioTooLong, UndecodableAudio


@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: c.file)
def test_committed_clips_decode_to_16k_mono_float32(clip):
    decoded = decode(clip.audio, mime="audio/ogg")
    assert decoded.samples.dtype == np.float32
    assert decoded.samples.ndim == 1
    assert decoded.duration_s == pytest.approx(clip.seconds, abs=0.1)
    assert 0.01 < float(np.abs(decoded.samples).max()) <= 1.0


def test_a_generated_tone_keeps_its_length_and_pitch():
    decoded = decode(encode(tone(3.0, freq=500.0)))
    assert decoded.duration_s == pytest.approx(3.0, abs=0.05)
    spectrum = np.abs(np.fft.rfft(decoded.samples))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(decoded.samples)
    assert peak_hz == pytest.approx(500.0, abs=5.0)


def test_browser_webm_recording_decodes():
    decoded = decode(encode(tone(2.0), container="webm"), mime="audio/webm;codecs=opus")
    assert decoded.duration_s == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize(
    "junk",
    [b"", b"not audio at all " * 200, bytes(range(256)) * 64, b"OggS" + b"\x00" * 4000],
    ids=["empty", "text", "bytes", "fake-ogg-header"],
)
def test_garbage_is_undecodable(junk):
    with pytest.raises(UndecodableAudio):
        decode(junk, mime="audio/ogg")


def test_a_truncated_clip_is_undecodable_or_short():
    audio = CLIPS[0].audio
    try:
        decoded = decode(audio[: len(audio) // 3])
    except UndecodableAudio:
        return
    assert decoded.duration_s < CLIPS[0].seconds


def test_over_the_default_limit_is_too_long():
    with pytest.raises(AudioTooLong) as e:
        decode(encode(tone(125.0)), max_seconds=120.0)
    assert e.value.limit == 120.0
    assert e.value.duration > 120.0


def test_the_limit_is_configurable():
    clip = CLIPS[0]
    with pytest.raises(AudioTooLong) as e:
        decode(clip.audio, max_seconds=5.0)
    assert e.value.limit == 5.0
    assert decode(clip.audio, max_seconds=clip.seconds + 1).duration_s == pytest.approx(clip.seconds, abs=0.1)


@pytest.mark.parametrize(
    ("mime", "fmt"),
    [
        ("audio/ogg", "ogg"),
        ("audio/webm;codecs=opus", "webm"),
        ("AUDIO/MP4", "mp4"),
        (None, None),
        ("x/y", None),
    ],
)
def test_format_hint_from_mime(mime, fmt):
    assert format_for(mime) == fmt
