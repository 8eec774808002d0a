"""Errors raised by the domain. Handlers catch :class:`DomainError` and tell the person why."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request."""


class IllegalTransition(DomainError):
    """The case's status does not allow this action (see ``dispatch.lifecycle.TRANSITIONS``)."""

    def __init__(self, status: object, action: object, case_number: str = "") -> None:
        self.status, self.action, self.case_number = status, action, case_number
        where = f"case {case_number}: " if case_number else ""
        super().__init__(f"{where}cannot {action} a case that is {status}")


class MissingReason(DomainError):
    """An action that needs a reason (a return, a cancellation by staff) was given none."""


class InviteError(DomainError):
    """An invite code cannot be redeemed."""


class InviteExpired(InviteError):
    pass


class InviteAlreadyUsed(InviteError):
    pass


class InviteNotFound(InviteError):
    pass
