"""The one result type every NLU backend returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class ParseKind(StrEnum):
    SERVICE = "service"  # one of the 280 居家无忧 services, label like "YL001"
    CASE = "case"  # one of the 63 平安365 case types, label like "HJ01"
    DIALOGUE = "dialogue"  # greet, help, thanks, affirm, deny, query_status, cancel, survey_*
    NONE = "none"  # nothing we serve (out_of_scope, chit-chat, noise)


DIALOGUE_INTENTS = (
    "greet",
    "help",
    "thanks",
    "affirm",
    "deny",
    "query_status",
    "cancel",
    "survey_very_satisfied",
    "survey_satisfied",
    "survey_basic",
    "survey_unsatisfied",
    "survey_very_unsatisfied",
)
NONE_INTENT = "out_of_scope"


@dataclass(frozen=True, slots=True)
class Ranked:
    label: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Entity:
    """A value found in the text. `value` is normalised (a phone's digits, an ISO datetime,
    an int age, a community or grid code for addresses where one matched)."""

    entity: str  # address | phone | time | person | age
    text: str  # the span as written
    start: int
    end: int
    value: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"community": "HB01", "street": "HB"}


@dataclass(frozen=True, slots=True)
class Parse:
    text: str
    kind: ParseKind
    label: str  # catalog code, dialogue intent, or "out_of_scope"
    confidence: float
    ranking: tuple[Ranked, ...] = ()  # top 5, best first
    entities: tuple[Entity, ...] = ()

    def entity(self, name: str) -> Entity | None:
        return next((e for e in self.entities if e.entity == name), None)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = str(self.kind)
        return d


class Parser(Protocol):
    """Text in, Parse out. `now` anchors relative times such as 明天上午."""

    async def parse(self, text: str, *, now: Any = None) -> Parse: ...


def kind_of(label: str) -> ParseKind:
    """Classify a label by its shape: service codes are 2 letters + 3 digits, case codes 2 letters + 2."""
    if label in DIALOGUE_INTENTS:
        return ParseKind.DIALOGUE
    if len(label) == 5 and label[:2].isalpha() and label[2:].isdigit():
        return ParseKind.SERVICE
    if len(label) == 4 and label[:2].isalpha() and label[2:].isdigit():
        return ParseKind.CASE
    return ParseKind.NONE
