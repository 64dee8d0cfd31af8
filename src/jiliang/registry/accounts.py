"""Accounts after they are made (made in staff.py): roles changed, deactivated and reactivated, a
password reset by whoever manages the account or changed by its user. An administrator manages every
account; a lab manager the staff accounts of their own institution (an account elsewhere is not there
for them: the same answer as a missing one). No one changes their own roles or active flag — the ledger's
auditor would name it (ledger/rights.py). Each step is one transaction with its audit event and the
account's ledger leaf (the password only as its hash's digest)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, delete, select, update

from ..audit import record_event
from ..auth import ROLES, Actor, confirm_password, hash_password
from ..db import UnitOfWork, reader
from ..errors import Forbidden, InvalidInput, NotFound
from ..ledger.append import track
from ..tokens import token_digest
from .tables import account_locks, api_tokens, users

__all__ = [
    "STAFF_ROLES",
    "MIN_PASSWORD",
    "managed_account",
    "change_roles",
    "set_active",
    "reset_password",
    "change_own_password",
    "check_new_password",
    "check_roles_fit",
    "new_password",
]

STAFF_ROLES = frozenset({"verifier", "checker", "approver", "lab_manager"})  # what a lab manager may grant
MIN_PASSWORD = 8
_MISSING = "没有该账号 / no such account"
_STAFF_ONLY = "实验室主任只管理本机构检定人员的账号 / a lab manager manages the staff accounts of their own institution"
# a password read aloud or copied from a screen: no 0/o, 1/l/i
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def managed_account(conn: Connection, actor: Actor, user_id: int) -> Any:
    """The account as the actor may manage it; the role is checked first, so other roles are refused
    whatever the id, and a lab manager gets "no such account" for one outside their institution."""
    if not actor.has("admin"):
        actor.require("lab_manager")
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None or not (actor.has("admin") or _ours(actor, row)):
        raise NotFound(_MISSING)
    return row


def _ours(actor: Actor, row: Any) -> bool:
    return bool(row.institution_id == actor.institution_id and row.regulator_id is None and row.owner_id is None)


def _changeable(uow: UnitOfWork, actor: Actor, user_id: int, own: str) -> Any:
    """The account to change: managed by the actor, not their own (`own` says why), and for a lab
    manager one holding staff roles only."""
    row = managed_account(uow.conn, actor, user_id)
    if row.id == actor.user_id:
        raise Forbidden(own, rule="own_account")
    if not actor.has("admin") and not set(row.roles.split()) <= STAFF_ROLES:
        raise Forbidden(_STAFF_ONLY, rule="tenancy")
    return row


def check_roles_fit(
    roles: set[str], institution_id: int | None, regulator_id: int | None, owner_id: int | None
) -> None:
    """The roles suit the account's organisation: staff roles an institution's, the regulator role a
    bureau's, the owner role an owner's and no other."""
    unknown = sorted(roles - set(ROLES))
    if unknown:
        named = ", ".join(unknown)
        raise InvalidInput(f"没有角色 {named} / no such role: {named}", rule="roles")
    if not roles:
        raise InvalidInput("请选择至少一个有效角色 / choose at least one valid role", rule="roles")
    if ("owner_user" in roles) != (owner_id is not None):
        raise InvalidInput(
            "使用单位账号只能是使用单位角色 / an owner's account holds the owner role only", rule="roles"
        )
    if roles & STAFF_ROLES and institution_id is None:
        raise InvalidInput("检定人员角色须属于检定机构 / staff roles need an institution's account", rule="roles")
    if "regulator" in roles and regulator_id is None:
        raise InvalidInput("监管角色须属于监管部门 / the regulator role needs a regulator's account", rule="roles")


def _check_roles(actor: Actor, row: Any, roles: set[str]) -> None:
    if not actor.has("admin") and not roles <= STAFF_ROLES:
        raise Forbidden(_STAFF_ONLY, rule="tenancy")
    check_roles_fit(roles, row.institution_id, row.regulator_id, row.owner_id)


def change_roles(uow: UnitOfWork, actor: Actor, user_id: int, roles: list[str]) -> bool:
    """Gives the account exactly `roles`; False when they were its roles already (nothing written)."""
    wanted = set(roles)
    with uow:
        row = _changeable(uow, actor, user_id, "不能更改自己的角色 / you cannot change your own roles")
        _check_roles(actor, row, wanted)
        before = sorted(row.roles.split())
        if before == sorted(wanted):
            return False
        uow.conn.execute(update(users).where(users.c.id == user_id).values(roles=" ".join(sorted(wanted))))
        track(uow, "user", [user_id])
        record_event(
            uow,
            actor.user_id,
            "user.roles_changed",
            "user",
            user_id,
            {"roles": before},
            {"roles": sorted(wanted)},
            row.institution_id,
        )
        uow.commit()
    return True


def set_active(uow: UnitOfWork, actor: Actor, user_id: int, active: bool) -> bool:
    """Deactivates (its sessions and API tokens end) or reactivates the account; False when it already
    was so."""
    with uow:
        row = _changeable(uow, actor, user_id, "不能停用或启用自己的账号 / you cannot deactivate your own account")
        if bool(row.active) == active:
            return False
        uow.conn.execute(update(users).where(users.c.id == user_id).values(active=active))
        if not active:
            uow.conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id))
        track(uow, "user", [user_id])
        action = "user.reactivated" if active else "user.deactivated"
        before, after = {"active": bool(row.active)}, {"active": active}
        record_event(uow, actor.user_id, action, "user", user_id, before, after, row.institution_id)
        uow.commit()
    return True


def new_password() -> str:
    """A password to hand over once: three groups of four, from letters and digits not mistaken for each other."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))


def reset_password(uow: UnitOfWork, actor: Actor, user_id: int) -> str:
    """A new password for someone who lost theirs, returned to be shown once; their sessions and API
    tokens end and a lock from wrong passwords is lifted. The audit event never holds the password."""
    password = new_password()
    hashed = hash_password(password)  # the slow hash before the write transaction
    with uow:
        row = _changeable(
            uow, actor, user_id, "请在“我的账号”中修改自己的密码 / change your own password under My account"
        )
        uow.conn.execute(update(users).where(users.c.id == user_id).values(password_hash=hashed))
        uow.conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id))
        uow.conn.execute(delete(account_locks).where(account_locks.c.user_id == user_id))
        track(uow, "user", [user_id])
        record_event(
            uow, actor.user_id, "user.password_reset", "user", user_id, None, {"by": actor.user_id}, row.institution_id
        )
        uow.commit()
    return password


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"密码至少 {MIN_PASSWORD} 位 / the password needs at least {MIN_PASSWORD} characters", rule="password"
        )


def change_own_password(uow: UnitOfWork, actor: Actor, current: str, new: str, token: str) -> None:
    """The user sets a new password, proving the current one (a wrong one counts toward the lock). Their
    other login sessions end — whoever learnt the old password is signed out — while `token`, the one
    this change came with, and their named API tokens (each revoked on its own) go on."""
    check_new_password(new)
    if new == current:
        raise InvalidInput(
            "新密码须与当前密码不同 / the new password must differ from the current one", rule="password"
        )
    with reader(uow.engine) as conn:
        try:
            confirm_password(conn, actor, current, uow.platform)
        except Forbidden as exc:
            if exc.rule != "password_confirmation":
                raise
            raise Forbidden("当前密码错误 / the current password is wrong", rule="password_confirmation") from None
    hashed = hash_password(new)
    with uow:
        mine = update(users).where(users.c.id == actor.user_id, users.c.active.is_(True))
        if uow.conn.execute(mine.values(password_hash=hashed)).rowcount != 1:
            raise NotFound(_MISSING)
        others = (api_tokens.c.label.is_(None), api_tokens.c.token_hash != token_digest(token))
        uow.conn.execute(delete(api_tokens).where(api_tokens.c.user_id == actor.user_id, *others))
        track(uow, "user", [actor.user_id])
        uid, after = actor.user_id, {"scheme": "argon2id"}
        record_event(uow, uid, "user.password_changed", "user", uid, None, after, actor.institution_id)
        uow.commit()
