"""Requests: free text → NLU → confirmation card → only the missing details → CaseService.submit.

Residents ask for home services or report problems; grid workers report 365 cases (with their
grid). Low confidence offers the top 3 and 「都不是」 (the dispatch center decides).
"""

from __future__ import annotations

import re
from typing import Any

from catalog.model import Service
from dispatch.case import Attachment, AttachmentKind
from dispatch.deadlines import severity_of
from dispatch.emergency import emergency_number, is_emergency
from dispatch.people import Role
from handlers import grid_work, my_cases, onboarding, slots, surveys
from handlers import keyboards as kb
from handlers.callbacks import Action, Callback
from handlers.cases import SubmitOutcome, SubmitRequest
from handlers.deps import Deps
from handlers.state import Step
from handlers.texts import HELP, NONE_REPLY, SLOT_QUESTIONS, THANKS, item_card
from handlers.turn import Turn
from nlu.parse import Parse, ParseKind

TOP_CHOICES = 3
CASE_NUMBER = re.compile(r"SC-\d{8}-\d{4,}")
STALE = "这个按钮已经过期了。有什么需要，直接告诉我。"


async def on_message(d: Deps, turn: Turn) -> None:
    """A message outside any other dialogue: a detail being asked for, a correction, or a new request."""
    state = turn.state
    if state.step is Step.SLOT:
        await _answer_slot(d, turn)
        return
    text = turn.text
    if not text:
        _keep_attachment(turn)
        return
    number = CASE_NUMBER.search(text.upper())
    if number is not None and state.step is not Step.CONFIRM:
        await my_cases.show_number(d, turn, number.group(0))
        return
    parse = await d.parser.parse(text, now=turn.now)
    if state.step is Step.CONFIRM and parse.kind is ParseKind.DIALOGUE and parse.label in ("affirm", "deny"):
        if parse.label == "affirm":
            await _ask_next(d, turn)
        else:
            _restart(turn)
        return
    # Anything else typed at the card replaces the draft: the typed correction of a misheard voice note.
    await start_request(d, turn, parse)


async def start_request(d: Deps, turn: Turn, parse: Parse) -> None:
    state = turn.state
    if parse.kind is ParseKind.DIALOGUE:
        state.reset()
        await _dialogue(d, turn, parse)
        return
    candidates = _catalog_candidates(d, parse)
    confident = (
        parse.kind in (ParseKind.SERVICE, ParseKind.CASE) and parse.confidence >= d.settings.low_confidence
    )
    if confident:
        _new_draft(d, turn, parse.label, parse)
        _show_card(d, turn)
        return
    if not candidates:
        state.reset()
        turn.say(NONE_REPLY, kb.menu())
        return
    state.reset()
    state.step = Step.CHOOSE
    state.draft = _draft_base(turn, parse)
    names = [(code, d.catalog.service_or_case(code).name) for code in candidates]
    turn.say("我不太确定您说的是哪一项。是下面哪个？", kb.candidates(names))


def _catalog_candidates(d: Deps, parse: Parse) -> list[str]:
    """The best catalog items of the ranking (never dialogue labels or out_of_scope), most 3."""
    codes = [
        r.label for r in parse.ranking if r.label in d.catalog.services or r.label in d.catalog.case_types
    ]
    if parse.ranking and parse.ranking[0].label not in codes and parse.kind is ParseKind.NONE:
        return []  # the classifier is sure it is nothing we serve
    return codes[:TOP_CHOICES]


async def _dialogue(d: Deps, turn: Turn, parse: Parse) -> None:
    label = parse.label
    if label == "greet":
        onboarding.greet(d, turn)
    elif label == "help":
        turn.say(HELP, kb.menu())
    elif label == "thanks":
        turn.say(THANKS, kb.menu())
    elif label == "query_status":
        await my_cases.answer_status(d, turn)
    elif label == "cancel":
        await my_cases.offer_cancel(d, turn)
    elif label.startswith("survey_"):
        await surveys.answer_by_text(d, turn, label)
    else:  # affirm / deny with nothing to confirm
        turn.say("好的。有什么需要，直接告诉我。", kb.menu())


# -- the draft --------------------------------------------------------------------------------


def _draft_base(turn: Turn, parse: Parse) -> dict[str, Any]:
    draft: dict[str, Any] = {"text": parse.text, "confidence": parse.confidence, "slots": {}, "details": {}}
    inbound = turn.inbound
    if inbound.transcript is not None:
        t = inbound.transcript
        draft["voice"] = {"ref": t.audio_ref, "transcript": t.text, "recognizer": t.recognizer}
    elif turn.state.draft.get("voice") and turn.state.step is Step.CONFIRM:
        draft["voice"] = turn.state.draft["voice"]  # typed correction: the audio stays on record
    photos = list(turn.state.data.get("photos", []))
    if inbound.photo is not None:
        photos.append(inbound.photo.ref)
    if photos:
        draft["photos"] = photos
    location = inbound.location or turn.state.data.get("location")
    if location:
        draft["location"] = list(location)
    return draft


def _new_draft(d: Deps, turn: Turn, code: str | None, parse: Parse) -> None:
    state = turn.state
    base = state.draft if state.step is Step.CHOOSE and state.draft else _draft_base(turn, parse)
    state.reset()
    item = d.catalog.service_or_case(code) if code else None
    base["code"] = code
    base["kind"] = "service" if isinstance(item, Service) else ("case" if item else "none")
    base["for_grid"] = turn.person.has_role(Role.GRID_WORKER) and not isinstance(item, Service)
    slots.prefill(base, parse, registered_community=turn.person.community)
    if base.get("photos"):
        base["slots"]["photo"] = base["photos"][0]
    if base.get("location"):
        lat, lon = base["location"]
        base["slots"].setdefault("address", f"位置 {lat:.5f},{lon:.5f}")
    base["needed"] = slots.needed_slots(item, for_grid_worker=base["for_grid"])
    state.draft = base


def _show_card(d: Deps, turn: Turn) -> None:
    draft = turn.state.draft
    item = d.catalog.service_or_case(draft["code"])
    if is_emergency(severity_of(item)):
        turn.say(f"⚠️ 情况紧急，请马上拨打 {emergency_number(item)}！\n我们也会同时通知相关部门。")
    turn.state.step = Step.CONFIRM
    turn.say(item_card(d.catalog, item) + "\n\n是这个吗？", kb.confirm())


def _restart(turn: Turn) -> None:
    turn.state.reset()
    turn.say("好的，请重新说说您要办什么事。", kb.menu())


def _keep_attachment(turn: Turn) -> None:
    """A photo without a caption or a bare location: keep it for the request that follows."""
    inbound, data = turn.inbound, turn.state.data
    if inbound.photo is not None:
        data.setdefault("photos", []).append(inbound.photo.ref)
        turn.say("照片收到了。请再用一句话说说是什么事。")
    elif inbound.location is not None:
        data["location"] = list(inbound.location)
        turn.say("位置收到了。请再用一句话说说是什么事。")
    else:
        turn.say(HELP, kb.menu())


# -- buttons ----------------------------------------------------------------------------------


async def on_button(d: Deps, turn: Turn, cb: Callback) -> None:
    state = turn.state
    if cb.action is Action.SKIP and cb.args[0] == "onboarding":
        await onboarding.on_button(d, turn, cb)
    elif cb.action is Action.SKIP and cb.args[0] == "comment":
        await surveys.skip_comment(d, turn)
    elif cb.action is Action.SKIP and cb.args[0] == "visit":
        await grid_work.save_visit(d, turn, "")
    elif cb.action is Action.RESTART:
        _restart(turn)
    elif cb.action is Action.PICK and state.step is Step.CHOOSE:
        code = cb.args[0]
        parse = await d.parser.parse(state.draft.get("text", ""), now=turn.now)
        if code == "none":
            _new_draft(d, turn, None, parse)
            turn.say("好的，我把您的话转给区联动中心，由他们安排合适的部门。")
            await _ask_next(d, turn)
        elif code in d.catalog.services or code in d.catalog.case_types:
            _new_draft(d, turn, code, parse)
            # The person chose it: no longer an unclear parse for routing; the classifier's doubt is kept.
            state.draft["details"]["nlu_confidence"] = state.draft.pop("confidence", None)
            state.draft["confidence"] = None
            _show_card(d, turn)
        else:
            turn.say(STALE, kb.menu())
    elif cb.action is Action.CONFIRM and state.step is Step.CONFIRM:
        await _ask_next(d, turn)
    elif cb.action is Action.SKIP and state.step is Step.SLOT and _skips_pending(state.draft, cb.args[0]):
        await _skip(d, turn, cb.args[0])
    elif cb.action is Action.GRID and state.step is Step.SLOT and state.draft.get("pending") == "grid":
        grid = cb.args[0]
        if grid not in turn.person.grids or grid not in d.catalog.grids:
            turn.say("这个网格不在您的负责范围内。请点下面的按钮选。", _grid_buttons(d, turn))
            return
        _fill(d, turn, "grid", grid)
        await _ask_next(d, turn)
    elif cb.action is Action.DUPLICATE and state.step is Step.DUPLICATE:
        await _on_duplicate(d, turn, cb.args[0], cb.args[1] == "y")
    else:
        turn.say(STALE, kb.menu())


def _skips_pending(draft: dict[str, Any], arg: str) -> bool:
    pending = draft.get("pending")
    return arg == pending or (arg == "myphone" and pending == "phone")


async def _skip(d: Deps, turn: Turn, slot: str) -> None:
    draft = turn.state.draft
    if slot == "myphone" and turn.person.phone:
        _fill(d, turn, "phone", turn.person.phone)
    elif slot == "myphone" or not slots.is_optional(slot, draft):
        await _ask_next(d, turn)
        return
    else:
        draft.setdefault("skipped", []).append(slot)
    await _ask_next(d, turn)


# -- details ----------------------------------------------------------------------------------


def _missing(draft: dict[str, Any]) -> list[str]:
    have = draft.get("slots", {})
    skipped = set(draft.get("skipped", []))
    return [s for s in draft.get("needed", []) if s not in have and s not in skipped]


async def _ask_next(d: Deps, turn: Turn) -> None:
    state = turn.state
    missing = _missing(state.draft)
    if not missing:
        await _submit(d, turn)
        return
    slot = missing[0]
    state.step = Step.SLOT
    state.draft["pending"] = slot
    if slot == "grid":
        turn.say("请确认是哪个网格：", _grid_buttons(d, turn))
        return
    question = SLOT_QUESTIONS[slot]
    if slot == "address" and turn.person.has_role(Role.GRID_WORKER):
        question = "请问具体在哪里？打字说地址，或者发送位置。"
    turn.say(question, _slot_buttons(turn, slot))


def _slot_buttons(turn: Turn, slot: str) -> kb.Rows:
    optional = slots.is_optional(slot, turn.state.draft)
    extra = kb.slot_extra(slot, registered_phone=turn.person.phone, optional=optional)
    return (*((b,) for b in extra), (kb.cb("不办了", Action.RESTART),))


def _grid_buttons(d: Deps, turn: Turn) -> kb.Rows:
    grids = list(turn.person.grids)
    community = turn.state.draft.get("community")
    grids.sort(key=lambda g: d.catalog.grids[g].community != community if g in d.catalog.grids else True)
    items = [
        kb.cb(f"{d.catalog.community_of(g).name} {g}", Action.GRID, g) for g in grids if g in d.catalog.grids
    ]
    return (*kb.rows(items, 1), (kb.cb("不报了", Action.RESTART),))


def _fill(d: Deps, turn: Turn, slot: str, value: Any) -> None:
    draft = turn.state.draft
    draft.setdefault("slots", {})[slot] = value
    if slot == "grid" and value in d.catalog.grids:
        draft["community"] = d.catalog.grids[value].community


async def _answer_slot(d: Deps, turn: Turn) -> None:
    draft, inbound = turn.state.draft, turn.inbound
    slot = draft.get("pending", "")
    if slot == "grid":
        turn.say("请点按钮选择网格：", _grid_buttons(d, turn))
        return
    value: Any = None
    if slot == "photo" and inbound.photo is not None:
        value = inbound.photo.ref
        draft.setdefault("photos", []).append(value)
    elif slot == "phone" and inbound.phone:
        value = inbound.phone
    elif slot == "address" and inbound.location is not None:
        lat, lon = inbound.location
        draft["location"] = [lat, lon]
        value = f"位置 {lat:.5f},{lon:.5f}"
    elif turn.text:
        if turn.text in ("跳过", "不用了", "没有") and slots.is_optional(slot, draft):
            await _skip(d, turn, slot)
            return
        parse = await d.parser.parse(turn.text, now=turn.now) if slot in ("age", "address", "time") else None
        value = slots.read_answer(slot, turn.text, parse)
        if slot == "address" and parse is not None:
            found = parse.entity("address")
            if found is not None and found.extra.get("community"):
                draft["community"] = found.extra["community"]
        if slot == "time" and parse is not None and (t := parse.entity("time")) is not None and t.value:
            draft.setdefault("details", {})["time_value"] = str(t.value)
    if value is None:
        hint = {
            "phone": "请发一个手机号，比如 13812345678。",
            "age": "请发一个数字，比如 80。",
            "id_number": "身份证号是 18 位。也可以点“跳过”。",
            "photo": "请发一张照片，或者点“跳过”。",
        }
        turn.say(f"没看明白。{hint.get(slot, SLOT_QUESTIONS.get(slot, ''))}", _slot_buttons(turn, slot))
        return
    _fill(d, turn, slot, value)
    await _ask_next(d, turn)


# -- submission -------------------------------------------------------------------------------


def _request(turn: Turn, draft: dict[str, Any]) -> SubmitRequest:
    filled = dict(draft.get("slots", {}))
    details = {k: v for k, v in filled.items() if k not in ("address", "grid", "photo")}
    details.update(draft.get("details", {}))
    attachments = [Attachment(AttachmentKind.PHOTO, ref) for ref in draft.get("photos", [])]
    voice = draft.get("voice")
    if voice:
        attachments.append(
            Attachment(AttachmentKind.VOICE, voice["ref"], voice["transcript"], voice["recognizer"])
        )
    if draft.get("location"):
        details["location"] = draft["location"]
    return SubmitRequest(
        kind=draft.get("kind", "none"),
        code=draft.get("code"),
        requester_id=turn.person.id,
        channel=str(turn.inbound.channel),
        chat_id=turn.inbound.chat_id,
        text=draft.get("text", ""),
        address=filled.get("address"),
        community=draft.get("community"),
        grid=filled.get("grid"),
        details=details,
        attachments=tuple(attachments),
        confidence=draft.get("confidence"),
        update_key=turn.inbound.update_key,
    )


async def _submit(d: Deps, turn: Turn, *, check_duplicates: bool = True) -> None:
    draft = turn.state.draft
    outcome: SubmitOutcome = await d.cases.submit(
        _request(turn, draft), check_duplicates=check_duplicates, acknowledge=False, at=turn.now
    )
    if outcome.duplicate_of is not None:
        turn.state.step = Step.DUPLICATE
        turn.state.data = {"original": outcome.duplicate_of.number}
        turn.replies.append(outcome.reply)
        return
    turn.state.reset()
    _acknowledge(turn, outcome)


def _acknowledge(turn: Turn, outcome: SubmitOutcome) -> None:
    reply = outcome.reply
    turn.say(reply.text, (*reply.buttons, *kb.menu()), remove_keyboard=True)


async def _on_duplicate(d: Deps, turn: Turn, original: str, same: bool) -> None:
    if turn.state.data.get("original") != original:
        turn.say(STALE, kb.menu())
        return
    if not same:
        await _submit(d, turn, check_duplicates=False)
        return
    case, orig = await d.cases.link_duplicate(_request(turn, turn.state.draft), original, at=turn.now)
    turn.state.reset()
    turn.say(
        f"好的，已经合并到 {orig.number}，那边有进展会同时告诉您。\n（您这条的编号是 {case.number}）",
        kb.menu(),
    )
