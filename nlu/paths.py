"""Where the NLU engine reads its data and writes its models (all under the repository root)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "nlu" / "data"
HELDOUT_DIR = ROOT / "tests" / "nlu" / "heldout"
EXAMPLES_FILE = ROOT.parent / "shared" / "catalog" / "examples.yml"
CATALOG_DATA_DIR = ROOT / "catalog" / "data"


def model_dir() -> Path:
    """`NLU_MODEL_DIR` overrides the default var/models/nlu (tests train into a temporary folder)."""
    return Path(os.environ.get("NLU_MODEL_DIR") or ROOT / "var" / "models" / "nlu")
