"""What the conversations need from the configuration, and the clock they read time from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
"""Gives "now", timezone-aware; the same kind of clock ``CaseService`` takes (tests drive it)."""


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ConversationSettings:
    """Tunables of the conversations. Build from ``AppConfig``: ``low_confidence=cfg.nlu.low_confidence``,
    ``timezone=cfg.service.timezone``."""

    low_confidence: float = 0.45
    timezone: str = "Asia/Shanghai"
    hotline: str = "12345"  # the city's government hotline, offered when the bot itself fails
    max_text_chars: int = 4000
    visit_quota: int = 30  # households a grid worker visits per month

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
