from __future__ import annotations

import pytest
from engine_helpers import Clock, Team, make_team

from catalog.loader import load_catalog
from catalog.model import Catalog
from handlers.cases import CaseService
from storage.database import Database


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
