"""Use cases around one-time invite codes: issue one, and redeem one from a chat."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from dispatch.errors import InviteAlreadyUsed, InviteNotFound
from dispatch.people import ChannelIdentity, Invite, Person, Role
from storage.database import Database

# No 0/O/1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def create_invite(
    db: Database,
    role: Role,
    at: datetime,
    *,
    ttl: timedelta = timedelta(hours=72),
    department: str | None = None,
    grids: tuple[str, ...] = (),
    lead: bool = False,
    display_name: str | None = None,
    created_by: str | None = None,
) -> Invite:
    """Issue and store a one-time invite for ``role``, valid for ``ttl`` from ``at``."""
    if role is Role.DEPT_STAFF and not department:
        raise ValueError("a department staff invite needs a department")
    if role is Role.GRID_WORKER and not grids:
        raise ValueError("a grid worker invite needs grids")
    invite = Invite(
        code=new_invite_code(),
        role=role,
        created_at=at,
        expires_at=at + ttl,
        department=department,
        grids=tuple(grids),
        lead=lead,
        display_name=display_name,
        created_by=created_by,
    )
    async with db.uow() as uow:
        await uow.invites.add(invite)
        await uow.commit(at)
    return invite


async def redeem_invite(
    db: Database, code: str, identity: ChannelIdentity, at: datetime, *, display_name: str = ""
) -> Person:
    """Give the person behind ``identity`` the invite's role; the code works exactly once.

    Creates the person (as a resident) if this identity has never written before. Raises
    ``InviteNotFound``, ``InviteExpired`` or ``InviteAlreadyUsed`` (all ``InviteError``).
    """
    code = code.strip().upper()
    async with db.uow() as uow:
        invite = await uow.invites.get(code)
        if invite is None:
            raise InviteNotFound(f"no invite {code}")
        person, _ = await uow.people.get_or_create_by_identity(
            identity, display_name=display_name, at=at, new_id=str(uuid.uuid4())
        )
        invite.redeem(person, at)
        # Conditional update: of two chats redeeming at once only one gets the role.
        if not await uow.invites.mark_used(invite):
            raise InviteAlreadyUsed(f"invite {code} was already used")
        await uow.people.save(person)
        await uow.commit(at)
    return person
