"""The conversation service with real parts: SQLite (or PostgreSQL), the embedded NLU model, the catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from conversation_script import Chat, Clock, build

from catalog.loader import load_catalog
from catalog.model import Catalog
from handlers.conversation import ConversationService
from nlu.embedded import default_parser
from nlu.embedded.parser import EmbeddedParser
from storage.database import Database


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def parser() -> EmbeddedParser:
    p = default_parser()
    _ = p.model  # load once per session
    return p


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def db(tmp_path) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    """SQLite: most transcripts run here; `backend_db` runs a few on each backend."""
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'conv.db'}")
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def backend_db(db_url: str) -> AsyncIterator[Database]:
    """The root conftest's `db` on each backend (this folder's `db` is SQLite only)."""
    database = await Database.open(db_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def service(db: Database, catalog: Catalog, parser: EmbeddedParser, clock: Clock) -> ConversationService:
    return build(db, catalog, parser, clock)


@pytest.fixture
def chat(service: ConversationService, clock: Clock):  # type: ignore[no-untyped-def]
    """``chat("1001", "王阿姨")`` → a private chat with that person."""

    def make(user_id: str, name: str = "居民", **kw: object) -> Chat:
        return Chat(service, clock, user_id, name, **kw)  # type: ignore[arg-type]

    return make
