"""Voice benchmark: CER, real-time factor, memory, event-loop lag and voice-to-label accuracy.

    .venv/bin/python bench/voice_bench.py            # prints figures and updates docs/voice.md
    .venv/bin/python bench/voice_bench.py --no-docs  # prints only

Runs the configured default (faster-whisper, Whisper base int8) on tests/fixtures/voice/*.ogg.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from speech.metrics import char_errors  # noqa: E402
from speech.whisper import WhisperRecognizer  # noqa: E402

VOICE_DIR = ROOT / "tests" / "fixtures" / "voice"
DOC = ROOT / "docs" / "voice.md"
START, END = "<!-- voice-bench:start -->", "<!-- voice-bench:end -->"
COMMAND = ".venv/bin/python bench/voice_bench.py"


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def proc_mb(pid: int, field: str) -> float:
    """VmRSS (current) or VmHWM (peak) of another process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def loop_lag_during(coro: Any) -> tuple[Any, list[float]]:
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - t - 0.01)

    task = asyncio.create_task(ticker())
    result = await coro
    done.set()
    await task
    return result, lags


async def run(args: argparse.Namespace) -> dict[str, Any]:
    clips = yaml.safe_load((VOICE_DIR / "manifest.yml").read_text(encoding="utf-8"))["clips"]
    audio = {c["file"]: (VOICE_DIR / c["file"]).read_bytes() for c in clips}
    base_rss = rss_mb()
    recognizer = WhisperRecognizer(
        cpu_threads=args.threads, beam_size=args.beam, queue_size=len(clips), worker=args.worker
    )
    t0 = time.perf_counter()
    _, cold_lags = await loop_lag_during(recognizer.warm_up())
    load_s = time.perf_counter() - t0

    rows = []
    for c in clips:
        t = time.perf_counter()
        tr = await recognizer.transcribe(audio[c["file"]], mime="audio/ogg")
        elapsed = time.perf_counter() - t
        errors, length = char_errors(c["text"], tr.text)
        rows.append({"clip": c, "transcript": tr, "seconds": elapsed, "errors": errors, "length": length})
    model_rss = rss_mb()
    workers = recognizer.worker_pids()
    worker_rss = sum(proc_mb(p, "VmRSS") for p in workers)

    burst_clips = clips[: args.burst]
    t = time.perf_counter()
    _, lags = await loop_lag_during(
        asyncio.gather(*(recognizer.transcribe(audio[c["file"]], mime="audio/ogg") for c in burst_clips))
    )
    burst_s = time.perf_counter() - t
    worker_peak = sum(proc_mb(p, "VmHWM") for p in workers)
    await recognizer.aclose()
    peak_rss = peak_rss_mb()

    labels = label_accuracy(rows) if not args.no_nlu else None
    audio_s = sum(r["transcript"].duration_s for r in rows)
    return {
        "rows": rows,
        "cer": sum(r["errors"] for r in rows) / sum(r["length"] for r in rows),
        "rtf": sum(r["seconds"] for r in rows) / audio_s,
        "audio_s": audio_s,
        "load_s": load_s,
        "base_rss": base_rss,
        "model_rss": model_rss,
        "peak_rss": peak_rss,
        "worker_rss": worker_rss,
        "worker_peak": worker_peak,
        "worker": recognizer.worker,
        "lag_max_ms": max(lags) * 1000,
        "lag_p99_ms": statistics.quantiles(lags, n=100)[98] * 1000 if len(lags) > 100 else max(lags) * 1000,
        "cold_lag_max_ms": max(cold_lags, default=0.0) * 1000,
        "burst": len(burst_clips),
        "burst_s": burst_s,
        "labels": labels,
        "threads": recognizer.config.cpu_threads,
        "beam": recognizer.config.beam_size,
    }


def label_accuracy(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        from nlu.embedded import EmbeddedParser
    except ImportError as e:
        print(f"(no voice-to-label accuracy: {e})", file=sys.stderr)
        return None
    parser = EmbeddedParser()
    out: dict[str, Any] = {"n": len(rows), "voice_top1": 0, "voice_top3": 0, "text_top1": 0, "misses": []}
    for r in rows:
        clip = r["clip"]
        voice = parser.parse_sync(r["transcript"].text)
        text = parser.parse_sync(clip["text"])
        r["voice_label"], r["text_label"] = voice.label, text.label
        out["voice_top1"] += voice.label == clip["label"]
        out["voice_top3"] += clip["label"] in [x.label for x in voice.ranking[:3]]
        out["text_top1"] += text.label == clip["label"]
    return out


def report(m: dict[str, Any]) -> str:
    lines = [
        f"Generated by `{COMMAND}` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared with other work while measured, load average "
        f"{os.getloadavg()[0]:.1f}), Whisper base int8 in a {m['worker']} worker, "
        f"{m['threads']} CTranslate2 thread(s), beam {m['beam']}, {len(m['rows'])} clips, {m['audio_s']:.0f} s of audio.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| character error rate (normalised, punctuation ignored) | {m['cer']:.1%} |",
        f"| real-time factor (recognition time / audio time, one note at a time) | {m['rtf']:.2f} |",
        f"| model preparation + load (sha256 check included) | {m['load_s']:.1f} s |",
        f"| memory, event-loop process: before the model / after {len(m['rows'])} notes / peak | "
        f"{m['base_rss']:.0f} / {m['model_rss']:.0f} / {m['peak_rss']:.0f} MB |",
        f"| memory, worker process: after {len(m['rows'])} notes / peak | "
        + (
            f"{m['worker_rss']:.0f} / {m['worker_peak']:.0f} MB |"
            if m["worker_rss"]
            else "(thread worker: included above) |"
        ),
        f"| event-loop lag during a burst of {m['burst']} notes ({m['burst_s']:.1f} s): max / p99 | "
        f"{m['lag_max_ms']:.0f} / {m['lag_p99_ms']:.0f} ms |",
        f"| event-loop lag while the model loads: max | {m['cold_lag_max_ms']:.0f} ms |",
    ]
    labels = m["labels"]
    if labels:
        n = labels["n"]
        lines += [
            f"| voice → label, top 1 (embedded NLU parser) | {labels['voice_top1']}/{n} |",
            f"| voice → label, within top 3 | {labels['voice_top3']}/{n} |",
            f"| exact text → label, top 1 (the NLU's own ceiling) | {labels['text_top1']}/{n} |",
        ]
    lines += ["", "| clip | label | CER | heard | voice label | text label |", "|---|---|---|---|---|---|"]
    for r in m["rows"]:
        c = r["clip"]
        lines.append(
            f"| {c['file']} | {c['label']} | {r['errors'] / r['length']:.0%} | {r['transcript'].text} | "
            f"{r.get('voice_label', '-')} | {r.get('text_label', '-')} |"
        )
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{text}\n{END}"
    if START in doc and END in doc:
        doc = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip() + "\n\n## Measured\n\n" + block + "\n"
    DOC.write_text(doc, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-docs", action="store_true", help="print only; leave docs/voice.md alone")
    ap.add_argument("--no-nlu", action="store_true", help="skip the voice-to-label accuracy")
    ap.add_argument("--threads", type=int, default=0, help="CTranslate2 threads (default: the recognizer's)")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--worker", choices=["process", "thread"], default="process")
    ap.add_argument("--burst", type=int, default=4, help="notes sent at once for the event-loop lag figure")
    args = ap.parse_args()
    text = report(asyncio.run(run(args)))
    print(text)
    if not args.no_docs:
        write_doc(text)
        print(f"\nwrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
