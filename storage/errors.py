"""Errors raised by storage."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for storage failures callers may want to handle."""


class ConcurrencyError(StorageError):
    """Someone else saved the case since it was loaded (optimistic lock); reload and retry."""
