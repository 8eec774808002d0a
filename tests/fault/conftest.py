"""Fault tests: the real service process (``python -m bot``) against the fake Bot API server."""

from __future__ import annotations

import sys
from pathlib import Path

# `.venv/bin/pytest` does not put the project root on sys.path; bench/ and tests/fakes live there.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
