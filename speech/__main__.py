"""``python -m speech prepare`` builds the default model; ``python -m speech FILE...`` transcribes."""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import sys
from pathlib import Path

from speech.model import DEFAULT_MODEL_DIR, ModelError, prepare_whisper_base


async def _transcribe(files: list[Path], settings: dict[str, object]) -> None:
    from speech.factory import build_recognizer

    recognizer = build_recognizer(settings)
    try:
        for f in files:
            t = await recognizer.transcribe(f.read_bytes(), mime=mimetypes.guess_type(f.name)[0])
            print(f"{f}\t{t.duration_s:.1f}s\t{t.text}")
    finally:
        await recognizer.aclose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m speech")
    ap.add_argument("files", nargs="*", type=Path, help="audio files to transcribe, or the word `prepare`")
    ap.add_argument("--model-dir", type=Path, default=None)
    ap.add_argument("--backend", default="whisper")
    ap.add_argument("--url", default=None)
    args = ap.parse_args(argv)
    if [str(f) for f in args.files] == ["prepare"]:
        try:
            print(prepare_whisper_base(args.model_dir or DEFAULT_MODEL_DIR))
        except ModelError as e:
            print(e, file=sys.stderr)
            return 1
        return 0
    if not args.files:
        ap.error("give audio files to transcribe, or `prepare`")
    settings: dict[str, object] = {"backend": args.backend, "model_dir": args.model_dir, "url": args.url}
    asyncio.run(_transcribe(args.files, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
