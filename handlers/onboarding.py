"""First contact: a greeting, the phone number, the community (buttons or typed name), invite codes."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from catalog.model import Community
from dispatch.errors import InviteAlreadyUsed, InviteExpired, InviteNotFound
from dispatch.people import Person, Role
from handlers import keyboards as kb
from handlers.callbacks import Action, Callback
from handlers.deps import Deps
from handlers.state import Step
from handlers.texts import GREETING, mask_phone
from handlers.turn import Turn

COMMUNITY_MATCH_SCORE = 80


def greet(d: Deps, turn: Turn) -> None:
    turn.state.onboarded = True
    person = turn.person
    if person.phone and person.community:
        name = (
            d.catalog.communities[person.community].name if person.community in d.catalog.communities else ""
        )
        turn.say(f"您好！欢迎回来{('，' + name) if name else ''}。\n有什么需要，直接告诉我。", kb.menu())
        return
    turn.say(GREETING, kb.onboarding(has_phone=bool(person.phone)))


def ask_street(d: Deps, turn: Turn) -> None:
    turn.state.step = Step.COMMUNITY
    turn.say("请选择您住的街道（也可以直接打社区名字）：", kb.streets(d.catalog))


async def on_button(d: Deps, turn: Turn, cb: Callback) -> None:
    if cb.action is Action.STREET:
        street = d.catalog.streets.get(cb.args[0])
        if street is None:
            ask_street(d, turn)
            return
        turn.state.step = Step.COMMUNITY
        turn.say(f"{street.name}，请选择社区：", kb.communities(d.catalog, street.code))
    elif cb.action is Action.COMMUNITY:
        community = d.catalog.communities.get(cb.args[0])
        if community is None:
            ask_street(d, turn)
            return
        _set_community(d, turn, community)
    else:  # SKIP onboarding
        turn.state.reset()
        turn.say("好的，以后再说。有什么需要，直接打字或发语音告诉我。", kb.menu(), remove_keyboard=True)


async def on_text(d: Deps, turn: Turn) -> None:
    """A typed community name while picking one: matched loosely (东坡路, 东坡路社区, 东坡)."""
    community = match_community(d, turn.text)
    if community is None:
        turn.say("没找到这个社区。请点按钮选择街道，或者重新输入社区名字。", kb.streets(d.catalog))
        return
    _set_community(d, turn, community)


def match_community(d: Deps, text: str) -> Community | None:
    text = text.strip()
    exact = d.catalog.community_by_name(text)
    if exact is not None:
        return exact
    names = {c.name.removesuffix("社区"): c for c in d.catalog.communities.values()}
    found = process.extractOne(text.removesuffix("社区"), list(names), scorer=fuzz.ratio)
    if found is None or found[1] < COMMUNITY_MATCH_SCORE:
        return None
    return names[found[0]]


def _set_community(d: Deps, turn: Turn, community: Community) -> None:
    turn.person.community = community.code
    turn.person_changed = True
    turn.state.reset()
    street = d.catalog.streets[community.street].name
    turn.say(f"好的，已记下：{community.name}（{street}）。\n有什么需要，直接告诉我。", kb.menu())


async def on_phone(d: Deps, turn: Turn) -> None:
    phone = turn.inbound.phone or ""
    turn.person.phone = phone
    turn.person_changed = True
    if turn.person.community:
        turn.say(
            f"谢谢，电话已记下：{mask_phone(phone)}。\n有什么需要，直接告诉我。",
            kb.menu(),
            remove_keyboard=True,
        )
        return
    turn.say(f"谢谢，电话已记下：{mask_phone(phone)}。", remove_keyboard=True)
    ask_street(d, turn)


async def redeem(d: Deps, turn: Turn, code: str) -> None:
    """``/start CODE`` or ``/join CODE``: take up the role an administrator issued."""
    code = code.strip().upper()
    try:
        async with d.uow() as uow:
            invite = await uow.invites.get(code)
            if invite is None:
                raise InviteNotFound(code)
            person = await uow.people.get(turn.person.id)
            if person is None:
                raise InviteNotFound(code)
            invite.redeem(person, turn.now)
            # Conditional update: of two chats redeeming one code at once, only one gets the role.
            if not await uow.invites.mark_used(invite):
                raise InviteAlreadyUsed(code)
            await uow.people.save(person)
            await uow.commit(turn.now)
    except InviteNotFound:
        turn.say("这个邀请码不对。请核对后再发一次，或联系管理员。", kb.menu())
        return
    except InviteExpired:
        turn.say("这个邀请码已经过期了。请联系管理员重新发一个。", kb.menu())
        return
    except InviteAlreadyUsed:
        turn.say("这个邀请码已经用过了。请联系管理员重新发一个。", kb.menu())
        return
    turn.person = person
    turn.state.reset()
    turn.state.onboarded = True
    turn.say(welcome_for(d, person, invite.role), kb.menu())


def welcome_for(d: Deps, person: Person, role: Role) -> str:
    name = person.display_name
    if role is Role.GRID_WORKER:
        return (
            f"{name}，您已登记为网格员，负责网格：{'、'.join(person.grids)}。\n"
            "发文字、照片（可加说明）或位置，就能上报问题。\n"
            "/reports 看我上报的事项，/visit 记录入户走访。"
        )
    if role is Role.DEPT_STAFF:
        dept = d.catalog.departments[person.department].name if person.department else ""
        return f"{name}，您已登记为{dept}的工作人员。\n新工单会发到这里，点按钮就能接单、办结或退回。\n/cases 看本部门工单。"
    if role is Role.DISPATCHER:
        return f"{name}，您已登记为联动中心调度员。\n/overview 看全区概况，/scores 看本月考核。"
    return f"{name}，登记好了。"
