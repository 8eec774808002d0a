"""What the outbox relay and the conversation use to put a Reply into a chat."""

from __future__ import annotations

from typing import Protocol

from handlers.messages import Channel, Reply


class DeliveryError(Exception):
    """Sending failed. `permanent` means retrying cannot help (chat gone, bot blocked)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


class Sender(Protocol):
    channel: Channel

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        """Deliver one reply; returns the channel's message id where it has one.
        Raises DeliveryError on failure."""
        ...
