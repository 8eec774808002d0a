"""Grid workers (网格员): their open reports and household visits (走访记录) against the monthly quota.

Reporting a 365 case (text, photo with caption, location) is the intake dialogue, which adds the
grid question for grid workers.
"""

from __future__ import annotations

from datetime import datetime

from handlers import keyboards as kb
from handlers.callbacks import Action
from handlers.deps import Deps
from handlers.state import Step
from handlers.turn import Turn
from handlers.views import status_line

NOTES_CHARS = 1000


async def list_reports(d: Deps, turn: Turn) -> None:
    cases = await d.cases.my_cases(turn.person.id, open_only=True)
    if not cases:
        turn.say("您上报的事项都办完了。发文字、照片或位置就能上报新问题。", kb.menu())
        return
    lines = [f"您上报、还在办的事项（{len(cases)} 件）："] + [status_line(d.catalog, c) for c in cases]
    turn.say("\n".join(lines), tuple((kb.cb(f"查看 {c.number}", Action.SHOW, c.number),) for c in cases[:10]))


async def start_visit(d: Deps, turn: Turn) -> None:
    turn.state.reset()
    turn.state.step = Step.VISIT_ADDRESS
    turn.say(
        "记录入户走访。请输入住户地址，比如：东坡路社区 3幢2单元301。", ((kb.cb("不记了", Action.RESTART),),)
    )


async def on_visit_text(d: Deps, turn: Turn) -> None:
    state = turn.state
    if state.step is Step.VISIT_ADDRESS:
        if len(turn.text) < 2:
            turn.say("请输入住户地址。")
            return
        state.step, state.data = Step.VISIT_NOTES, {"address": turn.text}
        turn.say(
            "记几句走访情况（比如：独居老人，身体还好）。没有就点“跳过”。",
            ((kb.cb("跳过", Action.SKIP, "visit"),),),
        )
        return
    await save_visit(d, turn, turn.text[:NOTES_CHARS])


async def save_visit(d: Deps, turn: Turn, notes: str) -> None:
    address = turn.state.data.get("address")
    if turn.state.step is not Step.VISIT_NOTES or not address:
        turn.say("这个按钮已经过期了。发 /visit 重新记录。", kb.menu())
        return
    worker = turn.person
    grid = _grid_for(d, worker.grids, address)
    since = month_start(turn.now, d)
    async with d.uow() as uow:
        await uow.visits.add(worker.id, address, turn.now, grid=grid, notes=notes)
        count = len(await uow.visits.list_by_worker(worker.id, since=since))
        await uow.commit(turn.now)
    turn.state.reset()
    quota = d.settings.visit_quota
    left = f"还差 {quota - count} 户。" if count < quota else "已完成本月任务！"
    turn.say(
        f"已记录：{address}。\n本月已走访 {count} 户，目标 {quota} 户，{left}",
        ((kb.cb("再记一户", Action.MENU, "visit"),), *kb.menu()),
    )


def _grid_for(d: Deps, grids: tuple[str, ...], address: str) -> str | None:
    """The worker's grid whose community the address names; their only grid; else unknown."""
    for g in grids:
        if g in d.catalog.grids and d.catalog.community_of(g).name.removesuffix("社区") in address:
            return g
    return grids[0] if len(grids) == 1 else None


def month_start(now: datetime, d: Deps) -> datetime:
    local = now.astimezone(d.settings.tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
