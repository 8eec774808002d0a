"""Assemble what `rasa train nlu` reads, from the shared sources (run with the project venv, Python 3.11).

Writes into OUT_DIR (default var/models/rasa/build):
  nlu.yml          every intent example of nlu/data/*.yml, entity markup removed and passed through
                   nlu.normalize.normalize, so Rasa is trained on exactly the text RasaParser sends it
  jieba/userdict.txt  the catalog user dictionary (JiebaTokenizer loads every file in that folder,
                   so the folder holds nothing else)
  inputs.sha256    a hash of both files plus the pipeline config; scripts/rasa_train.sh retrains only
                   when it changes

Usage: .venv/bin/python nlu/rasa_project/assemble.py [OUT_DIR] [CONFIG]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "nlu" / "data"
DEFAULT_OUT = ROOT / "var" / "models" / "rasa" / "build"
DEFAULT_CONFIG = ROOT / "nlu" / "rasa_project" / "config.yml"

sys.path.insert(0, str(ROOT))  # run as a script from anywhere
from nlu.dictionary import build_userdict  # noqa: E402
from nlu.normalize import normalize  # noqa: E402
from nlu.training_data import read_dir  # noqa: E402


def collect(data_dir: Path = DATA_DIR) -> dict[str, list[str]]:
    """Intent name -> normalised, de-duplicated examples (entity markup removed), in file order."""
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    for ex in read_dir(data_dir):
        text = normalize(ex.text)
        # A sentence under two intents would only teach the classifier noise; the first one wins.
        if text and text not in seen:
            seen.add(text)
            out.setdefault(ex.label, []).append(text)
    return out


def write_nlu(intents: dict[str, list[str]], path: Path) -> None:
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(intents):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {t}" for t in intents[intent])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_userdict(path: Path) -> None:
    # The same catalog dictionary the embedded engine uses, written into a folder of its own.
    build_userdict(path)
    for stray in path.parent.iterdir():
        if stray != path:
            stray.unlink()


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    config = Path(argv[2]) if len(argv) > 2 else DEFAULT_CONFIG
    (out / "jieba").mkdir(parents=True, exist_ok=True)
    intents = collect()
    write_nlu(intents, out / "nlu.yml")
    write_userdict(out / "jieba" / "userdict.txt")
    h = hashlib.sha256()
    for p in (out / "nlu.yml", out / "jieba" / "userdict.txt", config):
        h.update(p.read_bytes())
    (out / "inputs.sha256").write_text(h.hexdigest() + "\n", encoding="utf-8")
    n = sum(len(v) for v in intents.values())
    print(f"assembled {n} examples in {len(intents)} intents into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
