"""Compare Rasa pipeline configs on held-out messages (run with the project venv, from the repo root).

For each config: train it (scripts/rasa_train.sh, cached under var/models/rasa/candidates/<name>),
start a server, parse every message of tests/nlu/heldout/*.yml and ../shared/catalog/examples.yml
through RasaParser, and print accuracy, top-3, `none` recall and precision over a threshold sweep,
training time, load time, memory and latency.

Usage: .venv/bin/python nlu/rasa_project/measure.py nlu/rasa_project/candidates/*.yml
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from nlu.paths import EXAMPLES_FILE, HELDOUT_DIR  # noqa: E402
from nlu.rasa_client import RasaParser, RasaServer  # noqa: E402
from nlu.training_data import Example, read_dir, read_examples_file  # noqa: E402

THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
NONE = "out_of_scope"


class _NoFallback:
    async def parse(self, text: str, *, now: object = None) -> object:
        raise RuntimeError("Rasa failed during the measurement")


def score(rows: list[tuple[str, list[str], float]], threshold: float) -> dict[str, float]:
    """rows: (gold, top-5 labels, top-1 confidence)."""

    def pred(r: tuple[str, list[str], float]) -> str:
        return r[1][0] if r[2] >= threshold or r[1][0] == NONE else NONE

    catalog = [r for r in rows if len(r[0]) in (4, 5) and r[0][:2].isalpha() and r[0][2:].isdigit()]
    gold_none = [r for r in rows if r[0] == NONE]
    said_none = [r for r in rows if pred(r) == NONE]
    return {
        "acc": sum(pred(r) == r[0] for r in rows) / max(len(rows), 1),
        "cat_acc": sum(pred(r) == r[0] for r in catalog) / max(len(catalog), 1),
        "cat_top3": sum(r[0] in r[1][:3] for r in catalog) / max(len(catalog), 1),
        "none_recall": sum(pred(r) == NONE for r in gold_none) / max(len(gold_none), 1),
        "none_precision": sum(r[0] == NONE for r in said_none) / max(len(said_none), 1),
        "n": len(rows),
        "n_catalog": len(catalog),
        "n_none": len(gold_none),
    }


async def run_set(
    parser: RasaParser, examples: list[Example]
) -> tuple[list[tuple[str, list[str], float]], list[float]]:
    rows, lat = [], []
    for ex in examples:
        t0 = time.perf_counter()
        p = await parser.parse(ex.text)
        lat.append((time.perf_counter() - t0) * 1000)
        rows.append((ex.label, [r.label for r in p.ranking], p.ranking[0].confidence if p.ranking else 0.0))
    return rows, lat


async def report(url: str, sets: dict[str, list[Example]]) -> None:
    parser = RasaParser(_NoFallback(), url, timeout_s=10)  # type: ignore[arg-type]
    try:
        for name, examples in sets.items():
            rows, lat = await run_set(parser, examples)
            lat.sort()
            p50, p99 = statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]
            print(f"  {name}: n={len(rows)}  latency p50 {p50:.1f} ms p99 {p99:.1f} ms")
            for th in THRESHOLDS:
                s = score(rows, th)
                print(
                    f"    threshold {th:.2f}: all {s['acc']:.3f}  catalog top1 {s['cat_acc']:.3f} "
                    f"top3 {s['cat_top3']:.3f} (n={s['n_catalog']})  none recall {s['none_recall']:.3f} "
                    f"precision {s['none_precision']:.3f} (n={s['n_none']})"
                )
    finally:
        await parser.aclose()


def main(configs: list[str]) -> int:
    sets = {
        "heldout": read_dir(HELDOUT_DIR, reader="examples"),
        "examples.yml": read_examples_file(EXAMPLES_FILE),
    }
    for cfg in map(Path, configs):
        model_dir = ROOT / "var" / "models" / "rasa" / "candidates" / cfg.stem
        model_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with (model_dir / "train.log").open("wb") as train_log:
            subprocess.run(
                [str(ROOT / "scripts" / "rasa_train.sh"), str(cfg)],
                check=True,
                env={**os.environ, "RASA_MODEL_DIR": str(model_dir)},
                stdout=train_log,
                stderr=subprocess.STDOUT,
            )
        train_s = time.monotonic() - t0
        server = RasaServer(model_dir / "nlu.tar.gz")
        server.start()
        load_s = server.wait_ready()
        try:
            print(f"== {cfg.name}: train {train_s:.0f} s (0 when cached), load {load_s:.0f} s")
            asyncio.run(report(server.url, sets))
            print(f"  server RSS {server.rss_mib():.0f} MiB")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
