"""Persistence: SQLAlchemy 2 async on SQLite (default) or PostgreSQL; migrations, repositories, outbox.

Start with :class:`storage.database.Database` and take a :class:`storage.uow.UnitOfWork` per task.
"""

from storage.database import Database
from storage.engine import DEFAULT_URL, create_engine
from storage.errors import ConcurrencyError, StorageError
from storage.migrate import upgrade
from storage.uow import UnitOfWork

__all__ = [
    "DEFAULT_URL",
    "ConcurrencyError",
    "Database",
    "StorageError",
    "UnitOfWork",
    "create_engine",
    "upgrade",
]
