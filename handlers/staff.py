"""Department staff: 接单 / 办结 (with a note or photo) / 退回 (with a reason), and /cases.

Buttons come from the engine's new-case notices. Every press is checked here and again in
CaseService: only staff of the case's department may act; in a group chat the presser's own
role counts, never the group's.
"""

from __future__ import annotations

from dispatch.access import PermissionDenied, binding_department, require_may_return, require_staff_of
from dispatch.case import Attachment, AttachmentKind, Case
from dispatch.lifecycle import Action as CaseAction
from dispatch.lifecycle import allowed_actions
from handlers import keyboards as kb
from handlers.callbacks import Action, Callback
from handlers.deps import Deps
from handlers.messages import Button
from handlers.state import Step
from handlers.texts import STATUS
from handlers.turn import Turn
from handlers.views import item_name, local_time

LIST_LIMIT = 15
_NEEDS = {
    Action.ACCEPT: CaseAction.ACCEPT,
    Action.RESOLVE: CaseAction.RESOLVE,
    Action.RETURN: CaseAction.RETURN,
}


def case_buttons(case: Case) -> tuple[tuple[Button, ...], ...]:
    """The actions the case's status allows now, as big buttons."""
    allowed = allowed_actions(case.status)
    row: list[Button] = []
    if CaseAction.ACCEPT in allowed:
        row.append(kb.cb("接单", Action.ACCEPT, case.number))
    if CaseAction.RESOLVE in allowed:
        row.append(kb.cb("办结", Action.RESOLVE, case.number))
    if CaseAction.RETURN in allowed and binding_department(case) != case.department:
        row.append(kb.cb("退回", Action.RETURN, case.number))
    return (tuple(row),) if row else ()


async def on_button(d: Deps, turn: Turn, cb: Callback) -> None:
    number = cb.args[0]
    case = await d.cases.get(number)
    if case is None:
        turn.say("找不到这个工单。", kb.menu())
        return
    try:
        require_staff_of(turn.person, case)
    except PermissionDenied:
        dept = d.catalog.departments[case.department].name if case.department in d.catalog.departments else ""
        turn.say(f"只有{dept}的工作人员可以处理这个工单，没有做任何改动。")
        return
    if _NEEDS[cb.action] not in allowed_actions(case.status):
        status = STATUS.get(str(case.status), str(case.status))
        turn.say(f"{case.number} 现在是“{status}”，这个按钮已经过期了。", case_buttons(case))
        return
    if cb.action is Action.ACCEPT:
        case = await d.cases.accept(turn.person, number, at=turn.now)
        turn.say(
            f"已接单：{case.number} {item_name(d.catalog, case)}。\n请在 {local_time(d.settings.tz, case.resolve_due)} 前办结。",
            case_buttons(case),
        )
    elif cb.action is Action.RESOLVE:
        turn.state.reset()
        turn.state.step, turn.state.data = Step.RESOLVE_NOTE, {"number": number}
        turn.say(
            f"{number} 办结：请发一句办理结果，或者拍张照片（可以加说明）。",
            ((kb.cb("先不办结", Action.RESTART),),),
        )
    else:
        # Refused now, not after the reason is typed: a case bound by the center's decision cannot go back.
        require_may_return(case)
        turn.state.reset()
        turn.state.step, turn.state.data = Step.RETURN_REASON, {"number": number}
        turn.say(f"{number} 退回联动中心：请写明原因（必须填写）。", ((kb.cb("先不退回", Action.RESTART),),))


async def on_text(d: Deps, turn: Turn) -> None:
    """The completion note (or photo) after 办结, or the reason after 退回."""
    number = turn.state.data.get("number", "")
    inbound = turn.inbound
    if turn.state.step is Step.RESOLVE_NOTE:
        photo = Attachment(AttachmentKind.PHOTO, inbound.photo.ref) if inbound.photo else None
        note = turn.text
        if not note and photo is None:
            turn.say("请发一句办理结果，或者一张照片。")
            return
        turn.state.reset()
        case = await d.cases.resolve(turn.person, number, note=note or "见照片", photo=photo, at=turn.now)
        turn.say(f"已办结：{case.number}。已请居民评价。")
        return
    reason = turn.text
    if len(reason) < 2:
        turn.say("退回必须写明原因，请再说一下。")
        return
    turn.state.reset()
    case = await d.cases.return_case(turn.person, number, reason, at=turn.now)
    turn.say(f"已退回联动中心：{case.number}。\n原因：{reason}")


async def list_department(d: Deps, turn: Turn) -> None:
    dept = turn.person.department
    if not dept:
        turn.say("您还没有登记部门。请联系管理员。", kb.menu())
        return
    cases = await d.cases.department_cases(dept, at=turn.now, limit=LIST_LIMIT)
    name = d.catalog.departments[dept].name if dept in d.catalog.departments else dept
    if not cases:
        turn.say(f"{name}：现在没有待办工单。")
        return
    overdue = [c for c in cases if c.is_response_overdue(turn.now) or c.is_resolve_overdue(turn.now)]
    lines = [f"{name}：待办 {len(cases)} 件，其中超时 {len(overdue)} 件。"]
    rows: list[tuple[Button, ...]] = []
    for c in cases:
        late = "⏰超时 " if c in overdue else ""
        lines.append(
            f"{late}{c.number} {item_name(d.catalog, c)}：{STATUS.get(str(c.status), str(c.status))}"
        )
        rows += list(case_buttons(c))
    turn.say("\n".join(lines), tuple(rows))
