"""Dispatch-center operators: assign buttons (跨出一步), /overview and /scores."""

from __future__ import annotations

from catalog.model import DISPATCH_CENTER
from dispatch.access import is_dispatcher
from dispatch.case import Case
from dispatch.people import Person
from dispatch.routing import assignable_departments, suggested_departments
from handlers import keyboards as kb
from handlers.callbacks import Action, Callback
from handlers.deps import Deps
from handlers.messages import Button
from handlers.texts import STATUS
from handlers.turn import Turn
from handlers.views import item_name

OVERDUE_SHOWN = 10


def is_operator(person: Person) -> bool:
    return is_dispatcher(person)


def short_name(d: Deps, code: str) -> str:
    return d.catalog.departments[code].name.removeprefix("上城区").removeprefix("杭州市")


def assign_buttons(d: Deps, case: Case) -> tuple[tuple[Button, ...], ...]:
    """Suggested departments first (catalog lead, co-departments, street office), then all the others."""
    first = suggested_departments(d.catalog, str(case.details.get("parsed_code") or case.code), case.street)
    rest = [c for c in assignable_departments(d.catalog) if c not in first and c != case.department]
    codes = [c for c in first if c != case.department] + rest
    return kb.rows((kb.cb(f"派给 {short_name(d, c)}", Action.ASSIGN, case.number, c) for c in codes), 2)


async def on_button(d: Deps, turn: Turn, cb: Callback) -> None:
    number, department = cb.args
    if not is_operator(turn.person):
        turn.say("只有联动中心调度员可以派单，没有做任何改动。")
        return
    if department not in d.catalog.departments or department == DISPATCH_CENTER:
        turn.say("没有这个部门。", kb.menu())
        return
    case = await d.cases.assign(turn.person, number, department, note="跨出一步", at=turn.now)
    turn.say(f"已派给{short_name(d, department)}：{case.number} {item_name(d.catalog, case)}。")


async def overview(d: Deps, turn: Turn) -> None:
    ov = await d.cases.center_overview(at=turn.now)
    counts = "，".join(f"{STATUS.get(k, k)} {v}" for k, v in sorted(ov.counts.items()) if v)
    lines = [f"全区概况（{ov.month}）：{counts or '暂无工单'}", f"超时：{len(ov.overdue)} 件"]
    rows: list[tuple[Button, ...]] = []
    for c in ov.overdue[:OVERDUE_SHOWN]:
        dept = short_name(d, c.department) if c.department in d.catalog.departments else "待分派"
        lines.append(f"⏰ {c.number} {item_name(d.catalog, c)} — {dept}")
        rows.append((kb.cb(f"查看 {c.number}", Action.SHOW, c.number),))
    waiting = await d.cases.department_cases(DISPATCH_CENTER, at=turn.now, limit=OVERDUE_SHOWN)
    if waiting:
        lines.append(f"待中心派单：{len(waiting)} 件")
        for c in waiting:
            lines.append(f"• {c.number} {item_name(d.catalog, c)}：{c.text[:30]}")
            rows.append((kb.cb(f"派单 {c.number}", Action.SHOW, c.number),))
    turn.say("\n".join(lines), tuple(rows))


async def scores(d: Deps, turn: Turn) -> None:
    ov = await d.cases.center_overview(at=turn.now)
    if not ov.scores:
        turn.say(f"{ov.month} 还没有考核数据。")
        return
    lines = [f"{ov.month} 部门考核（得分 / 按时受理 / 按时办结 / 满意率）："]
    for s in sorted(ov.scores, key=lambda s: -s.points):
        lines.append(
            f"{short_name(d, s.department) if s.department in d.catalog.departments else s.department}："
            f"{s.points} 分 / {_pct(s.acceptance_rate)} / {_pct(s.resolution_rate)} / {_pct(s.satisfaction)}"
        )
    turn.say("\n".join(lines))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"
