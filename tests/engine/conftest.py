from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from engine_helpers import Clock, Team, make_team

from catalog.loader import load_catalog
from catalog.model import Catalog
from handlers.cases import CaseService
from storage.database import Database


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = await Database.open(db_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db: Database, catalog: Catalog, clock: Clock) -> CaseService:
    return CaseService(db, catalog, clock=clock)


@pytest.fixture
async def team(db: Database) -> Team:
    return await make_team(db)
