"""Button data: a small, strict codec shared by every feature that draws or reads buttons.

Data is `action|arg|arg…`, at most 64 bytes (Telegram's limit). Anything that does not decode
to a known action with the right number of well-formed arguments is rejected as forged; a button
that decodes but no longer fits the case's state is answered as stale by the feature that owns it.
Decoding never grants anything: every feature still checks who pressed the button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from handlers.messages import MAX_CALLBACK_BYTES

SEP = "|"


class Action(StrEnum):
    PICK = "pick"  # choose an NLU candidate: (label | "none")
    CONFIRM = "ok"  # confirm the draft request: ()
    RESTART = "redo"  # discard the draft: ()
    STREET = "st"  # choose a street while picking a community: (street code)
    COMMUNITY = "cm"  # choose a community: (community code)
    GRID = "grid"  # choose a grid for a report: (grid code)
    SKIP = "skip"  # skip an optional detail: (slot name)
    ACCEPT = "acc"  # department accepts: (case number)
    RESOLVE = "res"  # department resolves: (case number)
    RETURN = "ret"  # department returns to the center: (case number)
    ASSIGN = "asg"  # the center assigns: (case number, department code)
    CANCEL = "cx"  # requester cancels: (case number)
    SURVEY = "sv"  # survey answer: (case number, level 1..5)
    DUPLICATE = "dup"  # link to an existing case or not: (case number, "y" | "n")
    MENU = "menu"  # a main-menu entry: (name)
    SHOW = "show"  # show one case: (case number)


ARITY: dict[Action, int] = {
    Action.PICK: 1, Action.CONFIRM: 0, Action.RESTART: 0, Action.STREET: 1, Action.COMMUNITY: 1,
    Action.GRID: 1, Action.SKIP: 1, Action.ACCEPT: 1, Action.RESOLVE: 1, Action.RETURN: 1,
    Action.ASSIGN: 2, Action.CANCEL: 1, Action.SURVEY: 2, Action.DUPLICATE: 2, Action.MENU: 1,
    Action.SHOW: 1,
}  # fmt: skip

_ARG = re.compile(r"^[A-Za-z0-9_\-]{1,24}$")


class ForgedCallback(ValueError):
    """The data did not come from a button this service drew."""


@dataclass(frozen=True, slots=True)
class Callback:
    action: Action
    args: tuple[str, ...] = ()

    def encode(self) -> str:
        return encode(self.action, *self.args)


def encode(action: Action, *args: str) -> str:
    if len(args) != ARITY[action]:
        raise ValueError(f"{action} takes {ARITY[action]} arguments, got {len(args)}")
    for a in args:
        if not _ARG.match(a):
            raise ValueError(f"bad callback argument {a!r}")
    data = SEP.join((action.value, *args))
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: str | None) -> Callback:
    if not data or len(data.encode("utf-8", "replace")) > MAX_CALLBACK_BYTES:
        raise ForgedCallback("empty or oversized")
    head, *args = data.split(SEP)
    try:
        action = Action(head)
    except ValueError as e:
        raise ForgedCallback(f"unknown action {head!r}") from e
    if len(args) != ARITY[action] or not all(_ARG.match(a) for a in args):
        raise ForgedCallback(f"malformed arguments for {action}")
    return Callback(action, tuple(args))
