"""The use cases the conversations call: submit, accept, resolve, return, assign, cancel, surveys, queries.

Each command is one unit-of-work transaction: the case change, its events, its timers and its
outbox notifications commit together (or not at all). A command that loses an optimistic-lock
race (:class:`storage.errors.ConcurrencyError`) is retried from a fresh read, up to 3 times.
Errors a person can cause are :class:`dispatch.errors.DomainError` subclasses: ``CaseNotFound``,
``PermissionDenied``, ``ReturnNotAllowed``, ``MissingReason``, ``IllegalTransition`` (a stale
button: the case has moved on). The conversation catches ``DomainError`` and says why.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import uuid4

from catalog.model import CATCH_ALL_CASE_TYPE, DISPATCH_CENTER, CaseType, Catalog, Service
from dispatch.access import (
    CaseNotFound,
    PermissionDenied,
    binding_department,
    require_dispatcher,
    require_may_return,
    require_requester,
    require_staff_of,
)
from dispatch.case import SYSTEM_ACTOR, Attachment, Case, SurveyResult
from dispatch.duplicates import DUPLICATE_WINDOW, pick_original
from dispatch.emergency import emergency_number, is_emergency
from dispatch.errors import DomainError
from dispatch.lifecycle import OPEN, CaseStatus
from dispatch.notifications import Recipient
from dispatch.people import ChatRef, Person
from dispatch.reminders import (
    TimerKind,
    Window,
    deadline_timers,
    overtaken,
    still_applies,
    survey_timers,
    window_timer_kinds,
)
from dispatch.routing import MAX_RETURNS_BEFORE_BINDING, Route, route
from dispatch.scoring import DepartmentScore, month_bounds, score_month
from dispatch.surveys import SurveyOutcome, outcome_of, result_of_level
from handlers import notices
from handlers.messages import Reply
from storage.case_stats import cases_with_events_between, count_by_status
from storage.database import Database
from storage.errors import ConcurrencyError
from storage.timers import Timer
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
SUBMIT_KEY_PREFIX = "submit:"
"""Inbound-dedup namespace of submissions, apart from the channel's own update dedup."""
MAX_TRIES = 3


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SubmitRequest:
    """Everything a conversation collected for a new case (it may keep this as its draft).

    ``kind`` is ``service``, ``case`` or ``none`` (「都不是」 / nothing recognised: the center
    decides, recorded as MS99). ``requester_id`` is the person the case is for; ``actor_id`` the
    person who reported it when different (a grid worker reporting for a resident).
    ``update_key`` makes submission idempotent: the same key twice returns the first case.
    """

    kind: str
    code: str | None
    requester_id: str
    channel: str
    chat_id: str
    text: str
    address: str | None = None
    community: str | None = None
    grid: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    confidence: float | None = None
    update_key: str | None = None
    actor_id: str | None = None


@dataclass(frozen=True)
class SubmitOutcome:
    """What :meth:`CaseService.submit` did.

    Either ``case`` is set (created, or found again for a repeated ``update_key``: ``replayed``),
    or ``duplicate_of`` is set and nothing was created: the conversation shows ``reply`` (buttons
    ``dup|<orig>|y`` / ``dup|<orig>|n``) and then calls :meth:`CaseService.link_duplicate` or
    :meth:`CaseService.submit` again with ``check_duplicates=False``.
    """

    case: Case | None
    reply: Reply
    duplicate_of: Case | None = None
    route: Route | None = None
    emergency_number: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class CenterOverview:
    counts: dict[str, int]
    overdue: list[Case]
    scores: list[DepartmentScore]
    month: str


class CaseService:
    """The dispatch use cases over a :class:`storage.database.Database`.

    ``clock`` gives "now" (tests drive it); every method also takes ``at`` to override it.
    ``on_commit`` is called after each commit that wrote notifications (wake the relay).
    """

    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        *,
        clock: Clock = _wall_clock,
        low_confidence: float = 0.45,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.clock = clock
        self.low_confidence = low_confidence
        self.on_commit = on_commit

    # -- plumbing -------------------------------------------------------------------------------

    async def _tx(self, at: datetime | None, work: Callable[[UnitOfWork, datetime], Awaitable[T]]) -> T:
        now = at or self.clock()
        for attempt in range(1, MAX_TRIES + 1):
            async with self.db.uow() as uow:
                try:
                    result = await work(uow, now)
                    await uow.commit(now)
                except ConcurrencyError:
                    if attempt == MAX_TRIES:
                        raise
                    log.info("concurrent change, retrying (try %d)", attempt + 1)
                    continue
            if self.on_commit is not None:
                self.on_commit()
            return result
        raise AssertionError("unreachable")

    async def _person(self, uow: UnitOfWork, person: Person | str) -> Person:
        pid = person if isinstance(person, str) else person.id
        found = await uow.people.get(pid)
        if found is None:
            raise PermissionDenied(f"unknown person {pid}")
        return found

    async def _case(self, uow: UnitOfWork, number: str) -> Case:
        case = await uow.cases.get_by_number(number)
        if case is None:
            raise CaseNotFound(f"no case {number}")
        return case

    def _item(self, code: str) -> Service | CaseType:
        return self.catalog.service_or_case(code)

    def _enrich(self, case: Case) -> None:
        """Add what the notices need (recipient, department, names) to the pending notifications."""
        item = self.catalog.services.get(case.code) or self.catalog.case_types.get(case.code)
        extra = {
            "name": item.name if item else case.code,
            "department": case.department,
            "severity": str(case.severity),
            "address": case.address,
            "grid": case.grid,
            "street": case.street,
            "response_due": case.response_due.isoformat(),
            "resolve_due": case.resolve_due.isoformat(),
            "text": case.text[:200],
            "supervised": case.supervised,
            "return_count": case.return_count,
        }
        case.pending_notifications[:] = [
            dataclasses.replace(n, payload={**extra, **n.payload, "recipient": str(n.recipient)})
            for n in case.pending_notifications
        ]

    async def _save(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        self._enrich(case)
        await uow.cases.flush(now)

    # -- submission -----------------------------------------------------------------------------

    def _resolve_item(self, req: SubmitRequest) -> Service | CaseType | None:
        if req.kind == "none" or not req.code:
            return None
        try:
            return self._item(req.code)
        except KeyError:
            return None

    async def find_duplicate(self, code: str, grid: str | None, *, at: datetime | None = None) -> Case | None:
        """An open 365 case of type ``code`` in ``grid`` reported within the last 24 hours, if any."""
        if not grid or code not in self.catalog.case_types:
            return None
        now = at or self.clock()
        async with self.db.uow(read_only=True) as uow:
            return await self._find_duplicate(uow, code, grid, now)

    async def _find_duplicate(self, uow: UnitOfWork, code: str, grid: str, now: datetime) -> Case | None:
        recent = await uow.cases.find_recent(code, grid, now - DUPLICATE_WINDOW)
        original_id = pick_original(recent)
        return await uow.cases.get(original_id) if original_id else None

    async def submit(
        self,
        req: SubmitRequest,
        *,
        check_duplicates: bool = True,
        acknowledge: bool = True,
        at: datetime | None = None,
    ) -> SubmitOutcome:
        """Open, route and number a case; schedule its deadlines; notify department and requester.

        For a 365 case with a recent open case of the same type in the same grid (and
        ``check_duplicates``), nothing is created: the outcome carries ``duplicate_of`` and the
        question to ask. ``acknowledge`` also queues the acknowledgement to the requester's chat
        through the outbox (``outcome.reply`` holds the same text for an immediate answer).
        """

        async def work(uow: UnitOfWork, now: datetime) -> SubmitOutcome:
            if req.update_key is not None:
                key = SUBMIT_KEY_PREFIX + req.update_key
                if not await uow.inbound.record(req.channel, key, now):
                    case_id = await uow.inbound.case_for(req.channel, key)
                    earlier = await uow.cases.get(case_id) if case_id else None
                    if earlier is not None:
                        return SubmitOutcome(
                            earlier, notices.acknowledgement(earlier, self.catalog), replayed=True
                        )
            item = self._resolve_item(req)
            # MS99 其他问题 gathers unrelated problems: the same code says nothing about sameness.
            if (
                check_duplicates
                and isinstance(item, CaseType)
                and item.code != CATCH_ALL_CASE_TYPE
                and req.grid
            ):
                original = await self._find_duplicate(uow, item.code, req.grid, now)
                if original is not None:
                    # Nothing is created; forget the dedup key so the confirmed submission can use it.
                    await uow.rollback()
                    return SubmitOutcome(
                        None, notices.duplicate_question(original, self.catalog), duplicate_of=original
                    )
            case, decided = await self._open_case(uow, req, item, now)
            if req.update_key is not None:
                await uow.inbound.link_case(req.channel, SUBMIT_KEY_PREFIX + req.update_key, case.id)
            number = emergency_number(self._item(case.code)) if is_emergency(case.severity) else None
            if acknowledge:
                case.notify("case_submitted", Recipient.requester(), {"emergency_number": number})
            await self._save(uow, case, now)
            await uow.timers.schedule_many(case.id, deadline_timers(case, now), now)
            return SubmitOutcome(
                case,
                notices.acknowledgement(case, self.catalog, emergency_number=number),
                route=decided,
                emergency_number=number,
            )

        return await self._tx(at, work)

    async def _open_case(
        self, uow: UnitOfWork, req: SubmitRequest, item: Service | CaseType | None, now: datetime
    ) -> tuple[Case, Route]:
        decided = route(
            self.catalog,
            item,
            grid=req.grid,
            community=req.community,
            confidence=req.confidence,
            low_confidence=self.low_confidence,
        )
        filed_as = item if item is not None else self.catalog.case_types[CATCH_ALL_CASE_TYPE]
        details = dict(req.details)
        if decided.delivery:
            details.setdefault("delivery", decided.delivery)
        case = Case.submit(
            id=str(uuid4()),
            number=await uow.cases.next_number(now),
            item=filed_as,
            requester_id=req.requester_id,
            channel=req.channel,
            chat_id=req.chat_id,
            text=req.text,
            at=now,
            actor=req.actor_id,
            address=req.address,
            community=decided.community or req.community,
            grid=decided.grid or req.grid,
            street=decided.street,
            details=details,
            attachments=list(req.attachments),
            note=decided.reason,
        )
        case.assign(
            decided.department,
            actor=SYSTEM_ACTOR,
            at=now,
            note=f"routing: {decided.reason}",
            co_departments=decided.co_departments,
        )
        if decided.inform_office:
            case.notify("case_info", Recipient.department(decided.inform_office))
        if is_emergency(case.severity):
            alert = {"emergency_number": emergency_number(filed_as)}
            if decided.department != DISPATCH_CENTER:
                case.notify("emergency_alert", Recipient.department(decided.department), alert)
            case.notify("emergency_alert", Recipient.dispatch_center(), alert)
        uow.cases.add(case)
        return case, decided

    async def link_duplicate(
        self, req: SubmitRequest, original_number: str, *, at: datetime | None = None
    ) -> tuple[Case, Case]:
        """The reporter agreed: record the new report as a duplicate of the original and subscribe them.

        Returns (new case, original). The new case is closed as ``duplicate``; the reporter's chat
        receives the original's updates from now on.
        """

        async def work(uow: UnitOfWork, now: datetime) -> tuple[Case, Case]:
            original = await self._case(uow, original_number)
            item = self._resolve_item(req) or self._item(original.code)
            case = Case.submit(
                id=str(uuid4()),
                number=await uow.cases.next_number(now),
                item=item,
                requester_id=req.requester_id,
                channel=req.channel,
                chat_id=req.chat_id,
                text=req.text,
                at=now,
                actor=req.actor_id,
                address=req.address,
                community=original.community if req.community is None else req.community,
                grid=req.grid or original.grid,
                street=original.street,
                details=dict(req.details),
                attachments=list(req.attachments),
            )
            case.mark_duplicate(original.id, actor=req.actor_id or req.requester_id, at=now)
            case.notify("duplicate_linked", Recipient.requester(), {"original": original.number})
            uow.cases.add(case)
            original.subscribe(ChatRef(req.channel, req.chat_id))
            await self._save(uow, case, now)
            self._enrich(original)
            return case, original

        return await self._tx(at, work)

    # -- department actions -------------------------------------------------------------------

    async def accept(
        self, actor: Person | str, number: str, *, note: str = "", at: datetime | None = None
    ) -> Case:
        """受理 by staff of the case's department."""

        async def work(uow: UnitOfWork, now: datetime) -> Case:
            person, case = await self._person(uow, actor), await self._case(uow, number)
            require_staff_of(person, case)
            case.accept(actor=person.id, at=now, note=note)
            await uow.timers.cancel(case.id, window_timer_kinds(case, Window.RESPONSE))
            await self._save(uow, case, now)
            return case

        return await self._tx(at, work)

    async def resolve(
        self,
        actor: Person | str,
        number: str,
        *,
        note: str = "",
        photo: Attachment | None = None,
        at: datetime | None = None,
    ) -> Case:
        """办结 by staff of the case's department; the requester gets the survey."""

        async def work(uow: UnitOfWork, now: datetime) -> Case:
            person, case = await self._person(uow, actor), await self._case(uow, number)
            require_staff_of(person, case)
            if photo is not None:
                case.attachments.append(photo)
            case.resolve(actor=person.id, at=now, note=note)
            if photo is not None:
                case.pending_notifications[:] = [
                    dataclasses.replace(n, payload={**n.payload, "photo_ref": photo.ref})
                    for n in case.pending_notifications
                ]
            await uow.timers.cancel(
                case.id, window_timer_kinds(case, Window.RESPONSE) + window_timer_kinds(case, Window.RESOLVE)
            )
            await self._save(uow, case, now)
            await uow.timers.schedule_many(case.id, survey_timers(case, now), now)
            return case

        return await self._tx(at, work)

    async def return_case(
        self, actor: Person | str, number: str, reason: str, *, at: datetime | None = None
    ) -> Case:
        """退回 to the dispatch center, with a reason; refused when the center's decision binds."""

        async def work(uow: UnitOfWork, now: datetime) -> Case:
            person, case = await self._person(uow, actor), await self._case(uow, number)
            require_staff_of(person, case)
            require_may_return(case)
            case.return_to_center(actor=person.id, at=now, reason=reason)
            if case.return_count >= MAX_RETURNS_BEFORE_BINDING:
                _mark_binding(case, "case_returned")
            await self._save(uow, case, now)
            return case

        return await self._tx(at, work)

    # -- dispatch center ------------------------------------------------------------------------

    async def assign(
        self, actor: Person | str, number: str, department: str, *, note: str = "", at: datetime | None = None
    ) -> Case:
        """The center gives the case to ``department`` (跨出一步; binding after two returns)."""

        async def work(uow: UnitOfWork, now: datetime) -> Case:
            person, case = await self._person(uow, actor), await self._case(uow, number)
            require_dispatcher(person)
            if department not in self.catalog.departments or department == DISPATCH_CENTER:
                raise DomainError(f"unknown department {department}")
            if case.status in (CaseStatus.RETURNED, CaseStatus.SUBMITTED):
                case.assign(department, actor=person.id, at=now, note=note)
            else:
                case.transfer(department, actor=person.id, at=now, note=note)
            if binding_department(case) == department:
                # The department's 【新工单】 notice then offers no 退回: pressing it would be refused.
                _mark_binding(case, "case_assigned")
            await self._save(uow, case, now)
            return case

        return await self._tx(at, work)

    transfer = assign

    # -- requester ------------------------------------------------------------------------------

    async def cancel(
        self, actor: Person | str, number: str, *, note: str = "", at: datetime | None = None
    ) -> Case:
        """The requester withdraws the case before a department accepts it."""

        async def work(uow: UnitOfWork, now: datetime) -> Case:
            person, case = await self._person(uow, actor), await self._case(uow, number)
            require_requester(person, case)
            case.cancel(actor=person.id, at=now, note=note)
            await uow.timers.cancel(case.id)
            await self._save(uow, case, now)
            return case

        return await self._tx(at, work)

    async def answer_survey(
        self, actor: Person | str, number: str, level: int | str, *, at: datetime | None = None
    ) -> Case:
        """Record the requester's answer (level 5 非常满意 … 1 非常不满意) and close or reopen the case."""
        result = result_of_level(level)

        async def work(uow: UnitOfWork, now: datetime) -> Case:
            person, case = await self._person(uow, actor), await self._case(uow, number)
            require_requester(person, case)
            await self._apply_survey(uow, case, result, person.id, now)
            await self._save(uow, case, now)
            return case

        return await self._tx(at, work)

    async def add_survey_comment(
        self, actor: Person | str, number: str, text: str, *, at: datetime | None = None
    ) -> Case:
        """The requester's optional comment after a survey answer: on the record, sent to the department."""

        async def work(uow: UnitOfWork, now: datetime) -> Case:
            person, case = await self._person(uow, actor), await self._case(uow, number)
            require_requester(person, case)
            case.comment(text, actor=person.id, at=now)
            await self._save(uow, case, now)
            return case

        return await self._tx(at, work)

    async def _apply_survey(
        self, uow: UnitOfWork, case: Case, result: SurveyResult, actor: str, now: datetime
    ) -> None:
        outcome = outcome_of(case, result)
        await uow.timers.cancel(case.id, window_timer_kinds(case, Window.SURVEY))
        case.rate(result, actor=actor, at=now)
        if outcome is SurveyOutcome.CLOSE:
            case.close(actor=actor, at=now, note=str(result))
            await uow.timers.cancel(case.id)
            return
        case.reopen(actor=actor, at=now, note=str(result))
        if outcome is SurveyOutcome.REOPEN_AND_ESCALATE:
            case.escalate(actor=SYSTEM_ACTOR, at=now, reason="unsatisfied_again")
        await uow.timers.schedule_many(case.id, deadline_timers(case, now), now)

    # -- timers ---------------------------------------------------------------------------------

    async def fire_timer(self, timer: Timer, *, at: datetime | None = None) -> bool:
        """Apply a due timer once: reminder, escalation, survey reminder or survey timeout.

        The timer is marked fired in the same transaction as its effect, so with two schedulers
        it acts at most once; returns False when it had fired (or been cancelled) already. A
        timer that no longer applies (the case moved on), or a reminder overtaken by a later step
        that is also due (catching up after downtime), is consumed without effect.
        """

        async def work(uow: UnitOfWork, now: datetime) -> bool:
            if not await uow.timers.mark_fired(timer.id, now):
                return False
            case = await uow.cases.get(timer.case_id)
            if case is None:
                return True
            kind = TimerKind.parse(timer.kind)
            if not still_applies(case, kind) or overtaken(case, kind, timer.due_at, now):
                return True
            if kind.window is Window.SURVEY:
                if kind.step == "remind":
                    await self._timer_notice(
                        uow, case, "survey_reminder", Recipient.requester(), timer, now, {}
                    )
                else:
                    case.rate(SurveyResult.NO_ANSWER, actor=SYSTEM_ACTOR, at=now, note="72小时未评价")
                    case.close(actor=SYSTEM_ACTOR, at=now, note="未评价")
                    await uow.timers.cancel(case.id)
            elif kind.step == "due":
                case.escalate(actor=SYSTEM_ACTOR, at=now, reason=f"{kind.window}_overdue")
            else:
                due = case.response_due if kind.window is Window.RESPONSE else case.resolve_due
                extra = {"window": str(kind.window), "percent": kind.step, "due": due.isoformat()}
                dept = case.department or DISPATCH_CENTER
                to = Recipient.dispatch_center() if dept == DISPATCH_CENTER else Recipient.department(dept)
                await self._timer_notice(uow, case, "deadline_reminder", to, timer, now, extra)
            await self._save(uow, case, now)
            return True

        return await self._tx(at, work)

    async def _timer_notice(
        self,
        uow: UnitOfWork,
        case: Case,
        kind: str,
        to: Recipient,
        timer: Timer,
        now: datetime,
        extra: dict[str, Any],
    ) -> None:
        # Keyed by the timer, not the latest event: the 50 % and 80 % reminders share an event.
        case.notify(kind, to, extra)
        pending = case.pending_notifications.pop()
        notification = dataclasses.replace(pending, key=f"{case.id}:timer:{timer.kind}:{to}")
        case.pending_notifications.append(notification)

    # -- queries --------------------------------------------------------------------------------

    async def get(self, number: str) -> Case | None:
        async with self.db.uow(read_only=True) as uow:
            return await uow.cases.get_by_number(number)

    async def my_cases(self, requester_id: str, *, open_only: bool = False, limit: int = 20) -> list[Case]:
        async with self.db.uow(read_only=True) as uow:
            return await uow.cases.list_by_requester(requester_id, open_only=open_only, limit=limit)

    async def department_cases(
        self, department: str, *, overdue_only: bool = False, at: datetime | None = None, limit: int = 50
    ) -> list[Case]:
        """Open cases led by ``department`` (newest first), or only the overdue ones."""
        now = at or self.clock()
        async with self.db.uow(read_only=True) as uow:
            cases = await uow.cases.list_by_department(department, statuses=OPEN, limit=limit)
        if overdue_only:
            cases = [c for c in cases if c.is_response_overdue(now) or c.is_resolve_overdue(now)]
        return cases

    async def center_overview(self, *, at: datetime | None = None) -> CenterOverview:
        """Counts by status, the overdue list and this month's department scores."""
        now = at or self.clock()
        start, end, label = month_bounds(now)
        async with self.db.uow(read_only=True) as uow:
            counts = await count_by_status(uow.connection)
            overdue = await uow.cases.overdue(now)
            history = await cases_with_events_between(uow, start, end)
        return CenterOverview(counts, overdue, score_month(history, start, end), label)

    async def scores(self, month_start: datetime, month_end: datetime) -> list[DepartmentScore]:
        async with self.db.uow(read_only=True) as uow:
            history = await cases_with_events_between(uow, month_start, month_end)
        return score_month(history, month_start, month_end)

    async def find_for_question(self, requester_id: str, question: str) -> Case | None:
        """The requester's case a free-text status question is about.

        The most recent open case whose code or catalog name shares words with the question;
        else the most recent case at all.
        """
        cases = await self.my_cases(requester_id, limit=50)
        if not cases:
            return None
        for case in cases:
            if case.is_open and self._mentions(question, case):
                return case
        return cases[0]

    def _mentions(self, question: str, case: Case) -> bool:
        if case.number in question.upper() or case.code in question.upper():
            return True
        item = self.catalog.services.get(case.code) or self.catalog.case_types.get(case.code)
        words: Sequence[str] = []
        if item is not None:
            words = [*item.keywords, *_bigrams(item.name)]
        return any(w and w in question for w in words)


def _bigrams(name: str) -> list[str]:
    core = name.replace("与", "").replace("和", "")
    return [core[i : i + 2] for i in range(len(core) - 1)]


def _mark_binding(case: Case, kind: str) -> None:
    """Flag the case's pending ``kind`` notifications as sent under the center's binding decision
    (their notices say so, and a bound department's offers no 退回)."""
    case.pending_notifications[:] = [
        dataclasses.replace(n, payload={**n.payload, "binding": True}) if n.kind == kind else n
        for n in case.pending_notifications
    ]
