"""The front door: one wrapper for every inbound message, then the dialogue that fits it.

The wrapper (like aiogram's middlewares) does the cross-cutting work once: input limits,
de-duplication of re-delivered updates, who is speaking, the chat's saved state, and errors.
The dialogues live in their own modules: onboarding, intake (requests), my_cases, surveys,
grid_work, staff and center.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import uuid
from datetime import datetime, timedelta

from catalog.model import Catalog
from dispatch.errors import DomainError
from dispatch.people import ChannelIdentity, Person, Role
from handlers import center, grid_work, intake, my_cases, onboarding, staff, surveys
from handlers.callbacks import Action, ForgedCallback, decode
from handlers.cases import CaseService
from handlers.deps import Deps, UowFactory
from handlers.guards import input_problem
from handlers.keyboards import menu
from handlers.messages import Inbound, Outgoing, Reply
from handlers.notices import REPLY_KIND, reply_payload
from handlers.refusals import explain
from handlers.settings import Clock, ConversationSettings, system_clock
from handlers.state import ConversationState, Step
from handlers.texts import APOLOGY, CANCELLED_DIALOGUE, HELP, INPUT_PROBLEMS
from handlers.turn import Turn
from nlu.parse import Parser
from storage.outbox import NewMessage
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

TURN_KEY_PREFIX = "turn:"
"""Inbound-dedup namespace of whole turns (CaseService uses "submit:" for submissions)."""
REPLY_KEY_PREFIX = "reply:"
"""Outbox idempotency keys of a turn's replies: ``reply:<update_key>:<i>``."""
REPLY_GRACE = timedelta(seconds=15)
"""How long the relay leaves a turn's replies to the channel's direct send before sending them itself."""

_BUTTON_ROUTES = {
    Action.PICK: "intake", Action.CONFIRM: "intake", Action.RESTART: "intake", Action.SKIP: "intake",
    Action.GRID: "intake", Action.DUPLICATE: "intake", Action.STREET: "onboarding",
    Action.COMMUNITY: "onboarding", Action.ACCEPT: "staff", Action.RESOLVE: "staff",
    Action.RETURN: "staff", Action.ASSIGN: "center", Action.CANCEL: "my_cases", Action.SHOW: "my_cases",
    Action.SURVEY: "surveys", Action.MENU: "menu",
}  # fmt: skip


class ConversationService:
    """``await service.handle(inbound)`` → the replies to send. Channel-neutral; never raises."""

    def __init__(
        self,
        uow_factory: UowFactory,
        catalog: Catalog,
        parser: Parser,
        cases: CaseService,
        clock: Clock = system_clock,
        settings: ConversationSettings | None = None,
        *,
        reply_grace: timedelta = REPLY_GRACE,
    ) -> None:
        self.deps = Deps(uow_factory, catalog, parser, cases, settings or ConversationSettings())
        self.clock = clock
        self.reply_grace = reply_grace

    @property
    def settings(self) -> ConversationSettings:
        return self.deps.settings

    async def handle(self, inbound: Inbound) -> list[Outgoing]:
        """Answer one inbound message. Re-delivered updates get no answer and change nothing."""
        problem = input_problem(inbound, self.settings.max_text_chars)
        if problem is not None:
            # Checked before anything is read or written: bad input changes nothing, not even who we know.
            return [
                self._to(
                    inbound, Reply(INPUT_PROBLEMS[problem].format(limit=self.settings.max_text_chars), menu())
                )
            ]
        now = self.clock()
        key = TURN_KEY_PREFIX + inbound.update_key if inbound.update_key else None
        state_key = self._state_key(inbound)
        try:
            loaded = await self._load(inbound, key, state_key)
            if loaded is None:
                return []
            person, raw_state, created = loaded
            state = ConversationState.from_json(copy.deepcopy(raw_state))
            turn = Turn(inbound, person, state, now, first_contact=created)
            await self._route(turn)
            saved = await self._save(turn, key, state_key)
            return [] if saved is None else saved
        except Exception:
            log.exception("conversation failed for %s chat %s", inbound.channel, inbound.chat_id)
            apology = self._to(inbound, Reply(APOLOGY.format(hotline=self.settings.hotline), menu()))
            if key is not None:
                return await self._mark_handled(inbound, key, apology)
            return [apology]

    # -- the wrapper --------------------------------------------------------------------------

    @staticmethod
    def _state_key(inbound: Inbound) -> str:
        # In a department group each member has their own dialogue (a note or reason they are typing).
        return f"{inbound.chat_id}:{inbound.user_id}" if inbound.is_group else inbound.chat_id

    @staticmethod
    def _to(inbound: Inbound, reply: Reply) -> Outgoing:
        return Outgoing(inbound.channel, inbound.chat_id, reply)

    async def _load(
        self, inbound: Inbound, key: str | None, state_key: str
    ) -> tuple[Person, dict | None, bool] | None:
        """(person, saved state, first contact), or None for an update handled before."""
        channel = str(inbound.channel)
        # No snapshot needed: a role granted between the two reads shows on this turn or the next.
        async with self.deps.uow(read_only=True, snapshot=False) as uow:
            # One query for the dedup check, who is speaking and the saved state (hot path).
            seen, person_id, raw = await uow.conversations.turn_lookup(
                channel, key, inbound.user_id, state_key
            )
            if seen:
                return None
            person = await uow.people.get(person_id) if person_id else None
        if person is not None:
            return person, raw, False
        if inbound.is_group:
            # In a group the chat is not the person's own: never record it as their chat. Someone we
            # do not know acts as a nobody (their buttons are refused), and nothing is stored about them.
            return Person(f"guest:{inbound.user_id}", inbound.display_name, self.clock()), raw, False
        identity = ChannelIdentity(channel, inbound.user_id, inbound.chat_id)
        async with self.deps.uow() as uow:
            person, created = await uow.people.get_or_create_by_identity(
                identity, display_name=inbound.display_name, at=self.clock(), new_id=str(uuid.uuid4())
            )
            await uow.commit(self.clock())
        return person, raw, created

    async def _save(self, turn: Turn, key: str | None, state_key: str) -> list[Outgoing] | None:
        """Commit the turn and its replies together; None when another worker handled it meanwhile.

        The replies go into the outbox in the same transaction as the dedup record: a crash before
        the channel sends them leaves rows the relay sends after ``reply_grace``, so a re-delivered
        update that is dropped as a repeat still gets its answer.
        """
        channel = str(turn.inbound.channel)
        async with self.deps.uow() as uow:
            if key is not None and not await uow.inbound.record(channel, key, turn.now):
                return None  # the same update was handled meanwhile by another worker
            if turn.person_changed:
                await uow.people.save(turn.person)
            if turn.state.to_json() == ConversationState().to_json():
                await uow.conversations.delete(channel, state_key)
            else:
                await uow.conversations.put(channel, state_key, turn.state.to_json(), turn.now)
            outgoing = await self._queue_replies(uow, turn.inbound, turn.outgoing(), turn.now)
            await uow.commit(turn.now)
        return outgoing

    async def _queue_replies(
        self, uow: UnitOfWork, inbound: Inbound, outgoing: list[Outgoing], now: datetime
    ) -> list[Outgoing]:
        # Without an update key a turn cannot be re-delivered as the same turn; a random key still
        # makes its replies durable.
        base = inbound.update_key or f"once:{uuid.uuid4()}"
        keyed = [
            dataclasses.replace(out, outbox_key=f"{REPLY_KEY_PREFIX}{base}:{i}")
            for i, out in enumerate(outgoing)
        ]
        rows = [
            NewMessage(
                str(out.channel), out.chat_id, REPLY_KIND, reply_payload(out.reply), out.outbox_key or ""
            )
            for out in keyed
        ]
        await uow.outbox.add_many(rows, at=now + self.reply_grace)  # one statement for the whole turn
        return keyed

    async def _mark_handled(self, inbound: Inbound, key: str, apology: Outgoing) -> list[Outgoing]:
        try:
            now = self.clock()
            async with self.deps.uow() as uow:
                await uow.inbound.record(str(inbound.channel), key, now)
                outgoing = await self._queue_replies(uow, inbound, [apology], now)
                await uow.commit(now)
            return outgoing
        except Exception:
            log.exception("could not record a failed update")
            return [apology]

    # -- routing ------------------------------------------------------------------------------

    async def _route(self, turn: Turn) -> None:
        inbound, d = turn.inbound, self.deps
        if inbound.callback_data is not None:
            await self._button(turn)
            return
        text = turn.text
        if text.startswith("/"):
            await self._command(turn, text)
            return
        if inbound.is_group and turn.state.step not in (Step.RESOLVE_NOTE, Step.RETURN_REASON):
            return  # a department group talks among itself; the bot answers commands and buttons only
        if turn.first_contact:
            onboarding.greet(d, turn)  # a newcomer is greeted first, whatever they sent
        if inbound.transcript is not None:
            turn.say(f"我听到的是：{inbound.transcript.text}")
        if turn.first_contact and ((await d.parser.parse(text, now=turn.now)).label == "greet" or not text):
            return
        await self._by_step(turn)

    async def _button(self, turn: Turn) -> None:
        d = self.deps
        try:
            cb = decode(turn.inbound.callback_data)
        except ForgedCallback:
            log.warning("forged callback %r from %s", turn.inbound.callback_data, turn.inbound.user_id)
            turn.say(INPUT_PROBLEMS["forged"], menu())
            return
        target = _BUTTON_ROUTES[cb.action]
        try:
            if target == "intake":
                await intake.on_button(d, turn, cb)
            elif target == "onboarding":
                await onboarding.on_button(d, turn, cb)
            elif target == "staff":
                await staff.on_button(d, turn, cb)
            elif target == "center":
                await center.on_button(d, turn, cb)
            elif target == "my_cases":
                await my_cases.on_button(d, turn, cb)
            elif target == "surveys":
                await surveys.on_button(d, turn, cb)
            else:
                await self._menu(turn, cb.args[0])
        except DomainError as e:
            explain(turn, e)

    async def _menu(self, turn: Turn, name: str) -> None:
        d = self.deps
        if name == "my":
            await my_cases.list_mine(d, turn)
        elif name == "community":
            onboarding.ask_street(d, turn)
        elif name == "visit":
            await grid_work.start_visit(d, turn)
        else:
            turn.say(HELP, menu())

    async def _command(self, turn: Turn, text: str) -> None:
        d, person = self.deps, turn.person
        name, _, arg = text[1:].partition(" ")
        name, arg = name.split("@", 1)[0].lower(), arg.strip()
        if name in ("start", "join"):
            if arg:
                await onboarding.redeem(d, turn, arg)
            elif name == "join":
                turn.say("请在 /join 后面加上邀请码，比如：/join AB23CD45", menu())
            else:
                turn.state.reset()
                onboarding.greet(d, turn)
        elif name == "help":
            turn.say(HELP, menu())
        elif name == "my":
            await my_cases.list_mine(d, turn)
        elif name == "cancel":
            turn.state.reset()
            turn.say(CANCELLED_DIALOGUE, menu(), remove_keyboard=True)
        elif name == "reports" and person.has_role(Role.GRID_WORKER):
            await grid_work.list_reports(d, turn)
        elif name == "visit" and person.has_role(Role.GRID_WORKER):
            await grid_work.start_visit(d, turn)
        elif name == "cases" and (person.has_role(Role.DEPT_STAFF) or person.has_role(Role.DISPATCHER)):
            await staff.list_department(d, turn)
        elif name == "overview" and center.is_operator(person):
            await center.overview(d, turn)
        elif name == "scores" and center.is_operator(person):
            await center.scores(d, turn)
        else:
            turn.say("这个命令我不认识。\n" + HELP, menu())

    async def _by_step(self, turn: Turn) -> None:
        d, step = self.deps, turn.state.step
        if step is Step.COMMUNITY:
            await onboarding.on_text(d, turn)
        elif step is Step.SURVEY_COMMENT:
            await surveys.on_comment(d, turn)
        elif step in (Step.RESOLVE_NOTE, Step.RETURN_REASON):
            try:
                await staff.on_text(d, turn)
            except DomainError as e:
                turn.state.reset()
                explain(turn, e)
        elif step in (Step.VISIT_ADDRESS, Step.VISIT_NOTES):
            await grid_work.on_visit_text(d, turn)
        elif turn.inbound.phone and step is not Step.SLOT:
            await onboarding.on_phone(d, turn)
        else:
            await intake.on_message(d, turn)
