"""People, their roles and the chat identities through which they reach the bot; one-time invites."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from dispatch.errors import InviteAlreadyUsed, InviteExpired


class Role(StrEnum):
    RESIDENT = "resident"
    GRID_WORKER = "grid_worker"  # 网格员: reports cases and visits households in their grids
    DEPT_STAFF = "dept_staff"  # handles cases for one department
    DISPATCHER = "dispatcher"  # operator of the dispatch center (LDZX)
    ADMIN = "admin"


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WEB = "web"


@dataclass(frozen=True, slots=True)
class ChannelIdentity:
    """Who a person is on one channel: the channel's user id and the chat to write to."""

    channel: str
    external_user_id: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat to send to on a channel (a case's requester chat or a subscriber)."""

    channel: str
    chat_id: str


@dataclass
class Person:
    """Anyone who talks to the bot or works cases. Every person is at least a resident.

    ``department`` is set for department staff (and dispatchers, whose department is LDZX);
    ``is_department_lead`` marks the person whose chat receives escalations for that department;
    ``grids`` lists the grid codes a grid worker covers.
    """

    id: str
    display_name: str
    created_at: datetime
    phone: str | None = None
    community: str | None = None
    roles: set[Role] = field(default_factory=lambda: {Role.RESIDENT})
    department: str | None = None
    is_department_lead: bool = False
    grids: tuple[str, ...] = ()
    identities: list[ChannelIdentity] = field(default_factory=list)

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def grant(
        self,
        role: Role,
        *,
        department: str | None = None,
        grids: tuple[str, ...] = (),
        lead: bool = False,
    ) -> None:
        """Give the person a role. Staff need a department; grid workers need grids."""
        if role is Role.DEPT_STAFF and not department:
            raise ValueError("department staff need a department")
        if role is Role.GRID_WORKER and not grids:
            raise ValueError("grid workers need at least one grid")
        self.roles.add(role)
        if role in (Role.DEPT_STAFF, Role.DISPATCHER) and department:
            self.department = department
            self.is_department_lead = self.is_department_lead or lead
        if role is Role.GRID_WORKER:
            self.grids = tuple(dict.fromkeys((*self.grids, *grids)))

    def identity_on(self, channel: str) -> ChannelIdentity | None:
        return next((i for i in self.identities if i.channel == channel), None)


@dataclass
class Invite:
    """A one-time code that gives the person who sends it (``/start CODE``) a role."""

    code: str
    role: Role
    created_at: datetime
    expires_at: datetime
    department: str | None = None
    grids: tuple[str, ...] = ()
    lead: bool = False
    display_name: str | None = None  # the name the admin entered, given to the person on redeeming
    created_by: str | None = None
    used_by: str | None = None
    used_at: datetime | None = None

    def redeem(self, person: Person, at: datetime) -> None:
        """Grant the role to ``person``; rejects a used or expired invite."""
        if self.used_by is not None:
            raise InviteAlreadyUsed(f"invite {self.code} was already used")
        if at >= self.expires_at:
            raise InviteExpired(f"invite {self.code} expired at {self.expires_at.isoformat()}")
        person.grant(self.role, department=self.department, grids=self.grids, lead=self.lead)
        if self.display_name:
            person.display_name = self.display_name
        self.used_by, self.used_at = person.id, at
