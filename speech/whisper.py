"""The local default recognizer: faster-whisper (CTranslate2) on the CPU, off the event loop."""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from speech.audio import decode
from speech.model import DEFAULT_MODEL_DIR, WHISPER_BASE_SHA256, prepare_whisper_base, verify_model_file
from speech.recognizer import RecognizerBusy, RecognizerUnavailable, Transcript
from speech.text import clean_transcript

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

# Without a Simplified prompt Whisper writes Mandarin in Traditional characters.
DEFAULT_PROMPT = "以下是普通话的句子，使用简体中文。"
DEFAULT_MAX_SECONDS = 120.0
DEFAULT_QUEUE_SIZE = 4
WORKERS = ("process", "thread")


@dataclass(frozen=True, slots=True)
class WhisperConfig:
    model_dir: Path
    model_sha256: str | None
    prepare_default: bool
    compute_type: str
    cpu_threads: int
    beam_size: int
    language: str
    initial_prompt: str


# One model per worker (process or thread pool of one), loaded on its first job.
_loaded: tuple[WhisperConfig, WhisperModel] | None = None
_load_lock = threading.Lock()


def _load(config: WhisperConfig) -> WhisperModel:
    global _loaded
    with _load_lock:
        if _loaded is None or _loaded[0] != config:
            from faster_whisper import WhisperModel

            if config.prepare_default:
                prepare_whisper_base(config.model_dir)
            elif config.model_sha256:
                verify_model_file(config.model_dir / "model.bin", config.model_sha256)
            log.info(
                "loading speech model %s (%s, %d threads)",
                config.model_dir,
                config.compute_type,
                config.cpu_threads,
            )
            model = WhisperModel(
                str(config.model_dir),
                device="cpu",
                compute_type=config.compute_type,
                cpu_threads=config.cpu_threads,
                local_files_only=True,
            )
            _loaded = (config, model)
        return _loaded[1]


def _warm(config: WhisperConfig) -> None:
    _load(config)


def _recognize(config: WhisperConfig, samples: npt.NDArray[np.float32]) -> tuple[str, str]:
    segments, info = _load(config).transcribe(
        samples,
        language=config.language,
        beam_size=config.beam_size,
        initial_prompt=config.initial_prompt,
        vad_filter=True,
    )
    # Segments are produced lazily: the decoding happens while joining them.
    return "".join(s.text for s in segments).strip(), info.language


class WhisperRecognizer:
    """faster-whisper behind the `speech.recognizer.Recognizer` protocol.

    The model runs in one worker: by default a separate process (``worker="process"``), so no
    Python code of the recognizer ever competes with the event loop for the GIL; ``"thread"``
    keeps it in-process (less memory, measured loop stalls under CPU contention: docs/voice.md).
    At most ``queue_size`` notes wait behind the one in progress; beyond that `transcribe`
    raises RecognizerBusy at once. The model loads on the first note (or on `warm_up`). With
    ``model_dir`` unset, the pinned Whisper base is prepared from the installed packages and its
    sha256 checked; a custom ``model_dir`` is checked when ``model_sha256`` is given.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        model_sha256: str | None = None,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        worker: str = "process",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 5,
        language: str = "zh",
        initial_prompt: str = DEFAULT_PROMPT,
    ) -> None:
        if worker not in WORKERS:
            raise ValueError(f"voice.worker must be one of {WORKERS}, not {worker!r}")
        default_model = model_dir is None or Path(model_dir).resolve() == DEFAULT_MODEL_DIR
        self.config = WhisperConfig(
            model_dir=Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR,
            model_sha256=WHISPER_BASE_SHA256 if default_model else model_sha256,
            prepare_default=default_model,
            compute_type=compute_type,
            # Leave a core to the event loop; whisper base gains little beyond four threads.
            cpu_threads=cpu_threads or min(4, max(1, (os.cpu_count() or 2) - 1)),
            beam_size=beam_size,
            language=language,
            initial_prompt=initial_prompt,
        )
        self.max_seconds = max_seconds
        self.queue_size = queue_size
        self.worker = worker
        self.name = f"faster-whisper:{self.config.model_dir.name}"
        if worker == "thread":
            # A first import inside the worker thread holds the GIL for hundreds of milliseconds.
            importlib.import_module("faster_whisper")
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        self._held = 0  # notes being decoded, waiting for, or in recognition

    @property
    def pending(self) -> int:
        return self._held

    @property
    def started(self) -> bool:
        """Whether the worker (and so the model) has been started."""
        return self._executor is not None

    def worker_pids(self) -> list[int]:
        """The worker process ids (empty for a thread worker or before the first note)."""
        if isinstance(self._executor, ProcessPoolExecutor):
            return [p.pid for p in (self._executor._processes or {}).values() if p.pid]
        return []

    async def warm_up(self) -> None:
        """Start the worker and load (and if needed prepare) the model now, not on the first note."""
        await self._run(_warm, self.config)

    async def drain(self) -> None:
        """Wait until the worker has finished every note handed to it so far."""
        await self._run(_warm, self.config)

    async def transcribe(self, audio: bytes, *, mime: str | None = None) -> Transcript:
        self._reserve()
        handed_over = False
        try:
            decoded = await asyncio.to_thread(decode, audio, mime=mime, max_seconds=self.max_seconds)
            job = self._submit(_recognize, self.config, decoded.samples)
            # The slot is freed when the worker is done, even if our caller gave up waiting.
            job.add_done_callback(self._release)
            handed_over = True
            raw, language = await self._wait(job)
        finally:
            if not handed_over:
                self._release()
        return Transcript(
            text=clean_transcript(raw),
            recognizer_name=self.name,
            duration_s=round(decoded.duration_s, 2),
            language=language,
            raw_text=raw,
        )

    async def aclose(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _reserve(self) -> None:
        with self._lock:
            if self._held >= 1 + self.queue_size:
                raise RecognizerBusy(f"{self._held} voice notes are already waiting for recognition")
            self._held += 1

    def _release(self, _job: Future[Any] | None = None) -> None:
        with self._lock:
            self._held -= 1

    def _submit(self, fn: Any, *args: Any) -> Future[Any]:
        if self._executor is None:
            if self.worker == "process":
                # spawn: a fork of a process running an event loop and threads is not safe.
                ctx = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
            else:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")
        try:
            return self._executor.submit(fn, *args)
        except BrokenProcessPool as e:
            self._executor = None  # the next note starts a fresh worker
            raise RecognizerUnavailable("the speech worker died; it restarts with the next note") from e

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await self._wait(self._submit(fn, *args))

    async def _wait(self, job: Future[Any]) -> Any:
        try:
            return await asyncio.wrap_future(job)
        except BrokenProcessPool as e:
            # Killed (out of memory, a crash in native code): start a fresh worker next time.
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
            raise RecognizerUnavailable("the speech worker died; it restarts with the next note") from e
