"""`python -m nlu train | predict | eval FILE.yml | select | entities FILE.yml`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nlu.parse import Parse, Parser


class _Unreachable:
    """The fallback for measuring Rasa itself: a failed request must show, not be answered by another parser."""

    async def parse(self, text: str, *, now: Any = None) -> Parse:
        raise RuntimeError("the Rasa server did not answer")


def rasa_parser() -> Parser:
    """The Rasa client without fallback; exits with a clear message when nlu.rasa_client is missing."""
    try:
        from nlu.rasa_client import RasaParser
    except ImportError as exc:
        raise SystemExit(
            f"the rasa backend is not available: nlu.rasa_client cannot be imported ({exc})"
        ) from exc
    return RasaParser(fallback=_Unreachable())


def _backend(name: str) -> Callable[[str], Parse]:
    if name == "embedded":
        from nlu.embedded import default_parser

        return default_parser().parse_sync
    parser = rasa_parser()
    loop = asyncio.new_event_loop()
    return lambda text: loop.run_until_complete(parser.parse(text))


def _train(args: argparse.Namespace) -> int:
    from nlu.dictionary import build_userdict
    from nlu.embedded.model import MODEL_NAME, is_stale, train
    from nlu.paths import model_dir

    path = model_dir() / MODEL_NAME
    if args.if_stale and not is_stale(path):
        print(f"{path} is up to date")
        return 0
    build_userdict()
    model = train(out=path)
    print(
        json.dumps(
            {
                "model": str(path),
                **model.metrics,
                "temperature": round(model.temperature, 4),
                "threshold": round(model.threshold, 2),
            },
            ensure_ascii=False,
        )
    )
    return 0


def _predict(args: argparse.Namespace) -> int:
    parse = _backend(args.backend)
    for line in sys.stdin:
        text = line.strip()
        if not text:
            continue
        p = parse(text)
        out = {
            "text": p.text,
            "kind": str(p.kind),
            "label": p.label,
            "confidence": p.confidence,
            "ranking": [{"label": r.label, "confidence": r.confidence} for r in p.ranking],
            "entities": [
                {
                    "entity": e.entity,
                    "text": e.text,
                    "start": e.start,
                    "end": e.end,
                    "value": e.value,
                    **({"extra": e.extra} if e.extra else {}),
                }
                for e in p.entities
            ],
        }
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from nlu.evaluation import evaluate
    from nlu.training_data import read_examples_file, read_rasa_nlu

    parse = _backend(args.backend)
    examples = []
    for name in args.files:
        path = Path(name)
        examples.extend(read_rasa_nlu(path) if args.rasa_format else read_examples_file(path))
    report = evaluate(parse, examples)
    print("\n".join(report.lines(args.worst)))
    if args.errors:
        for text, gold, pred in report.errors:
            print(f"  [{gold} -> {pred}] {text}")
    return 0


def _select(args: argparse.Namespace) -> int:
    from nlu.embedded.selection import select

    select(args.candidates or None)
    return 0


def _entities(args: argparse.Namespace) -> int:
    from nlu.entity_eval import entity_report
    from nlu.paths import DATA_DIR

    files = [Path(f) for f in args.files] or sorted(DATA_DIR.glob("*.yml"))
    print("\n".join(entity_report(files)))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ap = argparse.ArgumentParser(prog="python -m nlu", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the embedded model into var/models/nlu/")
    t.add_argument("--if-stale", action="store_true", help="do nothing when the saved model is current")
    t.set_defaults(run=_train)
    p = sub.add_parser("predict", help="one text per line on stdin, one JSON per line on stdout")
    p.add_argument("--backend", choices=("embedded", "rasa"), default="embedded")
    p.set_defaults(run=_predict)
    e = sub.add_parser("eval", help="score a parser on examples.yml-style files")
    e.add_argument("files", nargs="+")
    e.add_argument("--backend", choices=("embedded", "rasa"), default="embedded")
    e.add_argument("--rasa-format", action="store_true", help="the files are Rasa NLU training files")
    e.add_argument("--worst", type=int, default=12, help="how many confusions to print")
    e.add_argument("--errors", action="store_true", help="print every misclassified text")
    e.set_defaults(run=_eval)
    s = sub.add_parser("select", help="compare model configurations on the held-out split")
    s.add_argument("candidates", nargs="*")
    s.set_defaults(run=_select)
    n = sub.add_parser("entities", help="precision and recall of the entity extractor on annotated data")
    n.add_argument("files", nargs="*")
    n.set_defaults(run=_entities)
    args = ap.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
