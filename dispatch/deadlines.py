"""Deadlines computed from the catalog's hours. Time is passed in; nothing here reads the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from catalog.model import CaseType, Service, Severity

SERVICE_RESOLVE_FACTOR = 3.0
SERVICE_RESOLVE_MIN_HOURS = 24.0
"""A home service must be delivered within max(3 × sla_hours, 24 h) of the request.

The catalog's ``sla_hours`` is only the time to first response or appointment; the district
gives no completion time for services, so we allow two more SLA windows for the visit itself,
and at least a day so that 30-minute emergency items still get a realistic completion window.
"""

EMERGENCY_SLA_HOURS = 0.5
"""Services whose SLA is this short (紧急求助上门处置, 心理危机干预, ...) are emergencies."""


@dataclass(frozen=True, slots=True)
class Deadlines:
    """When a case must be accepted (response) and handled (resolve)."""

    response_due: datetime
    resolve_due: datetime

    def shifted_to(self, start: datetime, original_start: datetime) -> Deadlines:
        """The same durations counted again from ``start`` (used when a case is reopened)."""
        return Deadlines(
            start + (self.response_due - original_start),
            start + (self.resolve_due - original_start),
        )


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")


def service_resolve_hours(service: Service) -> float:
    return max(SERVICE_RESOLVE_FACTOR * service.sla_hours, SERVICE_RESOLVE_MIN_HOURS)


def deadlines_for(item: Service | CaseType, start: datetime) -> Deadlines:
    """Deadlines for a service request or a 365 case submitted at ``start``."""
    _require_aware(start)
    if isinstance(item, Service):
        response, resolve = item.sla_hours, service_resolve_hours(item)
    else:
        response, resolve = item.response_hours, item.resolve_hours
    return Deadlines(start + timedelta(hours=response), start + timedelta(hours=resolve))


def severity_of(item: Service | CaseType) -> Severity:
    """A case type carries its severity; a service is an emergency only when its SLA is 30 minutes."""
    if isinstance(item, Service):
        return Severity.EMERGENCY if item.sla_hours <= EMERGENCY_SLA_HOURS else Severity.NORMAL
    return item.severity


def fraction_elapsed(start: datetime, due: datetime, now: datetime) -> float:
    """How much of the window [start, due] has passed at ``now`` (0.0 before, >1.0 when overdue)."""
    total = (due - start).total_seconds()
    if total <= 0:
        return 1.0
    return (now - start).total_seconds() / total


def reminder_time(start: datetime, due: datetime, fraction: float) -> datetime:
    """The instant at which ``fraction`` of the window has passed (e.g. 0.5 and 0.8 reminders)."""
    return start + (due - start) * fraction
