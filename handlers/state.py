"""Conversation state per chat, kept as JSON in storage so a restart mid-dialogue continues."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Step(StrEnum):
    """Where a chat is in a dialogue; IDLE means the next message starts something new."""

    IDLE = "idle"
    COMMUNITY = "community"  # picking the community (after /start)
    CHOOSE = "choose"  # low confidence: picking one of the top 3
    CONFIRM = "confirm"  # the confirmation card is shown
    SLOT = "slot"  # asking for one missing detail (draft["pending"])
    DUPLICATE = "duplicate"  # a same-grid case exists: link or submit anyway
    SURVEY_COMMENT = "survey_comment"  # optional comment after a survey answer
    RESOLVE_NOTE = "resolve_note"  # staff: completion note or photo
    RETURN_REASON = "return_reason"  # staff: reason for returning
    VISIT_ADDRESS = "visit_address"  # grid worker: household visited
    VISIT_NOTES = "visit_notes"


@dataclass
class ConversationState:
    step: Step = Step.IDLE
    draft: dict[str, Any] = field(default_factory=dict)  # the request being put together
    data: dict[str, Any] = field(default_factory=dict)  # small step arguments (a case number…)
    onboarded: bool = False  # greeted once; the phone/community offer was made

    def reset(self) -> None:
        """Leave the current dialogue (the onboarding flag stays)."""
        self.step, self.draft, self.data = Step.IDLE, {}, {}

    def to_json(self) -> dict[str, Any]:
        return {"step": str(self.step), "draft": self.draft, "data": self.data, "onboarded": self.onboarded}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ConversationState:
        if not raw:
            return cls()
        try:
            step = Step(raw.get("step", Step.IDLE))
        except ValueError:  # a step from an older version: start over rather than fail
            step = Step.IDLE
        return cls(
            step, dict(raw.get("draft") or {}), dict(raw.get("data") or {}), bool(raw.get("onboarded"))
        )
