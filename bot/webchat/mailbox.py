"""Replies waiting for a browser to confirm it showed them, kept on disk.

Every reply to a web chat, answers and notifications alike, is written here first and pushed to
the chat's open sockets second; the page acknowledges what it has shown. Whatever is not yet
acknowledged is sent again when the page connects. So a reply is never lost: not when no page is
open (a status change at night), not when a phone's socket died silently, and not when the
answer to a message was on its way while the connection dropped (the resent message is
de-duplicated downstream and gets no second answer, so the first one must survive).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.webchat.identity import is_chat_id

log = logging.getLogger(__name__)

MAX_PENDING = 500
"""Per chat. Far above what a resident receives between two visits; beyond it the oldest go."""


class Mailbox:
    """One small JSON file per chat: ``{"next": seq, "pending": [frame, …]}``, replaced atomically."""

    def __init__(self, folder: Path, *, max_pending: int = MAX_PENDING) -> None:
        self.folder = folder
        self.max_pending = max_pending
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, chat_id: str) -> asyncio.Lock:
        """Held while a chat's mailbox changes and while its pending replies are pushed, so a
        socket sees the replies in order and never a gap."""
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    def _path(self, chat_id: str) -> Path:
        if not is_chat_id(chat_id):
            raise ValueError(f"not a web chat id: {chat_id!r}")
        return self.folder / f"{chat_id}.json"

    def _read(self, chat_id: str) -> dict[str, Any]:
        try:
            return json.loads(self._path(chat_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"next": 1, "pending": []}

    def _write(self, chat_id: str, box: dict[str, Any]) -> None:
        path = self._path(chat_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(box, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    async def _change(self, chat_id: str, change: Callable[[dict[str, Any]], Any]) -> Any:
        def run() -> Any:
            box = self._read(chat_id)
            result = change(box)
            self._write(chat_id, box)
            return result

        return await asyncio.to_thread(run)

    async def append(self, chat_id: str, make_frame: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        """Store the frame that ``make_frame(seq)`` draws; returns it. Call with ``lock(chat_id)`` held."""

        def change(box: dict[str, Any]) -> dict[str, Any]:
            frame = make_frame(box["next"])
            box["next"] += 1
            box["pending"].append(frame)
            if len(box["pending"]) > self.max_pending:
                dropped = len(box["pending"]) - self.max_pending
                log.warning(
                    "web chat %s: %d unread replies dropped (over %d)", chat_id, dropped, self.max_pending
                )
                del box["pending"][:dropped]
            return frame

        frame: dict[str, Any] = await self._change(chat_id, change)
        return frame

    async def ack(self, chat_id: str, seq: int) -> int:
        """Forget every reply up to ``seq``; returns how many went."""
        async with self.lock(chat_id):

            def change(box: dict[str, Any]) -> int:
                before = len(box["pending"])
                box["pending"] = [f for f in box["pending"] if f["seq"] > seq]
                return before - len(box["pending"])

            removed: int = await self._change(chat_id, change)
            return removed

    async def pending(self, chat_id: str) -> tuple[int, list[dict[str, Any]]]:
        """(the next seq to be given, the replies not yet acknowledged, oldest first)."""
        box = await asyncio.to_thread(self._read, chat_id)
        return box["next"], list(box["pending"])
