"""Admin commands: ``python -m bot staff|gridworker|dispatcher|invite ...``.

Staff, grid workers and dispatchers are added either directly with their Telegram user id
(``--telegram-id``) or, more usually, through a one-time invite code that the person sends to
the bot as ``/start CODE`` (or ``/join CODE``). The database is ``DATABASE_URL`` (default: the
SQLite file under var/); migrations are applied first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

from catalog.loader import load_catalog
from catalog.model import DISPATCH_CENTER
from dispatch.people import ChannelIdentity, Invite, Person, Role
from storage.database import Database
from storage.engine import DEFAULT_URL
from storage.invites import create_invite

ROLE_NAMES = {
    "dept_staff": Role.DEPT_STAFF,
    "grid_worker": Role.GRID_WORKER,
    "dispatcher": Role.DISPATCHER,
    "admin": Role.ADMIN,
}


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="上城区 居家无忧/平安365 admin commands")
    sub = p.add_subparsers(dest="group", required=True)

    def person_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--name", required=True, help="display name, e.g. 张三")
        sp.add_argument("--telegram-id", help="link this Telegram user id now instead of issuing an invite")
        sp.add_argument("--phone")
        sp.add_argument("--ttl-hours", type=float, default=72.0, help="invite validity (default 72)")

    staff = sub.add_parser("staff", help="department staff").add_subparsers(dest="action", required=True)
    sa = staff.add_parser("add", help="add a department staff member")
    person_args(sa)
    sa.add_argument("--department", required=True, help="department code, e.g. CGJ")
    sa.add_argument(
        "--lead", action="store_true", help="this person's chat receives the department's escalations"
    )
    staff.add_parser("list", help="list staff, dispatchers and grid workers")

    gw = sub.add_parser("gridworker", help="grid workers (网格员)").add_subparsers(
        dest="action", required=True
    )
    ga = gw.add_parser("add", help="add a grid worker")
    person_args(ga)
    ga.add_argument("--grids", required=True, help="comma-separated grid codes, e.g. HB01-1,HB01-2")

    dp = sub.add_parser("dispatcher", help="dispatch-center (LDZX) operators").add_subparsers(
        dest="action", required=True
    )
    da = dp.add_parser("add", help="add a dispatch-center operator")
    person_args(da)
    da.add_argument("--lead", action="store_true")

    inv = sub.add_parser("invite", help="one-time invite codes").add_subparsers(dest="action", required=True)
    ic = inv.add_parser("create", help="issue a code the person sends to the bot as /start CODE")
    ic.add_argument("--role", required=True, choices=sorted(ROLE_NAMES))
    ic.add_argument("--department")
    ic.add_argument("--grids")
    ic.add_argument("--lead", action="store_true")
    ic.add_argument("--name")
    ic.add_argument("--ttl-hours", type=float, default=72.0)
    il = inv.add_parser("list", help="list unused invites")
    il.add_argument("--all", action="store_true", help="include used ones")
    return p


def _check_department(code: str | None, role: Role) -> str | None:
    if role is Role.DISPATCHER:
        return DISPATCH_CENTER
    if role is not Role.DEPT_STAFF:
        return None
    if not code:
        raise UsageError("--department is required for department staff")
    catalog = load_catalog()
    if code not in catalog.departments:
        raise UsageError(f"unknown department {code!r}; known: {', '.join(sorted(catalog.departments))}")
    return code


def _check_grids(raw: str | None, role: Role) -> tuple[str, ...]:
    if role is not Role.GRID_WORKER:
        return ()
    grids = tuple(g.strip().upper() for g in (raw or "").split(",") if g.strip())
    if not grids:
        raise UsageError("--grids is required for grid workers")
    unknown = [g for g in grids if g not in load_catalog().grids]
    if unknown:
        raise UsageError(f"unknown grid(s): {', '.join(unknown)}")
    return grids


def _describe(invite: Invite) -> str:
    scope = invite.department or ",".join(invite.grids) or "-"
    used = f"used by {invite.used_by} at {invite.used_at:%Y-%m-%d %H:%M}" if invite.used_at else "unused"
    name = f" for {invite.display_name}" if invite.display_name else ""
    lead = " (lead)" if invite.lead else ""
    return f"{invite.code}  {invite.role}{lead}  {scope}{name}  expires {invite.expires_at:%Y-%m-%d %H:%M} UTC  {used}"


async def _add_person(db: Database, args: argparse.Namespace, role: Role, at: datetime, out: TextIO) -> None:
    department = _check_department(getattr(args, "department", None), role)
    grids = _check_grids(getattr(args, "grids", None), role)
    lead = bool(getattr(args, "lead", False))
    if args.telegram_id:
        identity = ChannelIdentity("telegram", str(args.telegram_id), str(args.telegram_id))
        async with db.uow() as uow:
            person = await uow.people.by_identity("telegram", identity.external_user_id)
            if person is None:
                person = Person(
                    id=str(uuid.uuid4()), display_name=args.name, created_at=at, identities=[identity]
                )
            person.display_name = args.name
            person.phone = args.phone or person.phone
            person.grant(role, department=department, grids=grids, lead=lead)
            await uow.people.save(person)
            await uow.commit(at)
        print(
            f"added {args.name} as {role} ({department or ','.join(grids) or '-'}), person id {person.id}",
            file=out,
        )
        return
    invite = await create_invite(
        db,
        role,
        at,
        ttl=timedelta(hours=args.ttl_hours),
        department=department,
        grids=grids,
        lead=lead,
        display_name=args.name,
        created_by="admin-cli",
    )
    print(f"invite code for {args.name}: {invite.code}", file=out)
    print(
        f"ask {args.name} to send the bot:  /start {invite.code}   (valid until {invite.expires_at:%Y-%m-%d %H:%M} UTC)",
        file=out,
    )


async def _run(args: argparse.Namespace, url: str, at: datetime, out: TextIO) -> int:
    db = await Database.open(url)
    try:
        if args.group == "invite" and args.action == "create":
            role = ROLE_NAMES[args.role]
            invite = await create_invite(
                db,
                role,
                at,
                ttl=timedelta(hours=args.ttl_hours),
                department=_check_department(args.department, role),
                grids=_check_grids(args.grids, role),
                lead=args.lead,
                display_name=args.name,
                created_by="admin-cli",
            )
            print(invite.code, file=out)
            print(
                f"send to the bot: /start {invite.code}  (valid until {invite.expires_at:%Y-%m-%d %H:%M} UTC)",
                file=out,
            )
        elif args.group == "invite":
            async with db.uow(read_only=True) as uow:
                invites = await uow.invites.list(include_used=args.all)
            for invite in invites:
                print(_describe(invite), file=out)
            if not invites:
                print("no invites", file=out)
        elif args.group == "staff" and args.action == "list":
            async with db.uow(read_only=True) as uow:
                people = [
                    *(await uow.people.with_role(Role.DEPT_STAFF)),
                    *(await uow.people.with_role(Role.DISPATCHER)),
                    *(await uow.people.with_role(Role.GRID_WORKER)),
                ]
            for p in {p.id: p for p in people}.values():
                roles = ",".join(sorted(str(r) for r in p.roles if r is not Role.RESIDENT))
                chats = ",".join(f"{i.channel}:{i.external_user_id}" for i in p.identities) or "-"
                where = p.department or ",".join(p.grids) or "-"
                print(
                    f"{p.display_name}\t{roles}{' (lead)' if p.is_department_lead else ''}\t{where}\t{chats}",
                    file=out,
                )
            if not people:
                print("no staff yet", file=out)
        else:
            role = {"staff": Role.DEPT_STAFF, "gridworker": Role.GRID_WORKER, "dispatcher": Role.DISPATCHER}[
                args.group
            ]
            await _add_person(db, args, role, at, out)
    finally:
        await db.dispose()
    return 0


def main(argv: Sequence[str], *, out: TextIO | None = None, now: datetime | None = None) -> int:
    """Run one admin command; returns the process exit status (0 ok, 2 usage error)."""
    out = out or sys.stdout
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    try:
        return asyncio.run(_run(args, url, now or datetime.now(UTC), out))
    except (UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
