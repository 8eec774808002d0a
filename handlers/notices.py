"""The texts and buttons of every case notification, as channel-neutral :class:`Reply` objects.

The outbox stores a notification's ``kind`` and ``payload`` (see ``CaseService._enrich`` for the
fields); the relay calls :func:`render` when it sends. The conversation uses
:func:`acknowledgement`, :func:`duplicate_question` and :func:`case_card` directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from catalog.loader import load_catalog
from catalog.model import DISPATCH_CENTER, Catalog
from dispatch.case import Case
from dispatch.numbering import CHINA_TZ
from dispatch.routing import assignable_departments, suggested_departments
from dispatch.surveys import LABELS, LEVELS
from handlers.callbacks import Action, encode
from handlers.messages import Button, ButtonKind, Reply

STATUS_LABELS = {
    "submitted": "已登记",
    "assigned": "待受理",
    "accepted": "处理中",
    "resolved": "已办结待评价",
    "closed": "已归档",
    "returned": "已退回联动中心",
    "reopened": "督办重办",
    "cancelled": "已撤销",
    "duplicate": "已合并",
}
ESCALATION_REASONS = {
    "response_overdue": "超过受理时限未受理",
    "resolve_overdue": "超过办结时限未办结",
    "unsatisfied_again": "群众再次评价不满意",
    "overdue": "超时",
}
EMERGENCY_LINES = {
    "119": "情况紧急，请立即拨打 119 火警/抢险救援电话！",
    "120": "情况紧急，请立即拨打 120 急救电话！",
    "110": "情况紧急，请立即拨打 110 报警电话！",
}
BUTTONS_PER_ROW = 3
REPLY_KIND = "reply"
"""Outbox kind of a conversation's own reply, stored whole (see :func:`reply_payload`)."""


def when(value: str | datetime | None) -> str:
    """A time as people in the district read it: ``11月28日 17:00``."""
    if value is None:
        return "-"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = at.astimezone(CHINA_TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def department_name(catalog: Catalog, code: str | None) -> str:
    if not code:
        return "-"
    dept = catalog.departments.get(code)
    return dept.name if dept else code


_SHORT_NAMES = {
    "公安局分局": "公安分局",
    "公安局交通警察支队大队": "交警大队",
    "生态环境局分局": "生态环境分局",
}


def _short_name(catalog: Catalog, code: str) -> str:
    """The name people say: without the city and district, e.g. 交警大队, 湖滨街道, 民政局."""
    name = department_name(catalog, code)
    for part in ("杭州市", "上城区", "上城", "办事处"):
        name = name.replace(part, "")
    return _SHORT_NAMES.get(name, name)


def _rows(buttons: Sequence[Button], per_row: int = BUTTONS_PER_ROW) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


def survey_buttons(number: str) -> tuple[tuple[Button, ...], ...]:
    """Five buttons, 非常满意 (level 5) first."""
    return _rows(
        [Button(LABELS[r], encode(Action.SURVEY, number, str(level))) for level, r in LEVELS.items()]
    )


def staff_buttons(
    number: str, *, accept: bool = True, resolve: bool = False, may_return: bool = True
) -> tuple[tuple[Button, ...], ...]:
    row = []
    if accept:
        row.append(Button("接单", encode(Action.ACCEPT, number)))
    if resolve:
        row.append(Button("办结", encode(Action.RESOLVE, number)))
    if may_return:
        row.append(Button("退回", encode(Action.RETURN, number)))
    return (tuple(row),)


def assign_buttons(
    catalog: Catalog, number: str, code: str, street: str | None
) -> tuple[tuple[Button, ...], ...]:
    """The center's 跨出一步 buttons: suggested departments first, then every other one."""
    first = suggested_departments(catalog, code, street)
    rest = [d for d in assignable_departments(catalog) if d not in first]
    buttons = [Button(f"★{_short_name(catalog, d)}", encode(Action.ASSIGN, number, d)) for d in first]
    buttons += [Button(_short_name(catalog, d), encode(Action.ASSIGN, number, d)) for d in rest]
    return _rows(buttons)


def _head(p: dict[str, Any]) -> str:
    return f"工单 {p['number']}｜{p.get('name') or p.get('code')}"


def _where(p: dict[str, Any]) -> str:
    parts = [x for x in (p.get("address"), p.get("grid")) if x]
    return f"\n地点：{' / '.join(parts)}" if parts else ""


def _recipient(p: dict[str, Any]) -> tuple[str, str]:
    kind, _, ref = str(p.get("recipient", "")).partition(":")
    return kind, ref


def reply_payload(reply: Reply) -> dict[str, Any]:
    """A conversation reply as a JSON-able outbox payload; :func:`render` turns it back."""
    return {
        "text": reply.text,
        "buttons": [[[b.label, b.data, str(b.kind)] for b in row] for row in reply.buttons],
        "photo_ref": reply.photo_ref,
        "remove_keyboard": reply.remove_keyboard,
    }


def reply_from_payload(p: dict[str, Any]) -> Reply:
    return Reply(
        str(p["text"]),
        tuple(
            tuple(Button(label, data, ButtonKind(kind)) for label, data, kind in row) for row in p["buttons"]
        ),
        p.get("photo_ref"),
        bool(p.get("remove_keyboard")),
    )


def render(kind: str, payload: dict[str, Any], catalog: Catalog | None = None) -> Reply:
    """The message for an outbox row of ``kind`` with ``payload``."""
    if kind == REPLY_KIND:
        return reply_from_payload(payload)
    cat = catalog or load_catalog()
    p = payload
    number = str(p["number"])
    rkind, rref = _recipient(p)
    note = f"\n说明：{p['note']}" if p.get("note") else ""
    if kind == "case_submitted":
        return _acknowledge(cat, p, p.get("emergency_number"))
    if kind in ("case_assigned", "case_reopened") and rref == DISPATCH_CENTER:
        return Reply(
            f"【待分派】{_head(p)}{_where(p)}\n诉求：{p.get('text', '')}\n请选择承办部门（跨出一步）。",
            assign_buttons(cat, number, str(p.get("code", "")), p.get("street")),
        )
    if kind == "case_assigned":
        moved = f"\n由 {department_name(cat, p['from_department'])} 转派" if p.get("from_department") else ""
        binding = "\n此为联动中心的最终分派，不能再退回。" if p.get("binding") else ""
        return Reply(
            f"【新工单】{_head(p)}{_where(p)}\n诉求：{p.get('text', '')}{moved}\n"
            f"请于 {when(p.get('response_due'))} 前受理，{when(p.get('resolve_due'))} 前办结。{binding}",
            staff_buttons(number, may_return=not p.get("binding")),
        )
    if kind == "case_assigned_co":
        return Reply(
            f"【协办】{_head(p)}{_where(p)}\n牵头部门：{department_name(cat, p.get('department'))}，请配合处置。"
        )
    if kind == "case_info":
        return Reply(
            f"【属地知会】{_head(p)}{_where(p)}\n承办部门：{department_name(cat, p.get('department'))}\n诉求：{p.get('text', '')}"
        )
    if kind == "emergency_alert":
        call = p.get("emergency_number")
        buttons = staff_buttons(number) if rkind == "department" else ()
        return Reply(
            f"【紧急】{_head(p)}{_where(p)}\n诉求：{p.get('text', '')}\n已提示群众拨打 {call}。请立即处置。",
            buttons,
        )
    if kind == "case_accepted":
        return Reply(f"您的{_head(p)} 已由 {department_name(cat, p.get('department'))} 受理，正在处理。")
    if kind == "case_resolved":
        return Reply(
            f"您的{_head(p)} 已办结。{note}\n请对本次办理进行评价：",
            survey_buttons(number),
            photo_ref=p.get("photo_ref"),
        )
    if kind == "survey_reminder":
        return Reply(f"您的{_head(p)} 已办结，还未收到您的评价，请点选：", survey_buttons(number))
    if kind == "case_closed":
        return Reply(f"您的{_head(p)} 已归档。感谢您的支持！")
    if kind == "case_returned":
        binding = "\n该工单已被退回两次，本次分派为最终决定，承办部门不得再退回。" if p.get("binding") else ""
        return Reply(
            f"【退回】{_head(p)}\n退回部门：{department_name(cat, p.get('from_department'))}\n"
            f"理由：{p.get('reason', '')}{binding}\n请重新分派：",
            assign_buttons(cat, number, str(p.get("code", "")), p.get("street")),
        )
    if kind == "case_reopened":
        return Reply(
            f"【督办】{_head(p)} 群众评价不满意，已重新交办，请于 {when(p.get('resolve_due'))} 前办结。",
            staff_buttons(number),
        )
    if kind == "case_cancelled":
        return Reply(f"【撤销】{_head(p)} 已被群众撤销，无需处理。")
    if kind == "case_escalated":
        reason = ESCALATION_REASONS.get(str(p.get("reason")), str(p.get("reason")))
        return Reply(
            f"【超时督办】{_head(p)}\n承办部门：{department_name(cat, p.get('department'))}\n原因：{reason}"
            f"（第 {p.get('level', 1)} 次）"
        )
    if kind == "deadline_reminder":
        what = "受理" if p.get("window") == "response" else "办结"
        return Reply(
            f"【时限提醒】{_head(p)} 已用去{what}时限的 {p.get('percent')}%，请于 {when(p.get('due'))} 前{what}。",
            staff_buttons(number, accept=p.get("window") == "response", resolve=p.get("window") == "resolve"),
        )
    if kind == "survey_comment":
        result = str(p.get("result"))
        level = next((label for r, label in LABELS.items() if r.value == result), result)
        return Reply(f"【群众评价】{_head(p)}\n评价：{level}\n意见：{p.get('comment', '')}")
    if kind == "duplicate_linked":
        return Reply(f"已将您的反映合并到工单 {p.get('original')}，办理进展会同步通知您。")
    return Reply(f"{_head(p)}：{STATUS_LABELS.get(str(p.get('status')), p.get('status'))}{note}")


def _acknowledge(cat: Catalog, p: dict[str, Any], emergency: str | None) -> Reply:
    lines = []
    if emergency:
        lines.append(EMERGENCY_LINES.get(str(emergency), EMERGENCY_LINES["110"]))
    if p.get("department") == DISPATCH_CENTER:
        lines.append(f"已收到您的反映，{_head(p)}，联动处置中心将尽快分派承办部门。")
    else:
        lines.append(f"已收到您的反映，{_head(p)}，承办部门：{department_name(cat, p.get('department'))}。")
    lines.append(f"预计 {when(p.get('response_due'))} 前受理。可随时发送工单号查询进度。")
    return Reply("\n".join(lines), ((Button("撤销", encode(Action.CANCEL, str(p["number"]))),),))


def _payload(case: Case, catalog: Catalog) -> dict[str, Any]:
    item = catalog.services.get(case.code) or catalog.case_types.get(case.code)
    return {
        "number": case.number,
        "code": case.code,
        "name": item.name if item else case.code,
        "department": case.department,
        "response_due": case.response_due.isoformat(),
        "resolve_due": case.resolve_due.isoformat(),
        "status": str(case.status),
        "address": case.address,
        "grid": case.grid,
    }


def acknowledgement(case: Case, catalog: Catalog, *, emergency_number: str | None = None) -> Reply:
    """The answer to a submission (with the 110/119/120 line first for emergencies)."""
    return _acknowledge(catalog, _payload(case, catalog), emergency_number)


def duplicate_question(original: Case, catalog: Catalog) -> Reply:
    """Ask whether the new report is the problem already reported as ``original``."""
    p = _payload(original, catalog)
    return Reply(
        f"该网格 24 小时内已有相同问题的{_head(p)}（{when(original.submitted_at)} 登记，"
        f"{STATUS_LABELS[str(original.status)]}）。是同一个问题吗？",
        (
            (
                Button("是，合并跟进", encode(Action.DUPLICATE, original.number, "y")),
                Button("不是，新报", encode(Action.DUPLICATE, original.number, "n")),
            ),
        ),
    )


def case_card(case: Case, catalog: Catalog) -> Reply:
    """One case as the requester or staff sees it when asking for it."""
    p = _payload(case, catalog)
    lines = [
        _head(p),
        f"状态：{STATUS_LABELS[str(case.status)]}" + ("（督办）" if case.supervised else ""),
        f"承办部门：{department_name(catalog, case.department)}",
        f"登记：{when(case.submitted_at)}；受理时限：{when(case.response_due)}；办结时限：{when(case.resolve_due)}",
    ]
    if case.history and case.history[-1].note:
        lines.append(f"最新：{case.history[-1].note}")
    return Reply("\n".join(lines))


def case_list(cases: Iterable[Case], catalog: Catalog, *, title: str = "您的工单") -> Reply:
    """A short list with one show-button per case."""
    cases = list(cases)
    if not cases:
        return Reply(f"{title}：暂无。")
    lines = [f"{title}："]
    buttons = []
    for c in cases[:10]:
        item = catalog.services.get(c.code) or catalog.case_types.get(c.code)
        lines.append(f"{c.number} {item.name if item else c.code}｜{STATUS_LABELS[str(c.status)]}")
        buttons.append(Button(c.number[-9:], encode(Action.SHOW, c.number)))
    return Reply("\n".join(lines), _rows(buttons, 2))


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A Reply as plain JSON (for the web chat and logs)."""
    return {
        "text": reply.text,
        "buttons": [
            [{"label": b.label, "data": b.data, "kind": str(b.kind)} for b in row] for row in reply.buttons
        ],
        "photo_ref": reply.photo_ref,
        "remove_keyboard": reply.remove_keyboard,
    }
