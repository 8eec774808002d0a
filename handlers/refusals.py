"""Why a request was refused, in plain words: the one place DomainErrors become replies."""

from __future__ import annotations

from dispatch.access import CaseNotFound, PermissionDenied, ReturnNotAllowed
from dispatch.errors import DomainError, IllegalTransition, MissingReason
from handlers import keyboards as kb
from handlers.texts import STATUS
from handlers.turn import Turn


def explain(turn: Turn, error: DomainError) -> None:
    if isinstance(error, CaseNotFound):
        text = "找不到这个编号的事项。"
    elif isinstance(error, PermissionDenied):
        text = "这件事不归您处理，没有做任何改动。"
    elif isinstance(error, ReturnNotAllowed):
        text = "这个工单已经退回过两次，联动中心的分派决定不能再退回了。"
    elif isinstance(error, MissingReason):
        text = "退回必须写明原因。"
    elif isinstance(error, IllegalTransition):
        status = STATUS.get(str(error.status), str(error.status))
        text = f"这件事现在的状态是“{status}”，这个操作已经不能做了。"
    else:
        text = "这个操作做不了。"
    turn.say(text, kb.menu())
