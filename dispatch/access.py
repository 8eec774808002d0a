"""Who may do what to a case. Pure checks; the use-case layer calls them before every change."""

from __future__ import annotations

from catalog.model import DISPATCH_CENTER
from dispatch.case import Case
from dispatch.errors import DomainError
from dispatch.people import Person, Role
from dispatch.routing import MAX_RETURNS_BEFORE_BINDING


class PermissionDenied(DomainError):
    """The person may not do this to this case."""


class CaseNotFound(DomainError):
    """No case has this number."""


class ReturnNotAllowed(DomainError):
    """The center's decision binds: this department cannot return the case again."""


def is_dispatcher(person: Person) -> bool:
    return person.has_role(Role.DISPATCHER) or (
        person.has_role(Role.DEPT_STAFF) and person.department == DISPATCH_CENTER
    )


def require_staff_of(person: Person, case: Case) -> None:
    """Staff of the case's department (dispatchers act for LDZX cases)."""
    if case.department == DISPATCH_CENTER and is_dispatcher(person):
        return
    if not (person.has_role(Role.DEPT_STAFF) and person.department == case.department):
        raise PermissionDenied(
            f"{person.display_name} is not staff of {case.department} (case {case.number})"
        )


def require_dispatcher(person: Person) -> None:
    if not is_dispatcher(person):
        raise PermissionDenied(f"{person.display_name} is not a dispatch-center operator")


def require_requester(person: Person, case: Case) -> None:
    if person.id != case.requester_id:
        raise PermissionDenied(f"case {case.number} was not reported by {person.display_name}")


def binding_department(case: Case) -> str | None:
    """The department bound by the center's decision, if any.

    Once a case has been returned ``MAX_RETURNS_BEFORE_BINDING`` times, the department the center
    assigns it to next must handle it: it can no longer return it (only the center can transfer).
    """
    if case.return_count < MAX_RETURNS_BEFORE_BINDING:
        return None
    for event in reversed(case.history):
        if event.kind in ("assigned", "transferred") and event.data.get("department"):
            if event.seq > _last_return_seq(case):
                return str(event.data["department"])
            return None
    return None


def _last_return_seq(case: Case) -> int:
    return max((e.seq for e in case.history if e.kind == "returned"), default=0)


def require_may_return(case: Case) -> None:
    bound = binding_department(case)
    if bound is not None and bound == case.department:
        raise ReturnNotAllowed(
            f"case {case.number} was returned {case.return_count} times; the center's decision binds"
        )
