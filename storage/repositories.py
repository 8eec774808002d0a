"""Repositories for cases, people, invites, inbound dedup, conversation state and household visits.

Each repository works inside the connection (and transaction) of one :class:`storage.uow.UnitOfWork`; nothing here
commits. Obtain them as ``uow.cases``, ``uow.people`` and so on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.model import DISPATCH_CENTER
from dispatch.case import Case
from dispatch.lifecycle import OPEN, CaseStatus
from dispatch.numbering import format_case_number, local_day
from dispatch.people import ChannelIdentity, ChatRef, Invite, Person, Role
from storage.errors import ConcurrencyError
from storage.mapping import case_from_row, case_to_values, event_from_row, event_to_values
from storage.sql import dialect_insert, dialect_name, insert_for, prebuilt, table

if TYPE_CHECKING:
    from storage.outbox import OutboxRepository

cases_t = table("cases")
events_t = table("case_events")
counters_t = table("case_counters")
people_t = table("people")
roles_t = table("person_roles")
identities_t = table("channel_identities")
staff_t = table("staff")
grids_t = table("grid_assignments")
invites_t = table("invites")
inbound_t = table("inbound_updates")
conversations_t = table("conversations")
visits_t = table("household_visits")


@dataclass
class _Tracked:
    case: Case
    saved_values: dict[str, Any] | None  # None: not yet in the database
    saved_events: int


class CaseRepository:
    """Cases with their history. Loaded and added cases are tracked and written by ``uow.commit()``."""

    def __init__(self, conn: AsyncConnection, outbox: OutboxRepository) -> None:
        self._conn = conn
        self._outbox = outbox
        self._seen: dict[str, _Tracked] = {}

    async def next_number(self, at: datetime) -> str:
        """Issue the next case number for the district day of ``at`` (``SC-YYYYMMDD-NNNN``).

        One atomic upsert on the per-day counter: concurrent callers, in one process or many,
        never get the same number. The number is consumed only if the transaction commits.
        """
        day = local_day(at)
        key = f"{day:%Y%m%d}"
        stmt = dialect_insert(self._conn, counters_t).values(day=key, last=1)
        stmt = stmt.on_conflict_do_update(index_elements=["day"], set_={"last": counters_t.c.last + 1})
        seq = (await self._conn.execute(stmt.returning(counters_t.c.last))).scalar_one()
        return format_case_number(day, int(seq))

    def add(self, case: Case) -> None:
        """Track a new case; it is inserted, with its events and notifications, at commit."""
        if case.id in self._seen:
            raise ValueError(f"case {case.id} is already tracked")
        self._seen[case.id] = _Tracked(case, None, 0)

    def attach(self, case: Case) -> None:
        """Track a case loaded by an earlier unit of work (kept across a conversation, say).

        Attach it before changing it: events appended after this call are the new ones. At commit
        its row is written only if ``case.version`` still matches the database, otherwise
        :class:`ConcurrencyError` is raised.
        """
        if case.id in self._seen:
            if self._seen[case.id].case is not case:
                raise ValueError(f"another copy of case {case.number} is already tracked")
            return
        self._seen[case.id] = _Tracked(case, {}, len(case.history))

    async def get(self, case_id: str) -> Case | None:
        if case_id in self._seen:
            return self._seen[case_id].case
        found = await self._load(cases_t.c.id == case_id)
        return found[0] if found else None

    async def get_by_number(self, number: str) -> Case | None:
        for t in self._seen.values():
            if t.case.number == number:
                return t.case
        found = await self._load(cases_t.c.number == number.strip().upper())
        return found[0] if found else None

    async def list_by_requester(
        self, requester_id: str, *, open_only: bool = False, limit: int = 20
    ) -> list[Case]:
        """The requester's cases, newest first."""
        cond = cases_t.c.requester_id == requester_id
        if open_only:
            cond = and_(cond, cases_t.c.status.in_([str(s) for s in OPEN]))
        return await self._load(cond, limit=limit)

    async def list_by_department(
        self, department: str, *, statuses: Iterable[CaseStatus] | None = None, limit: int = 50
    ) -> list[Case]:
        """Cases led by ``department`` (newest first), optionally only in ``statuses``."""
        cond = cases_t.c.department == department
        if statuses is not None:
            cond = and_(cond, cases_t.c.status.in_([str(s) for s in statuses]))
        return await self._load(cond, limit=limit)

    async def list_by_status(self, statuses: Iterable[CaseStatus], *, limit: int = 50) -> list[Case]:
        return await self._load(cases_t.c.status.in_([str(s) for s in statuses]), limit=limit)

    async def overdue(self, now: datetime, *, limit: int = 100) -> list[Case]:
        """Open cases past their response deadline (not accepted) or their resolve deadline."""
        open_statuses = [str(s) for s in OPEN]
        cond = and_(
            cases_t.c.status.in_(open_statuses),
            or_(
                and_(cases_t.c.accepted_at.is_(None), cases_t.c.response_due < now),
                and_(cases_t.c.status != str(CaseStatus.RESOLVED), cases_t.c.resolve_due < now),
            ),
        )
        return await self._load(cond, limit=limit, oldest_first=True)

    async def find_recent(
        self, code: str, grid: str, since: datetime, *, exclude_id: str | None = None
    ) -> list[Case]:
        """Cases of type ``code`` in ``grid`` submitted at or after ``since`` (duplicate detection)."""
        cond = and_(cases_t.c.code == code, cases_t.c.grid == grid, cases_t.c.submitted_at >= since)
        if exclude_id:
            cond = and_(cond, cases_t.c.id != exclude_id)
        return await self._load(cond, limit=20)

    async def count(self) -> int:
        return int((await self._conn.execute(select(func.count()).select_from(cases_t))).scalar_one())

    async def _load(self, cond: Any, *, limit: int | None = None, oldest_first: bool = False) -> list[Case]:
        order = cases_t.c.submitted_at.asc() if oldest_first else cases_t.c.submitted_at.desc()
        stmt = select(cases_t).where(cond).order_by(order, cases_t.c.number)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = (await self._conn.execute(stmt)).mappings().all()
        if not rows:
            return []
        ids = [r["id"] for r in rows if r["id"] not in self._seen]
        events: dict[str, list[Any]] = {i: [] for i in ids}
        if ids:
            ev_rows = (
                (
                    await self._conn.execute(
                        select(events_t).where(events_t.c.case_id.in_(ids)).order_by(events_t.c.seq)
                    )
                )
                .mappings()
                .all()
            )
            for ev in ev_rows:
                events[ev["case_id"]].append(event_from_row(ev))
        result: list[Case] = []
        for row in rows:
            tracked = self._seen.get(row["id"])
            if tracked is None:
                case = case_from_row(row, events[row["id"]])
                tracked = _Tracked(case, case_to_values(case), len(case.history))
                self._seen[case.id] = tracked
            result.append(tracked.case)
        return result

    async def flush(self, now: datetime) -> None:
        """Write every tracked case that changed: its row (version-checked), new events, outbox rows.

        Called by ``UnitOfWork.commit``; raises :class:`ConcurrencyError` when another transaction
        saved the case since it was loaded.
        """
        for tracked in self._seen.values():
            case = tracked.case
            values = case_to_values(case)
            new_events = case.history[tracked.saved_events :]
            if tracked.saved_values is None:
                await self._conn.execute(cases_t.insert().values(**values, version=1, updated_at=now))
                case.version = 1
            elif values != tracked.saved_values or new_events:
                result = await self._conn.execute(
                    update(cases_t)
                    .where(cases_t.c.id == case.id, cases_t.c.version == case.version)
                    .values(**values, version=cases_t.c.version + 1, updated_at=now)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    raise ConcurrencyError(f"case {case.number} was changed by someone else; reload it")
                case.version += 1
            if new_events:
                await self._conn.execute(events_t.insert(), [event_to_values(case.id, e) for e in new_events])
            for notification in case.take_notifications():
                await self._outbox.add_notification(notification, case, now)
            tracked.saved_values = values
            tracked.saved_events = len(case.history)

    def forget(self) -> None:
        """Stop tracking everything (after a rollback the loaded objects no longer match the rows)."""
        self._seen.clear()


class PeopleRepository:
    """People with their roles, staff department, grids and channel identities."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, person_id: str) -> Person | None:
        people = await self._load([person_id])
        return people[0] if people else None

    async def by_identity(self, channel: str, external_user_id: str) -> Person | None:
        pid = (
            await self._conn.execute(
                select(identities_t.c.person_id).where(
                    identities_t.c.channel == channel, identities_t.c.external_user_id == external_user_id
                )
            )
        ).scalar_one_or_none()
        return await self.get(pid) if pid else None

    async def get_or_create_by_identity(
        self, identity: ChannelIdentity, *, display_name: str, at: datetime, new_id: str
    ) -> tuple[Person, bool]:
        """The person behind ``identity``, creating a resident with id ``new_id`` the first time.

        Returns (person, created). Safe against two concurrent first messages: the identity row
        is inserted with ON CONFLICT DO NOTHING and the loser adopts the winner's person. A
        changed chat id is updated.
        """
        existing = await self.by_identity(identity.channel, identity.external_user_id)
        if existing is not None:
            known = existing.identity_on(identity.channel)
            if known is not None and known.chat_id != identity.chat_id:
                await self._conn.execute(
                    update(identities_t)
                    .where(
                        identities_t.c.channel == identity.channel,
                        identities_t.c.external_user_id == identity.external_user_id,
                    )
                    .values(chat_id=identity.chat_id)
                )
                existing.identities = [i for i in existing.identities if i != known] + [identity]
            return existing, False
        person = Person(id=new_id, display_name=display_name or identity.external_user_id, created_at=at)
        await self._conn.execute(
            people_t.insert().values(id=person.id, display_name=person.display_name, created_at=at)
        )
        await self._conn.execute(roles_t.insert().values(person_id=person.id, role=str(Role.RESIDENT)))
        stmt = (
            dialect_insert(self._conn, identities_t)
            .values(
                channel=identity.channel,
                external_user_id=identity.external_user_id,
                chat_id=identity.chat_id,
                person_id=person.id,
            )
            .on_conflict_do_nothing()
            .returning(identities_t.c.person_id)
        )
        if (await self._conn.execute(stmt)).scalar_one_or_none() is None:
            await self._conn.execute(delete(roles_t).where(roles_t.c.person_id == person.id))
            await self._conn.execute(delete(people_t).where(people_t.c.id == person.id))
            winner = await self.by_identity(identity.channel, identity.external_user_id)
            assert winner is not None
            return winner, False
        person.identities.append(identity)
        return person, True

    async def save(self, person: Person) -> None:
        """Insert or update the person, replacing roles, staff department, grids; add identities."""
        values = {
            "display_name": person.display_name,
            "phone": person.phone,
            "community": person.community,
        }
        stmt = dialect_insert(self._conn, people_t).values(
            id=person.id, created_at=person.created_at, **values
        )
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        for t in (roles_t, staff_t, grids_t):
            await self._conn.execute(delete(t).where(t.c.person_id == person.id))
        await self._conn.execute(
            roles_t.insert(), [{"person_id": person.id, "role": str(r)} for r in person.roles]
        )
        if person.department and (person.has_role(Role.DEPT_STAFF) or person.has_role(Role.DISPATCHER)):
            await self._conn.execute(
                staff_t.insert().values(
                    person_id=person.id, department=person.department, is_lead=person.is_department_lead
                )
            )
        if person.grids:
            await self._conn.execute(
                grids_t.insert(), [{"person_id": person.id, "grid": g} for g in person.grids]
            )
        for identity in person.identities:
            stmt = dialect_insert(self._conn, identities_t).values(
                channel=identity.channel,
                external_user_id=identity.external_user_id,
                chat_id=identity.chat_id,
                person_id=person.id,
            )
            await self._conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["channel", "external_user_id"],
                    set_={"chat_id": identity.chat_id, "person_id": person.id},
                )
            )

    async def staff_of(self, department: str, *, lead_only: bool = False) -> list[Person]:
        """Staff of ``department`` (dispatchers are the staff of LDZX); only leads if asked."""
        cond = staff_t.c.department == department
        if lead_only:
            cond = and_(cond, staff_t.c.is_lead.is_(True))
        ids = (await self._conn.execute(select(staff_t.c.person_id).where(cond))).scalars().all()
        return await self._load(list(ids))

    async def dispatchers(self) -> list[Person]:
        ids = (
            (
                await self._conn.execute(
                    select(roles_t.c.person_id).where(roles_t.c.role == str(Role.DISPATCHER))
                )
            )
            .scalars()
            .all()
        )
        return await self._load(list(ids))

    async def grid_workers_of(self, grid: str) -> list[Person]:
        ids = (
            (await self._conn.execute(select(grids_t.c.person_id).where(grids_t.c.grid == grid)))
            .scalars()
            .all()
        )
        return await self._load(list(ids))

    async def with_role(self, role: Role) -> list[Person]:
        ids = (
            (await self._conn.execute(select(roles_t.c.person_id).where(roles_t.c.role == str(role))))
            .scalars()
            .all()
        )
        return await self._load(list(ids))

    async def _load(self, ids: Sequence[str]) -> list[Person]:
        if not ids:
            return []
        # The people with their roles, staff post, grids and identities in one round trip: loading
        # a person is on every turn's path, and each query costs a trip to the driver (on SQLite,
        # to its thread). One id, the usual case, needs no expanding IN (cheaper to execute).
        if len(ids) == 1:
            rows = (await self._conn.execute(_PERSON_ROWS_ONE, {"id": ids[0]})).all()
        else:
            rows = (await self._conn.execute(_PERSON_ROWS_MANY, {"ids": list(ids)})).all()
        people = {
            pid: Person(id=pid, display_name=a, created_at=at, phone=b, community=c, roles=set())
            for kind, pid, a, b, c, at in rows
            if kind == "person"
        }
        grids: dict[str, list[str]] = {}
        for kind, pid, a, b, c, _at in rows:
            person = people[pid]
            if kind == "role":
                person.roles.add(Role(a))
            elif kind == "staff":
                person.department = a
                person.is_department_lead = b == "1"
            elif kind == "grid":
                grids.setdefault(pid, []).append(a)
            elif kind == "ident":
                person.identities.append(ChannelIdentity(a, b, c))
        for pid, gs in grids.items():
            people[pid].grids = tuple(sorted(gs))
        return sorted(people.values(), key=lambda person: person.created_at)

    async def chats_for(self, person_ids: Iterable[str]) -> list[ChatRef]:
        """Every chat of these people, one per channel identity."""
        ids = list(dict.fromkeys(person_ids))
        if not ids:
            return []
        rows = await self._conn.execute(
            select(identities_t.c.channel, identities_t.c.chat_id)
            .where(identities_t.c.person_id.in_(ids))
            .order_by(identities_t.c.channel, identities_t.c.chat_id)
        )
        return list(dict.fromkeys(ChatRef(c, chat) for c, chat in rows.all()))

    async def chats_of_department(self, department: str, *, lead_only: bool = False) -> list[ChatRef]:
        cond = staff_t.c.department == department
        if lead_only:
            cond = and_(cond, staff_t.c.is_lead.is_(True))
        ids = (await self._conn.execute(select(staff_t.c.person_id).where(cond))).scalars().all()
        return await self.chats_for(ids)

    async def chats_of_dispatch_center(self) -> list[ChatRef]:
        ids = set(
            (
                await self._conn.execute(
                    select(roles_t.c.person_id).where(roles_t.c.role == str(Role.DISPATCHER))
                )
            ).scalars()
        )
        ids |= set(
            (
                await self._conn.execute(
                    select(staff_t.c.person_id).where(staff_t.c.department == DISPATCH_CENTER)
                )
            )
            .scalars()
            .all()
        )
        return await self.chats_for(sorted(ids))


class InviteRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, invite: Invite) -> None:
        await self._conn.execute(
            invites_t.insert().values(
                code=invite.code,
                role=str(invite.role),
                department=invite.department,
                grids=list(invite.grids),
                lead=invite.lead,
                display_name=invite.display_name,
                created_at=invite.created_at,
                expires_at=invite.expires_at,
                created_by=invite.created_by,
            )
        )

    async def get(self, code: str) -> Invite | None:
        row = (await self._conn.execute(select(invites_t).where(invites_t.c.code == code))).mappings().first()
        return _invite_from_row(row) if row else None

    async def list(self, *, include_used: bool = False) -> list[Invite]:
        stmt = select(invites_t).order_by(invites_t.c.created_at)
        if not include_used:
            stmt = stmt.where(invites_t.c.used_by.is_(None))
        return [_invite_from_row(r) for r in (await self._conn.execute(stmt)).mappings().all()]

    async def mark_used(self, invite: Invite) -> bool:
        """Record ``invite.used_by``/``used_at`` only if the row is still unused; False if it was taken."""
        result = await self._conn.execute(
            update(invites_t)
            .where(invites_t.c.code == invite.code, invites_t.c.used_by.is_(None))
            .values(used_by=invite.used_by, used_at=invite.used_at)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _invite_from_row(row: Any) -> Invite:
    return Invite(
        code=row["code"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        department=row["department"],
        grids=tuple(row["grids"] or ()),
        lead=bool(row["lead"]),
        display_name=row["display_name"],
        created_by=row["created_by"],
        used_by=row["used_by"],
        used_at=row["used_at"],
    )


class InboundRepository:
    """Inbound updates already processed (Telegram ``update_id``, web message ids)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(
        self, channel: str, update_id: str | int, at: datetime, case_id: str | None = None
    ) -> bool:
        """Claim an update in this transaction; False when it was processed before (skip it).

        Call it first in the transaction that handles the update: with two processes the second
        waits for the first to commit and then gets False.
        """
        stmt = prebuilt(dialect_name(self._conn), _record_statement)
        params = {"channel": channel, "update_id": str(update_id), "case_id": case_id, "processed_at": at}
        return (await self._conn.execute(stmt, params)).scalar_one_or_none() is not None

    async def link_case(self, channel: str, update_id: str | int, case_id: str) -> None:
        """Note which case a recorded update created."""
        await self._conn.execute(
            update(inbound_t)
            .where(inbound_t.c.channel == channel, inbound_t.c.update_id == str(update_id))
            .values(case_id=case_id)
        )

    async def seen(self, channel: str, update_id: str | int) -> bool:
        row = await self._conn.execute(
            select(inbound_t.c.id).where(
                inbound_t.c.channel == channel, inbound_t.c.update_id == str(update_id)
            )
        )
        return row.first() is not None

    async def case_for(self, channel: str, update_id: str | int) -> str | None:
        row = await self._conn.execute(
            select(inbound_t.c.case_id).where(
                inbound_t.c.channel == channel, inbound_t.c.update_id == str(update_id)
            )
        )
        return row.scalar_one_or_none()


class ConversationRepository:
    """Per-chat conversation state as JSON, so a conversation survives a restart."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, channel: str, chat_id: str) -> dict[str, Any] | None:
        row = await self._conn.execute(
            select(conversations_t.c.state).where(
                conversations_t.c.channel == channel, conversations_t.c.chat_id == str(chat_id)
            )
        )
        state = row.scalar_one_or_none()
        return dict(state) if state is not None else None

    async def turn_lookup(
        self, channel: str, update_key: str | None, user_id: str, state_key: str
    ) -> tuple[bool, str | None, dict[str, Any] | None]:
        """In one query, what a turn needs first: (update ``update_key`` handled before?, the id of
        the person behind ``user_id``, the saved state of ``state_key``)."""
        params = {"channel": channel, "key": update_key or "", "user": user_id, "state_key": str(state_key)}
        row = (await self._conn.execute(_TURN_LOOKUP, params)).one()
        seen = update_key is not None and bool(row[0])
        return seen, row[1], dict(row[2]) if row[2] is not None else None

    async def put(self, channel: str, chat_id: str, state: dict[str, Any], at: datetime) -> None:
        stmt = prebuilt(dialect_name(self._conn), _put_state_statement)
        params = {"channel": channel, "chat_id": str(chat_id), "state": state, "updated_at": at}
        await self._conn.execute(stmt, params)

    async def delete(self, channel: str, chat_id: str) -> None:
        await self._conn.execute(
            delete(conversations_t).where(
                conversations_t.c.channel == channel, conversations_t.c.chat_id == str(chat_id)
            )
        )


def _person_rows_statement(*, many: bool) -> Any:
    """(kind, person_id, a, b, c, at) rows for the people in ``:ids`` (``many``) or the one ``:id``:
    ``person`` (display name, phone, community; created at), ``role`` (role), ``staff`` (department,
    "1" if lead), ``grid`` (grid) and ``ident`` (channel, external user id, chat id)."""

    def of(column: Any) -> Any:
        return column.in_(bindparam("ids", expanding=True)) if many else column == bindparam("id")

    text_null = cast(null(), String)
    at_null = cast(null(), people_t.c.created_at.type)
    return union_all(
        select(
            literal_column("'person'"),
            people_t.c.id,
            people_t.c.display_name,
            people_t.c.phone,
            people_t.c.community,
            people_t.c.created_at,
        ).where(of(people_t.c.id)),
        select(
            literal_column("'role'"), roles_t.c.person_id, roles_t.c.role, text_null, text_null, at_null
        ).where(of(roles_t.c.person_id)),
        select(
            literal_column("'staff'"),
            staff_t.c.person_id,
            staff_t.c.department,
            case((staff_t.c.is_lead, literal_column("'1'")), else_=literal_column("'0'")),
            text_null,
            at_null,
        ).where(of(staff_t.c.person_id)),
        select(
            literal_column("'grid'"), grids_t.c.person_id, grids_t.c.grid, text_null, text_null, at_null
        ).where(of(grids_t.c.person_id)),
        select(
            literal_column("'ident'"),
            identities_t.c.person_id,
            identities_t.c.channel,
            identities_t.c.external_user_id,
            identities_t.c.chat_id,
            at_null,
        ).where(of(identities_t.c.person_id)),
    )


def _turn_lookup_statement() -> Any:
    seen = (
        select(inbound_t.c.id)
        .where(inbound_t.c.channel == bindparam("channel"), inbound_t.c.update_id == bindparam("key"))
        .exists()
    )
    person = (
        select(identities_t.c.person_id)
        .where(
            identities_t.c.channel == bindparam("channel"),
            identities_t.c.external_user_id == bindparam("user"),
        )
        .scalar_subquery()
    )
    state = (
        select(conversations_t.c.state)
        .where(
            conversations_t.c.channel == bindparam("channel"),
            conversations_t.c.chat_id == bindparam("state_key"),
        )
        .scalar_subquery()
    )
    return select(seen, person, state)


# Built once: these run on every turn, and a statement object built per call costs its construction
# and its cache-key walk each time (SQLAlchemy memoizes both on the object).
_PERSON_ROWS_ONE = _person_rows_statement(many=False)
_PERSON_ROWS_MANY = _person_rows_statement(many=True)
_TURN_LOOKUP = _turn_lookup_statement()


def _record_statement(dialect: str) -> Any:
    """Claim an update: its values come as execute parameters (InboundRepository.record)."""
    return insert_for(dialect, inbound_t).on_conflict_do_nothing().returning(inbound_t.c.id)


def _put_state_statement(dialect: str) -> Any:
    """Upsert a chat's state: its values come as execute parameters (ConversationRepository.put)."""
    stmt = insert_for(dialect, conversations_t)
    return stmt.on_conflict_do_update(
        index_elements=["channel", "chat_id"],
        set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
    )


@dataclass(frozen=True, slots=True)
class HouseholdVisit:
    """A grid worker's household visit (走访记录)."""

    id: int
    worker_id: str
    address: str
    at: datetime
    grid: str | None = None
    notes: str = ""


class VisitRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, worker_id: str, address: str, at: datetime, *, grid: str | None = None, notes: str = ""
    ) -> int:
        stmt = (
            visits_t.insert()
            .values(worker_id=worker_id, address=address, at=at, grid=grid, notes=notes)
            .returning(visits_t.c.id)
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def list_by_worker(self, worker_id: str, *, since: datetime | None = None) -> list[HouseholdVisit]:
        stmt = select(visits_t).where(visits_t.c.worker_id == worker_id).order_by(visits_t.c.at)
        if since is not None:
            stmt = stmt.where(visits_t.c.at >= since)
        return [
            HouseholdVisit(r["id"], r["worker_id"], r["address"], r["at"], r["grid"], r["notes"])
            for r in (await self._conn.execute(stmt)).mappings().all()
        ]
