"""Button layouts: big, few per row, every reply offering a way on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from catalog.model import Catalog
from handlers.callbacks import Action, encode
from handlers.messages import Button, ButtonKind
from handlers.texts import mask_phone

Rows = tuple[tuple[Button, ...], ...]


def cb(label: str, action: Action, *args: str) -> Button:
    return Button(label, encode(action, *args))


def rows(buttons: Iterable[Button], per_row: int = 2) -> Rows:
    items = list(buttons)
    return tuple(tuple(items[i : i + per_row]) for i in range(0, len(items), per_row))


def menu() -> Rows:
    return ((cb("我的事项", Action.MENU, "my"), cb("怎么用", Action.MENU, "help")),)


def onboarding(has_phone: bool) -> Rows:
    first: list[Button] = []
    if not has_phone:
        first.append(Button("📱 留下我的电话", kind=ButtonKind.SHARE_PHONE))
    first.append(cb("选择我的社区", Action.MENU, "community"))
    return (tuple(first), (cb("先跳过", Action.SKIP, "onboarding"),))


def streets(catalog: Catalog) -> Rows:
    items = [cb(s.name, Action.STREET, s.code) for s in catalog.streets.values()]
    return (*rows(items, 2), (cb("先跳过", Action.SKIP, "onboarding"),))


def communities(catalog: Catalog, street: str) -> Rows:
    codes = catalog.streets[street].communities
    items = [cb(catalog.communities[c].name, Action.COMMUNITY, c) for c in codes]
    return (
        *rows(items, 2),
        (cb("返回选街道", Action.MENU, "community"), cb("先跳过", Action.SKIP, "onboarding")),
    )


def confirm() -> Rows:
    return ((cb("✅ 对，就办这个", Action.CONFIRM),), (cb("不对，重新说", Action.RESTART),))


def candidates(labels: Sequence[tuple[str, str]]) -> Rows:
    """One big button per candidate (code, name), then 都不是."""
    return (*((cb(name, Action.PICK, code),) for code, name in labels), (cb("都不是", Action.PICK, "none"),))


def slot_extra(slot: str, *, registered_phone: str | None, optional: bool) -> list[Button]:
    """Helpful one-tap answers for a slot question."""
    out: list[Button] = []
    if slot == "phone":
        if registered_phone:
            out.append(
                Button(f"就用我登记的电话 {mask_phone(registered_phone)}", encode(Action.SKIP, "myphone"))
            )
        out.append(Button("📱 发送我的电话", kind=ButtonKind.SHARE_PHONE))
    elif slot == "address":
        out.append(Button("📍 发送我的位置", kind=ButtonKind.SHARE_LOCATION))
    elif slot == "time":
        out += [Button(t, kind=ButtonKind.TEXT) for t in ("越快越好", "明天上午", "明天下午")]
    elif slot == "person":
        out += [Button(t, kind=ButtonKind.TEXT) for t in ("我自己", "家里老人")]
    if optional:
        out.append(cb("跳过", Action.SKIP, slot))
    return out
