"""The Case (工单) aggregate: one home-service request or one 平安365 case, with its full history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from catalog.model import DISPATCH_CENTER, CaseType, Service, Severity
from dispatch.deadlines import Deadlines, deadlines_for, severity_of
from dispatch.errors import DomainError, MissingReason
from dispatch.lifecycle import OPEN, Action, CaseStatus, next_status
from dispatch.notifications import Notification, Recipient
from dispatch.people import ChatRef

SYSTEM_ACTOR = "system"
"""The actor of changes made by the engine itself (routing, timers, survey timeouts)."""


class CaseKind(StrEnum):
    SERVICE = "service"  # 居家无忧 home-service request, code like YL001
    CASE = "case"  # 平安365 case, code like HJ01


class EventKind(StrEnum):
    """What happened to a case, in the past tense; one per transition plus submission."""

    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RETURNED = "returned"
    TRANSFERRED = "transferred"
    REOPENED = "reopened"
    CANCELLED = "cancelled"
    MARKED_DUPLICATE = "marked_duplicate"
    ESCALATED = "escalated"
    RATED = "rated"
    COMMENTED = "commented"  # the requester's words on a survey; not a transition


_EVENT_OF_ACTION: dict[Action, EventKind] = {
    Action.ASSIGN: EventKind.ASSIGNED,
    Action.ACCEPT: EventKind.ACCEPTED,
    Action.RESOLVE: EventKind.RESOLVED,
    Action.CLOSE: EventKind.CLOSED,
    Action.RETURN: EventKind.RETURNED,
    Action.TRANSFER: EventKind.TRANSFERRED,
    Action.REOPEN: EventKind.REOPENED,
    Action.CANCEL: EventKind.CANCELLED,
    Action.MARK_DUPLICATE: EventKind.MARKED_DUPLICATE,
    Action.ESCALATE: EventKind.ESCALATED,
    Action.RATE: EventKind.RATED,
}


class SurveyResult(StrEnum):
    VERY_SATISFIED = "very_satisfied"  # 非常满意
    SATISFIED = "satisfied"  # 满意
    BASIC = "basic"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意
    VERY_UNSATISFIED = "very_unsatisfied"  # 非常不满意
    NO_ANSWER = "no_answer"  # 未评价 (no answer within 72 hours)

    @property
    def is_unsatisfied(self) -> bool:
        return self in (SurveyResult.UNSATISFIED, SurveyResult.VERY_UNSATISFIED)


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    VOICE = "voice"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo or voice note: ``ref`` is the channel's file id or a path under var/."""

    kind: AttachmentKind
    ref: str
    transcript: str | None = None  # voice notes: what the recognizer heard
    recognizer: str | None = None  # e.g. "faster-whisper base"


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One entry of the audit trail (全程留痕). ``seq`` counts from 1 within the case."""

    seq: int
    kind: EventKind
    actor: str
    at: datetime
    note: str = ""
    from_status: CaseStatus | None = None
    to_status: CaseStatus | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("time must be timezone-aware")


@dataclass(eq=False)
class Case:
    """A 工单. Create it with :meth:`Case.submit`; change it only through its transition methods.

    Every transition method takes ``actor`` (a person id, or :data:`SYSTEM_ACTOR`), ``at`` (a
    timezone-aware instant passed in by the caller) and a ``note``; it checks the transition
    table, updates the state, appends a :class:`CaseEvent` to ``history`` and queues
    :class:`Notification` objects in ``pending_notifications`` for storage's outbox.
    ``version`` belongs to storage (optimistic locking); the domain never changes it.
    """

    id: str
    number: str
    kind: CaseKind
    code: str
    requester_id: str
    channel: str
    chat_id: str
    text: str
    submitted_at: datetime
    response_due: datetime
    resolve_due: datetime
    severity: Severity = Severity.NORMAL
    status: CaseStatus = CaseStatus.SUBMITTED
    address: str | None = None
    community: str | None = None
    grid: str | None = None
    street: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    department: str | None = None
    co_departments: tuple[str, ...] = ()
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    return_count: int = 0
    escalation_count: int = 0
    survey_result: SurveyResult | None = None
    duplicate_of: str | None = None
    supervised: bool = False
    subscribers: list[ChatRef] = field(default_factory=list)
    history: list[CaseEvent] = field(default_factory=list)
    version: int = 0
    pending_notifications: list[Notification] = field(default_factory=list, repr=False)

    # -- creation -----------------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        *,
        id: str,
        number: str,
        item: Service | CaseType,
        requester_id: str,
        channel: str,
        chat_id: str,
        text: str,
        at: datetime,
        actor: str | None = None,
        address: str | None = None,
        community: str | None = None,
        grid: str | None = None,
        street: str | None = None,
        details: dict[str, Any] | None = None,
        attachments: list[Attachment] | None = None,
        note: str = "",
    ) -> Case:
        """Open a case for catalog ``item`` at ``at``; deadlines and severity come from the catalog.

        ``actor`` defaults to the requester (a grid worker reporting for a resident passes
        their own id as actor and the resident as requester). The case starts SUBMITTED and
        has no department until it is assigned (routing is a separate decision).
        """
        _require_aware(at)
        deadlines: Deadlines = deadlines_for(item, at)
        case = cls(
            id=id,
            number=number,
            kind=CaseKind.SERVICE if isinstance(item, Service) else CaseKind.CASE,
            code=item.code,
            requester_id=requester_id,
            channel=channel,
            chat_id=chat_id,
            text=text,
            submitted_at=at,
            response_due=deadlines.response_due,
            resolve_due=deadlines.resolve_due,
            severity=severity_of(item),
            address=address,
            community=community,
            grid=grid,
            street=street,
            details=dict(details or {}),
            attachments=list(attachments or []),
        )
        case._record(
            EventKind.SUBMITTED,
            actor or requester_id,
            at,
            note,
            None,
            CaseStatus.SUBMITTED,
            {"code": item.code, "severity": str(case.severity)},
        )
        return case

    # -- queries ------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def is_response_overdue(self, now: datetime) -> bool:
        """Not yet accepted and past the response deadline."""
        return self.accepted_at is None and self.is_open and now > self.response_due

    def is_resolve_overdue(self, now: datetime) -> bool:
        """Still being worked and past the resolve deadline."""
        return self.status is not CaseStatus.RESOLVED and self.is_open and now > self.resolve_due

    @property
    def last_event(self) -> CaseEvent:
        return self.history[-1]

    # -- transitions --------------------------------------------------------------------------

    def assign(
        self,
        department: str,
        *,
        actor: str,
        at: datetime,
        note: str = "",
        co_departments: tuple[str, ...] = (),
    ) -> None:
        """Give the case to ``department`` (routing, or the center's binding decision after a return)."""
        if not department:
            raise DomainError("a department is needed")
        self._move(
            Action.ASSIGN, actor, at, note, {"department": department, "co_departments": list(co_departments)}
        )
        self.department, self.co_departments = department, tuple(co_departments)
        self._notify("case_assigned", Recipient.department(department))
        for co in co_departments:
            self._notify("case_assigned_co", Recipient.department(co))

    def accept(self, *, actor: str, at: datetime, note: str = "") -> None:
        """The department takes the case on (受理); the response deadline is met or missed here."""
        self._move(Action.ACCEPT, actor, at, note, {"on_time": at <= self.response_due})
        if self.accepted_at is None:
            self.accepted_at = at
        self._notify("case_accepted", Recipient.requester())

    def resolve(self, *, actor: str, at: datetime, note: str = "") -> None:
        """The department reports the case handled; the requester is asked for a survey."""
        self._move(Action.RESOLVE, actor, at, note, {"on_time": at <= self.resolve_due})
        self.resolved_at = at
        self._notify("case_resolved", Recipient.requester())

    def close(self, *, actor: str, at: datetime, note: str = "") -> None:
        self._move(Action.CLOSE, actor, at, note)
        self.closed_at = at
        self._notify("case_closed", Recipient.requester())

    def return_to_center(self, *, actor: str, at: datetime, reason: str) -> None:
        """The department sends the case back to the dispatch center (退回); a reason is required."""
        if not reason.strip():
            raise MissingReason("a case can be returned only with a reason")
        previous = self.department
        self._move(
            Action.RETURN, actor, at, reason, {"department": previous, "return_count": self.return_count + 1}
        )
        self.return_count += 1
        self.department = DISPATCH_CENTER
        self._notify(
            "case_returned", Recipient.dispatch_center(), {"from_department": previous, "reason": reason}
        )

    def transfer(self, department: str, *, actor: str, at: datetime, note: str = "") -> None:
        """Hand the case to another department (转派); deadlines keep running."""
        if not department:
            raise DomainError("a department is needed")
        if department == self.department and self.status is not CaseStatus.RETURNED:
            raise DomainError(f"case {self.number} is already with {department}")
        previous = self.department
        self._move(Action.TRANSFER, actor, at, note, {"from_department": previous, "department": department})
        self.department = department
        self.accepted_at = None
        self._notify("case_assigned", Recipient.department(department), {"from_department": previous})

    def rate(self, result: SurveyResult, *, actor: str, at: datetime, note: str = "") -> None:
        """Record the requester's survey answer (or NO_ANSWER); closing or reopening is a separate step."""
        self._move(Action.RATE, actor, at, note, {"result": str(result)})
        self.survey_result = result

    def reopen(self, *, actor: str, at: datetime, note: str = "", deadlines: Deadlines | None = None) -> None:
        """Back to the same department under supervision (督办) after an unsatisfied survey.

        Without ``deadlines`` the case gets the same response and resolve windows as at
        submission, counted from ``at``.
        """
        _require_aware(at)
        new = deadlines or Deadlines(self.response_due, self.resolve_due).shifted_to(at, self.submitted_at)
        self._move(
            Action.REOPEN,
            actor,
            at,
            note,
            {"response_due": new.response_due.isoformat(), "resolve_due": new.resolve_due.isoformat()},
        )
        self.reopen_count += 1
        self.supervised = True
        self.response_due, self.resolve_due = new.response_due, new.resolve_due
        self.resolved_at = None
        if self.department:
            self._notify("case_reopened", Recipient.department(self.department))

    def cancel(self, *, actor: str, at: datetime, note: str = "") -> None:
        """Withdraw the case; only before a department has accepted it."""
        department = self.department
        self._move(Action.CANCEL, actor, at, note)
        self.closed_at = at
        if department and department != DISPATCH_CENTER:
            self._notify("case_cancelled", Recipient.department(department))

    def mark_duplicate(self, original_id: str, *, actor: str, at: datetime, note: str = "") -> None:
        """Link this case to an earlier one about the same problem and close it as a duplicate."""
        if original_id == self.id:
            raise DomainError("a case cannot duplicate itself")
        self._move(Action.MARK_DUPLICATE, actor, at, note, {"duplicate_of": original_id})
        self.duplicate_of = original_id
        self.closed_at = at

    def escalate(self, *, actor: str, at: datetime, note: str = "", reason: str = "overdue") -> None:
        """Record an escalation (overdue, 督办) and alert the department's lead and the center."""
        self._move(Action.ESCALATE, actor, at, note, {"reason": reason, "level": self.escalation_count + 1})
        self.escalation_count += 1
        payload = {"reason": reason, "level": self.escalation_count}
        if self.department and self.department != DISPATCH_CENTER:
            self._notify("case_escalated", Recipient.department_lead(self.department), payload)
        self._notify("case_escalated", Recipient.dispatch_center(), payload)

    def comment(self, text: str, *, actor: str, at: datetime) -> None:
        """The requester's comment after a survey answer: recorded in the audit trail and passed to the
        department (or the center). Not a transition: the status stays."""
        _require_aware(at)
        text = text.strip()
        if not text:
            raise DomainError("an empty comment")
        if self.survey_result is None:
            raise DomainError(f"case {self.number} has no survey answer to comment on")
        self._record(
            EventKind.COMMENTED,
            actor,
            at,
            text,
            self.status,
            self.status,
            {"result": str(self.survey_result)},
        )
        target = self.department or DISPATCH_CENTER
        recipient = Recipient.dispatch_center() if target == DISPATCH_CENTER else Recipient.department(target)
        self._notify("survey_comment", recipient, {"result": str(self.survey_result), "comment": text})

    def subscribe(self, chat: ChatRef) -> None:
        """Have ``chat`` receive the requester's updates too (a reporter of a duplicate)."""
        if chat not in self.subscribers and chat != ChatRef(self.channel, self.chat_id):
            self.subscribers.append(chat)

    def notify(self, kind: str, recipient: Recipient, payload: dict[str, Any] | None = None) -> None:
        """Queue an extra notification tied to the latest event (for rules outside this class)."""
        self._notify(kind, recipient, payload)

    def take_notifications(self) -> list[Notification]:
        """Return and clear the pending notifications (storage calls this when it writes the outbox)."""
        taken, self.pending_notifications = self.pending_notifications, []
        return taken

    # -- internals ----------------------------------------------------------------------------

    def _move(
        self, action: Action, actor: str, at: datetime, note: str, data: dict[str, Any] | None = None
    ) -> None:
        _require_aware(at)
        if not actor:
            raise DomainError("every change needs an actor")
        target = next_status(self.status, action, self.number)
        self._record(_EVENT_OF_ACTION[action], actor, at, note, self.status, target, data or {})
        self.status = target

    def _record(
        self,
        kind: EventKind,
        actor: str,
        at: datetime,
        note: str,
        from_status: CaseStatus | None,
        to_status: CaseStatus,
        data: dict[str, Any],
    ) -> None:
        self.history.append(
            CaseEvent(len(self.history) + 1, kind, actor, at, note, from_status, to_status, data)
        )

    def _notify(self, kind: str, recipient: Recipient, extra: dict[str, Any] | None = None) -> None:
        event = self.history[-1]
        payload: dict[str, Any] = {
            "case_id": self.id,
            "number": self.number,
            "code": self.code,
            "kind": str(self.kind),
            "status": str(event.to_status),
            "event": str(event.kind),
            "note": event.note,
            "at": event.at.isoformat(),
        }
        payload.update(extra or {})
        key = f"{self.id}:{event.seq}:{kind}:{recipient}"
        self.pending_notifications.append(Notification(kind, recipient, key, payload))
