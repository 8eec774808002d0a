"""The web chat: a page and a WebSocket on the service's aiohttp server (see docs/webchat.md)."""

from bot.webchat.identity import chat_id_for, new_token
from bot.webchat.sender import WebSender
from bot.webchat.server import WebChat

__all__ = ["WebChat", "WebSender", "chat_id_for", "new_token"]
