"""The district's rules as a pure domain: cases, lifecycle, deadlines, people. No I/O, no clock."""

from dispatch.case import Attachment, AttachmentKind, Case, CaseEvent, CaseKind, EventKind, SurveyResult
from dispatch.deadlines import Deadlines, deadlines_for
from dispatch.errors import DomainError, IllegalTransition
from dispatch.lifecycle import TRANSITIONS, Action, CaseStatus
from dispatch.notifications import Notification, Recipient, RecipientKind
from dispatch.people import ChannelIdentity, ChatRef, Invite, Person, Role

__all__ = [
    "TRANSITIONS",
    "Action",
    "Attachment",
    "AttachmentKind",
    "Case",
    "CaseEvent",
    "CaseKind",
    "CaseStatus",
    "ChannelIdentity",
    "ChatRef",
    "Deadlines",
    "DomainError",
    "EventKind",
    "IllegalTransition",
    "Invite",
    "Notification",
    "Person",
    "Recipient",
    "RecipientKind",
    "Role",
    "SurveyResult",
    "deadlines_for",
]
