"""Start the real service process and talk to it over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"service exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                assert r.status == 200
                return json.loads(r.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError("service did not answer /health in time")


def test_service_starts_answers_health_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(HTTP_PORT=str(port), DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/smoke.db")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        body = wait_health(port, proc)
        assert body["status"] == "ok"
        assert body["database"]["ok"] is True
        assert body["catalog"] == {"services": 280, "case_types": 63}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
        assert b"stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
