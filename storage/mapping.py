"""Conversions between domain objects (dispatch/) and row dictionaries (storage/tables.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.model import Severity
from dispatch.case import Attachment, AttachmentKind, Case, CaseEvent, CaseKind, EventKind, SurveyResult
from dispatch.lifecycle import CaseStatus
from dispatch.people import ChatRef


def case_to_values(case: Case) -> dict[str, Any]:
    """The ``cases`` row for ``case`` without ``version`` and ``updated_at`` (storage sets those)."""
    return {
        "id": case.id,
        "number": case.number,
        "kind": str(case.kind),
        "code": case.code,
        "requester_id": case.requester_id,
        "channel": case.channel,
        "chat_id": case.chat_id,
        "text": case.text,
        "address": case.address,
        "community": case.community,
        "grid": case.grid,
        "street": case.street,
        "details": dict(case.details),
        "attachments": [
            {"kind": str(a.kind), "ref": a.ref, "transcript": a.transcript, "recognizer": a.recognizer}
            for a in case.attachments
        ],
        "department": case.department,
        "co_departments": list(case.co_departments),
        "severity": str(case.severity),
        "status": str(case.status),
        "submitted_at": case.submitted_at,
        "response_due": case.response_due,
        "resolve_due": case.resolve_due,
        "accepted_at": case.accepted_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "reopen_count": case.reopen_count,
        "return_count": case.return_count,
        "escalation_count": case.escalation_count,
        "survey_result": str(case.survey_result) if case.survey_result else None,
        "duplicate_of": case.duplicate_of,
        "supervised": case.supervised,
        "subscribers": [{"channel": s.channel, "chat_id": s.chat_id} for s in case.subscribers],
    }


def event_to_values(case_id: str, event: CaseEvent) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "seq": event.seq,
        "kind": str(event.kind),
        "actor": event.actor,
        "at": event.at,
        "note": event.note,
        "from_status": str(event.from_status) if event.from_status else None,
        "to_status": str(event.to_status) if event.to_status else None,
        "data": dict(event.data),
    }


def event_from_row(row: Mapping[Any, Any]) -> CaseEvent:
    return CaseEvent(
        seq=row["seq"],
        kind=EventKind(row["kind"]),
        actor=row["actor"],
        at=row["at"],
        note=row["note"] or "",
        from_status=CaseStatus(row["from_status"]) if row["from_status"] else None,
        to_status=CaseStatus(row["to_status"]) if row["to_status"] else None,
        data=dict(row["data"] or {}),
    )


def case_from_row(row: Mapping[Any, Any], events: list[CaseEvent]) -> Case:
    return Case(
        id=row["id"],
        number=row["number"],
        kind=CaseKind(row["kind"]),
        code=row["code"],
        requester_id=row["requester_id"],
        channel=row["channel"],
        chat_id=row["chat_id"],
        text=row["text"],
        submitted_at=row["submitted_at"],
        response_due=row["response_due"],
        resolve_due=row["resolve_due"],
        severity=Severity(row["severity"]),
        status=CaseStatus(row["status"]),
        address=row["address"],
        community=row["community"],
        grid=row["grid"],
        street=row["street"],
        details=dict(row["details"] or {}),
        attachments=[
            Attachment(AttachmentKind(a["kind"]), a["ref"], a.get("transcript"), a.get("recognizer"))
            for a in row["attachments"] or []
        ],
        department=row["department"],
        co_departments=tuple(row["co_departments"] or ()),
        accepted_at=row["accepted_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        reopen_count=row["reopen_count"],
        return_count=row["return_count"],
        escalation_count=row["escalation_count"],
        survey_result=SurveyResult(row["survey_result"]) if row["survey_result"] else None,
        duplicate_of=row["duplicate_of"],
        supervised=bool(row["supervised"]),
        subscribers=[ChatRef(s["channel"], s["chat_id"]) for s in row["subscribers"] or []],
        history=events,
        version=row["version"],
    )
