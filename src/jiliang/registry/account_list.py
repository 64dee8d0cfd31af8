"""Accounts as their managers read them: a page of accounts at a time (listing.Keyset on the id),
searched by username or name and filtered by role — every account for an administrator, their own institution's
staff for a lab manager — and one account with its organisation, second factor and lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, literal, select

from ..auth import ROLES, Actor
from ..listing import Keyset, KeysetPage, contains
from ..types import utcnow
from .accounts import managed_account
from .tables import account_locks, institutions, owners, regulators, second_factors, users

__all__ = [
    "AccountRow",
    "AccountDetail",
    "Organisations",
    "list_accounts",
    "account_detail",
    "organisation_choices",
]


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    active: bool
    organisation: tuple[str, str] | None  # (Chinese, English) name of its institution, regulator or owner
    institution_code: str | None


@dataclass(frozen=True, slots=True)
class AccountDetail:
    account: AccountRow
    institution_id: int | None
    regulator_id: int | None
    owner_id: int | None
    second_factor: bool
    locked_until: datetime | None


_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.roles,
    users.c.active,
    users.c.institution_id,
    users.c.regulator_id,
    users.c.owner_id,
    institutions.c.code.label("institution_code"),
    institutions.c.name_zh.label("institution_zh"),
    institutions.c.name_en.label("institution_en"),
    regulators.c.name_zh.label("regulator_zh"),
    regulators.c.name_en.label("regulator_en"),
    owners.c.name.label("owner_name"),
)
_FROM = (
    users.outerjoin(institutions, institutions.c.id == users.c.institution_id)
    .outerjoin(regulators, regulators.c.id == users.c.regulator_id)
    .outerjoin(owners, owners.c.id == users.c.owner_id)
)


def _row(r: Any) -> AccountRow:
    if r.institution_zh is not None:
        organisation: tuple[str, str] | None = (r.institution_zh, r.institution_en)
    elif r.regulator_zh is not None:
        organisation = (r.regulator_zh, r.regulator_en)
    elif r.owner_name is not None:
        organisation = (r.owner_name, r.owner_name)  # an owner's own name, as it registered
    else:
        organisation = None
    roles = tuple(sorted(r.roles.split(), key=lambda role: ROLES.index(role) if role in ROLES else len(ROLES)))
    return AccountRow(r.id, r.username, r.display_name, roles, bool(r.active), organisation, r.institution_code)


def list_accounts(
    conn: Connection, actor: Actor, at: Keyset, search: str = "", role: str = ""
) -> KeysetPage[AccountRow]:
    """The page `at` of the accounts in id order, those whose username or name contains `search` (any
    case) and who hold `role` (all when empty)."""
    if not actor.has("admin"):
        actor.require("lab_manager")
    q = select(*_COLUMNS).select_from(_FROM)
    if not actor.has("admin"):
        q = q.where(
            users.c.institution_id == actor.institution_id, users.c.regulator_id.is_(None), users.c.owner_id.is_(None)
        )
    matching = contains(search, users.c.username, users.c.display_name)
    if matching is not None:
        q = q.where(matching)
    if role:
        q = q.where(literal(" ").concat(users.c.roles).concat(" ").contains(f" {role} ", autoescape=True))
    return at.fetch(conn, q, users.c.id, _row)


def account_detail(conn: Connection, actor: Actor, user_id: int) -> AccountDetail:
    """One account the actor manages (accounts.managed_account: NotFound for any other)."""
    managed_account(conn, actor, user_id)
    r = conn.execute(select(*_COLUMNS).select_from(_FROM).where(users.c.id == user_id)).one()
    factor = conn.execute(
        select(second_factors.c.user_id).where(
            second_factors.c.user_id == user_id, second_factors.c.confirmed_at.is_not(None)
        )
    ).first()
    until = conn.execute(select(account_locks.c.locked_until).where(account_locks.c.user_id == user_id)).scalar()
    return AccountDetail(
        _row(r),
        r.institution_id,
        r.regulator_id,
        r.owner_id,
        factor is not None,
        until if until is not None and until > utcnow() else None,
    )


@dataclass(frozen=True, slots=True)
class Organisations:
    institutions: list[tuple[int, str, str]]  # (id, Chinese name, English name)
    regulators: list[tuple[int, str, str]]


def organisation_choices(conn: Connection, actor: Actor) -> Organisations:
    """Where the actor may make an account: any institution or bureau (an administrator), or their own
    institution (a lab manager)."""
    if not actor.has("admin"):
        actor.require("lab_manager")
    inst = select(institutions.c.id, institutions.c.name_zh, institutions.c.name_en).order_by(institutions.c.id)
    if not actor.has("admin"):
        inst = inst.where(institutions.c.id == actor.institution_id)
    regs = select(regulators.c.id, regulators.c.name_zh, regulators.c.name_en).order_by(regulators.c.id)
    return Organisations(
        [(r.id, r.name_zh, r.name_en) for r in conn.execute(inst)],
        [(r.id, r.name_zh, r.name_en) for r in conn.execute(regs)] if actor.has("admin") else [],
    )
