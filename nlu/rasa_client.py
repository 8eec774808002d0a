"""`RasaParser`: the Parser backed by a Rasa server (`rasa run --enable-api`, POST /model/parse).

The server runs in its own Python 3.10 venv (`make rasa-serve`); this side only speaks HTTP. When the
server is down, slow or broken, the parse is answered by a fallback parser (the embedded one), a
warning is logged at most once per `warn_every_s`, and Rasa is not asked again for `retry_after_s`
(a small circuit breaker, so a dead server costs one timeout per window, not one per message).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import aiohttp

from nlu.entities import extract_entities
from nlu.normalize import normalize
from nlu.parse import NONE_INTENT, Entity, Parse, ParseKind, Parser, Ranked, kind_of
from nlu.paths import ROOT

log = logging.getLogger(__name__)

DEFAULT_PORT = 5005
TOP_K = 5
# Top intents below this confidence become out_of_scope: held-out `none` recall 0.91 at 0.10 (docs/rasa.md).
DEFAULT_THRESHOLD = 0.10
RASA_VENV = ROOT / ".venv-rasa"
RASA_MODEL = ROOT / "var" / "models" / "rasa" / "nlu.tar.gz"


class RasaError(Exception):
    """The Rasa server did not give a usable answer."""


def rasa_url(port: int | None = None, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port or DEFAULT_PORT}"


class RasaParser:
    """`nlu.parse.Parser` that asks a Rasa server and falls back to `fallback` when it cannot.

    `threshold`: a top intent below this confidence becomes `out_of_scope`, as in the embedded
    parser, so both backends say "none" the same way. Call `aclose()` when done.
    """

    def __init__(
        self,
        fallback: Parser,
        url: str = rasa_url(),
        *,
        timeout_s: float = 2.0,
        threshold: float = DEFAULT_THRESHOLD,
        retry_after_s: float = 30.0,
        warn_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self.fallback = fallback
        self.threshold = threshold
        self.retry_after_s = retry_after_s
        self.warn_every_s = warn_every_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._down_until = float("-inf")
        self._last_warning = float("-inf")
        self._fallbacks = 0  # answered by the fallback since the last warning
        self._down = False

    @property
    def available(self) -> bool:
        """False while the breaker is open (Rasa failed within the last `retry_after_s`)."""
        return self._clock() >= self._down_until

    async def parse(self, text: str, *, now: Any = None) -> Parse:
        clean = normalize(text)
        if not clean:
            return Parse(text, ParseKind.NONE, NONE_INTENT, 1.0, (Ranked(NONE_INTENT, 1.0),), ())
        if self.available:
            try:
                body = await self._post(clean)
            except RasaError as exc:
                self._trip(exc)
            else:
                self._recovered()
                return self._to_parse(text, clean, body, now)
        self._fallbacks += 1
        return await self.fallback.parse(text, now=now)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, clean: str) -> dict[str, Any]:
        if self._session is None:
            # Rasa parses one message at a time; a few kept-alive connections are all it can use.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=4)
            )
        try:
            async with self._session.post(f"{self.url}/model/parse", json={"text": clean}) as resp:
                if resp.status != 200:
                    raise RasaError(f"HTTP {resp.status}: {(await resp.text())[:200]}")
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RasaError(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("intent_ranking"), list):
            raise RasaError(f"unexpected answer: {str(body)[:200]}")
        return body

    def _trip(self, exc: RasaError) -> None:
        now = self._clock()
        self._down_until = now + self.retry_after_s
        self._down = True
        if now - self._last_warning >= self.warn_every_s:
            log.warning(
                "Rasa at %s failed (%s); using the embedded parser, retrying Rasa in %.0f s "
                "(%d messages answered by the fallback since the last warning)",
                self.url,
                exc,
                self.retry_after_s,
                self._fallbacks,
            )
            self._last_warning = now
            self._fallbacks = 0

    def _recovered(self) -> None:
        if self._down:
            log.warning(
                "Rasa at %s answers again (%d messages went to the fallback)", self.url, self._fallbacks
            )
            self._down = False
            self._fallbacks = 0

    def _to_parse(self, text: str, clean: str, body: dict[str, Any], now: Any) -> Parse:
        ranking = tuple(
            Ranked(str(r["name"]), round(float(r["confidence"]), 4))
            for r in body["intent_ranking"][:TOP_K]
            if isinstance(r, dict) and r.get("name")
        )
        entities = _merge(clean, extract_entities(clean, now), body.get("entities") or [])
        if not ranking:
            return Parse(text, ParseKind.NONE, NONE_INTENT, 1.0, (Ranked(NONE_INTENT, 1.0),), entities)
        best = ranking[0]
        if best.confidence < self.threshold and best.label != NONE_INTENT:
            label, confidence = NONE_INTENT, round(1.0 - best.confidence, 4)
        else:
            label, confidence = best.label, best.confidence
        return Parse(text, kind_of(label), label, confidence, ranking, entities)


def _merge(clean: str, ours: tuple[Entity, ...], theirs: list[Any]) -> tuple[Entity, ...]:
    """Our rule-based entities (same on every backend), plus Rasa's where they overlap none of ours."""
    taken = [(e.start, e.end) for e in ours]
    extra: list[Entity] = []
    for r in theirs:
        try:
            start, end, name = int(r["start"]), int(r["end"]), str(r["entity"])
        except (KeyError, TypeError, ValueError):
            continue
        if all(end <= s or start >= e for s, e in taken):
            value = r.get("value")
            extra.append(Entity(name, clean[start:end], start, end, value, {"extractor": r.get("extractor")}))
            taken.append((start, end))
    return tuple(sorted((*ours, *extra), key=lambda e: (e.start, e.end)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RasaServer:
    """A `rasa run --enable-api` subprocess on 127.0.0.1, for tests, benchmarks and measurements.

    Production runs `make rasa-serve` instead. Use as a context manager, or start()/wait_ready()/stop().
    """

    def __init__(
        self,
        model: Path = RASA_MODEL,
        port: int | None = None,
        venv: Path = RASA_VENV,
        log_path: Path | None = None,
    ) -> None:
        self.model, self.venv = model, venv
        self.port = port or free_port()
        self.url = rasa_url(self.port)
        self.log_path = log_path or model.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
        self._log = self.log_path.open("wb")
        cmd = [str(self.venv / "bin" / "rasa"), "run", "--enable-api", "-m", str(self.model)]
        cmd += ["-i", "127.0.0.1", "-p", str(self.port)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Block until GET /status answers with a loaded model; return the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"rasa exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/status", timeout=2) as resp:
                    if resp.status == 200 and b"model_file" in resp.read():
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"rasa did not come up within {timeout_s:.0f} s; see {self.log_path}")

    def rss_mib(self) -> float:
        """Resident memory of the server process (Linux)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> RasaServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
