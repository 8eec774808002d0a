"""Open sockets per chat, and the Sender that puts replies into a web chat."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bot.senders import DeliveryError
from bot.webchat.frames import reply_frame
from bot.webchat.identity import is_chat_id
from bot.webchat.mailbox import Mailbox
from bot.webchat.texts import PHOTO_SHOWN
from bot.webchat.uploads import UploadStore
from handlers.messages import Channel, Reply

log = logging.getLogger(__name__)

PUSH_TIMEOUT_S = 5.0


class Sockets:
    """The open WebSockets of each chat (a person may have the page open in two tabs)."""

    def __init__(self) -> None:
        self._by_chat: dict[str, set[web.WebSocketResponse]] = {}

    def add(self, chat_id: str, ws: web.WebSocketResponse) -> None:
        self._by_chat.setdefault(chat_id, set()).add(ws)

    def remove(self, chat_id: str, ws: web.WebSocketResponse) -> None:
        group = self._by_chat.get(chat_id)
        if group is not None:
            group.discard(ws)
            if not group:
                del self._by_chat[chat_id]

    def of(self, chat_id: str) -> list[web.WebSocketResponse]:
        return list(self._by_chat.get(chat_id, ()))

    def count(self) -> int:
        return sum(len(g) for g in self._by_chat.values())

    async def close_all(self) -> None:
        for group in list(self._by_chat.values()):
            for ws in list(group):
                await ws.close(message=b"server shutdown")

    async def push(self, chat_id: str, frame: dict[str, Any]) -> int:
        """Send to every open socket of the chat; returns on how many it went out. A socket that
        fails is left to its reader to clean up: the frame stays in the mailbox anyway."""
        sent = 0
        for ws in self.of(chat_id):
            if ws.closed:
                continue
            try:
                await asyncio.wait_for(ws.send_json(frame), PUSH_TIMEOUT_S)
                sent += 1
            except (ConnectionError, RuntimeError, TimeoutError) as e:
                log.info("web chat %s: push failed (%s); kept for the next connection", chat_id, e)
        return sent


class WebSender:
    """bot.senders.Sender for channel WEB.

    ``send`` stores the reply in the chat's mailbox (on disk) and then pushes it to the chat's open
    sockets; the page acknowledges it. It succeeds whether or not a page is open: the reply waits
    in the mailbox and goes out when the person next opens the page. It raises DeliveryError only
    when the reply could not be stored (not permanent: the outbox relay retries) or the chat id
    cannot be a web chat (permanent).
    """

    channel = Channel.WEB

    def __init__(self, sockets: Sockets, mailbox: Mailbox, uploads: UploadStore) -> None:
        self.sockets = sockets
        self.mailbox = mailbox
        self.uploads = uploads

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        if not is_chat_id(chat_id):
            raise DeliveryError(f"not a web chat id: {chat_id!r}", permanent=True)
        photo_url = None
        if reply.photo_ref:
            up = self.uploads.by_path(reply.photo_ref)
            if up is not None:
                photo_url = f"/webchat/media/{up.ref}"
            else:
                # A photo from another channel (a Telegram file id) cannot be shown here.
                reply = Reply(f"{reply.text}\n{PHOTO_SHOWN}", reply.buttons, None, reply.remove_keyboard)
        async with self.mailbox.lock(chat_id):
            try:
                frame = await self.mailbox.append(chat_id, lambda seq: reply_frame(reply, seq, photo_url))
            except OSError as e:
                raise DeliveryError(f"web chat mailbox not writable: {e}") from e
            await self.sockets.push(chat_id, frame)
        return f"{chat_id}:{frame['seq']}"
