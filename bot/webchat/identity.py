"""Who a browser is: a random token the page keeps in localStorage, and the chat id derived from it."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
"""128 random bits, base64url without padding (what the page generates with crypto.getRandomValues)."""

CHAT_ID_RE = re.compile(r"^w[0-9a-f]{32}$")


def new_token() -> str:
    """A fresh chat token, as the page would make one (used by tests and tools)."""
    return secrets.token_urlsafe(16)


def is_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN_RE.match(value) is not None


def chat_id_for(token: str) -> str:
    """The chat id (and user id) of a token on channel "web".

    The token is a bearer secret: whoever holds it is that resident. Only its hash is stored and
    logged, so a copy of the database or the logs does not let anyone speak as the resident.
    """
    if not is_token(token):
        raise ValueError("not a web chat token")
    return "w" + hashlib.sha256(token.encode()).hexdigest()[:32]


def is_chat_id(value: object) -> bool:
    return isinstance(value, str) and CHAT_ID_RE.match(value) is not None
