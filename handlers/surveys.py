"""Survey answers (buttons ``sv|<number>|<level>`` sent by the engine) and the optional comment."""

from __future__ import annotations

from dispatch.lifecycle import CaseStatus
from dispatch.surveys import LABELS, LEVELS, result_of_level
from handlers import keyboards as kb
from handlers.callbacks import Action, Callback
from handlers.deps import Deps
from handlers.state import Step
from handlers.turn import Turn

_LEVEL_OF_INTENT = {
    "survey_very_satisfied": 5, "survey_satisfied": 4, "survey_basic": 3,
    "survey_unsatisfied": 2, "survey_very_unsatisfied": 1,
}  # fmt: skip
COMMENT_CHARS = 500


async def on_button(d: Deps, turn: Turn, cb: Callback) -> None:
    number, level = cb.args
    try:
        result_of_level(level)
    except ValueError:
        turn.say("这个按钮已经失效了。", kb.menu())
        return
    await _answer(d, turn, number, int(level))


async def _answer(d: Deps, turn: Turn, number: str, level: int) -> None:
    await d.cases.answer_survey(turn.person, number, level, at=turn.now)
    label = LABELS[LEVELS[level]]
    if level >= 3:
        text = f"谢谢您的评价：{label}。"
    else:
        text = f"抱歉让您{label}。已经要求部门重新办理，并由联动中心督办。"
    turn.state.reset()
    turn.state.step = Step.SURVEY_COMMENT
    turn.state.data = {"number": number}
    turn.say(text + "\n还有什么想说的吗？可以直接打字。", ((kb.cb("不用了", Action.SKIP, "comment"),),))


async def on_comment(d: Deps, turn: Turn) -> None:
    number = turn.state.data.get("number", "")
    comment = turn.text[:COMMENT_CHARS]
    turn.state.reset()
    if comment in ("不用了", "没有", "不用", "没了"):
        turn.say("好的，谢谢！有需要随时告诉我。", kb.menu())
        return
    if not comment:
        turn.say("好的。有需要随时告诉我。", kb.menu())
        return
    await d.cases.add_survey_comment(turn.person, number, comment, at=turn.now)
    turn.say("谢谢，您的意见已经记下，会转给相关部门。", kb.menu())


async def skip_comment(d: Deps, turn: Turn) -> None:
    if turn.state.step is Step.SURVEY_COMMENT:
        turn.state.reset()
        turn.say("好的，谢谢！有需要随时告诉我。", kb.menu())
    else:
        turn.say("好的。有需要随时告诉我。", kb.menu())


async def answer_by_text(d: Deps, turn: Turn, intent: str) -> None:
    """「很满意」 typed instead of pressed: the answer for the latest case waiting for one."""
    cases = await d.cases.my_cases(turn.person.id, open_only=True)
    waiting = next((c for c in cases if c.status is CaseStatus.RESOLVED and c.survey_result is None), None)
    if waiting is None:
        turn.say("好的。有什么需要，直接告诉我。", kb.menu())
        return
    await _answer(d, turn, waiting.number, _LEVEL_OF_INTENT[intent])
