"""The shared Whisper recognizer, model loaded once per session."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# tests/conftest.py puts tests/ on sys.path, where this folder would pass for a namespace package
# `speech` and hide the real one when pytest runs as `.venv/bin/pytest` (python -m pytest adds
# the project root first). Put the project root first so `import speech` is the package.
_ROOT = str(Path(__file__).resolve().parents[2])
if sys.path[0] != _ROOT:
    sys.path.insert(0, _ROOT)

from voice_helpers import CLIPS, whisper_missing  # noqa: E402


@pytest.fixture(scope="session")
def whisper() -> Iterator[Any]:
    """One Whisper recognizer for the session, model loaded before the tests use it."""
    reason = whisper_missing()
    if reason:
        pytest.skip(reason)
    from speech.whisper import WhisperRecognizer

    recognizer = WhisperRecognizer(queue_size=len(CLIPS))
    asyncio.run(recognizer.warm_up())
    yield recognizer
    asyncio.run(recognizer.aclose())
