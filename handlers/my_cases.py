"""A resident's own cases: /my, one case's details, cancelling, and free-text status questions."""

from __future__ import annotations

from dispatch.access import is_dispatcher
from dispatch.case import Case
from dispatch.lifecycle import CaseStatus
from dispatch.people import Person, Role
from handlers import center
from handlers import keyboards as kb
from handlers.callbacks import Action, Callback
from handlers.deps import Deps
from handlers.messages import Button
from handlers.texts import NOTHING_TO_CANCEL
from handlers.turn import Turn
from handlers.views import item_name, local_time, status_line, status_text

CANCELLABLE = frozenset({CaseStatus.SUBMITTED, CaseStatus.ASSIGNED, CaseStatus.RETURNED})
LIST_LIMIT = 10


async def list_mine(d: Deps, turn: Turn) -> None:
    cases = await d.cases.my_cases(turn.person.id, limit=LIST_LIMIT)
    if not cases:
        turn.say("您还没有办过事。有需要直接告诉我。", kb.menu())
        return
    lines = ["您的事项："] + [f"{i}. {status_line(d.catalog, c)}" for i, c in enumerate(cases, 1)]
    buttons = tuple((kb.cb(f"查看 {c.number}", Action.SHOW, c.number),) for c in cases)
    turn.say("\n".join(lines), buttons)


def may_view(person: Person, case: Case) -> bool:
    if person.id == case.requester_id or is_dispatcher(person):
        return True
    return person.has_role(Role.DEPT_STAFF) and person.department in (case.department, *case.co_departments)


async def on_button(d: Deps, turn: Turn, cb: Callback) -> None:
    number = cb.args[0]
    case = await d.cases.get(number)
    if case is None or not may_view(turn.person, case):
        turn.say("找不到这个编号的事项。", kb.menu())
        return
    if cb.action is Action.SHOW:
        show(d, turn, case)
        return
    if case.status not in CANCELLABLE:
        turn.say(f"{status_line(d.catalog, case)}\n部门已经在办了，不能取消。有问题可以直接说。", kb.menu())
        return
    await d.cases.cancel(turn.person, number, note="requester", at=turn.now)
    turn.state.reset()
    turn.say(f"已取消 {number}。有需要随时告诉我。", kb.menu())


async def show_number(d: Deps, turn: Turn, number: str) -> None:
    """A case number typed or pasted: that case, if this person may see it."""
    case = await d.cases.get(number)
    if case is None or not may_view(turn.person, case):
        turn.say(f"找不到 {number}。请核对编号，或发 /my 看您的事项。", kb.menu())
        return
    show(d, turn, case)


def show(d: Deps, turn: Turn, case: Case) -> None:
    dept = (
        d.catalog.departments[case.department].name if case.department in d.catalog.departments else "待分派"
    )
    lines = [
        f"编号：{case.number}",
        f"事项：{item_name(d.catalog, case)}",
        f"状态：{status_text(case)}",
        f"负责部门：{dept}",
        f"提交时间：{local_time(d.settings.tz, case.submitted_at)}",
    ]
    if case.address:
        lines.append(f"地址：{case.address}")
    rows: list[tuple[Button, ...]] = []
    if turn.person.id == case.requester_id and case.status in CANCELLABLE:
        rows.append((kb.cb("取消这件事", Action.CANCEL, case.number),))
    if is_dispatcher(turn.person) and case.is_open:
        rows += list(center.assign_buttons(d, case))
    rows += list(kb.menu())
    turn.say("\n".join(lines), tuple(rows))


async def answer_status(d: Deps, turn: Turn) -> None:
    """「我昨天报的路灯修好了吗」: the status of the case the question is about."""
    case = await d.cases.find_for_question(turn.person.id, turn.text)
    if case is None:
        turn.say("您还没有办过事。有需要直接告诉我。", kb.menu())
        return
    turn.say(status_line(d.catalog, case), ((kb.cb("查看详情", Action.SHOW, case.number),), *kb.menu()))


async def offer_cancel(d: Deps, turn: Turn) -> None:
    """「不要了，取消吧」: offer to cancel the latest case that can still be cancelled."""
    cases = await d.cases.my_cases(turn.person.id, open_only=True, limit=LIST_LIMIT)
    latest = next((c for c in cases if c.status in CANCELLABLE), None)
    if latest is None:
        turn.say(NOTHING_TO_CANCEL, kb.menu())
        return
    turn.say(
        f"要取消这件事吗？\n{status_line(d.catalog, latest)}",
        ((kb.cb("是，取消", Action.CANCEL, latest.number),), (kb.cb("不取消", Action.MENU, "my"),)),
    )
