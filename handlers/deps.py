"""What every dialogue module works with, built once by ConversationService."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catalog.model import Catalog
from handlers.cases import CaseService
from handlers.settings import ConversationSettings
from nlu.parse import Parser
from storage.uow import UnitOfWork

UowFactory = Callable[..., UnitOfWork]
"""``Database.uow``: ``uow_factory()`` for a write transaction, ``uow_factory(read_only=True)`` to read
(add ``snapshot=False`` where the reads need no common snapshot)."""


@dataclass(frozen=True, slots=True)
class Deps:
    uow: UowFactory
    catalog: Catalog
    parser: Parser
    cases: CaseService
    settings: ConversationSettings
