"""Background loops that survive their own errors and stop promptly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    """Runs `tick()` every `interval_s` seconds until stopped. A tick that raises is logged and the
    loop goes on; `tick()` returning True means "more work is waiting", so the next tick runs at once."""

    def __init__(self, name: str, tick: Callable[[], Awaitable[bool | None]], interval_s: float) -> None:
        self.name = name
        self._tick = tick
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Run the next tick now (e.g. right after a commit that added outbox rows)."""
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while not self._stopping:
            more = False
            try:
                more = bool(await self._tick())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: tick failed", self.name)
            if more:
                await asyncio.sleep(0)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
