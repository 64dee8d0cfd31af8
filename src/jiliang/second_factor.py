"""A second factor at login: a time-based one-time code (TOTP, RFC 6238: 6 digits, 30 s, SHA-1, what
every authenticator app reads from the QR code). Optional for anyone, meant for approvers and
administrators, whose signatures and grants matter most. Enrolment is pending until a first code
confirms it; a code is accepted once (its time step is remembered); wrong codes count toward the
account's lock like wrong passwords. Enabling, disabling and an administrator's reset (a lost phone)
are audit events; the factor is ledgered with its secret as a digest only."""

from __future__ import annotations

from typing import Any

import pyotp
from sqlalchemy import Connection, delete, insert, select, update

from .errors import NotFound, RuleViolation, Unauthenticated
from .registry.tables import second_factors, users
from .types import utcnow

__all__ = ["ISSUER", "enrol", "confirm", "disable", "reset", "enabled", "accept_code", "SecondFactorRequired"]

ISSUER = "jiliang 计量"
_STEP = 30


class SecondFactorRequired(Unauthenticated):
    """The password was right and the account asks for its one-time code too."""

    rule = "totp_required"


def _step(at: float) -> int:
    return int(at // _STEP)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow().timestamp()
    for drift in (0, -1, 1):
        at = now + drift * _STEP
        if totp.verify(code, for_time=at, valid_window=0):
            return _step(at)
    return None


def enabled(conn: Connection, user_id: int) -> bool:
    return (
        conn.execute(
            select(second_factors.c.user_id).where(
                second_factors.c.user_id == user_id, second_factors.c.confirmed_at.is_not(None)
            )
        ).first()
        is not None
    )


def enrol(platform: Any, actor: Any) -> tuple[str, str]:
    """A new secret, pending until confirmed (the caller has checked the password): the secret and
    the otpauth:// URI the QR code carries."""
    from .audit import record_event
    from .ledger.append import track

    uow = platform.uow()
    with uow:
        if enabled(uow.conn, actor.user_id):
            raise RuleViolation("已启用动态验证码，请先停用 / a second factor is already on: turn it off first")
        secret = pyotp.random_base32()
        uow.conn.execute(delete(second_factors).where(second_factors.c.user_id == actor.user_id))
        uow.conn.execute(insert(second_factors).values(user_id=actor.user_id, secret=secret))
        track(uow, "second_factor", [actor.user_id])
        record_event(uow, actor.user_id, "user.totp_pending", "user", actor.user_id, None, {"scheme": "TOTP"})
        uow.commit()
    return secret, pyotp.TOTP(secret).provisioning_uri(name=actor.username, issuer_name=ISSUER)


def confirm(platform: Any, actor: Any, code: str) -> None:
    from .audit import record_event
    from .ledger.append import track

    uow = platform.uow()
    with uow:
        row = uow.conn.execute(select(second_factors).where(second_factors.c.user_id == actor.user_id)).first()
        if row is None or row.confirmed_at is not None:
            raise RuleViolation("没有待确认的动态验证码 / no second factor is waiting for confirmation")
        step = _matching_step(row.secret, code)
        if step is None:
            raise Unauthenticated("动态验证码错误 / the one-time code is wrong", rule="totp_wrong")
        values = {"confirmed_at": utcnow(), "last_step": step}
        uow.conn.execute(update(second_factors).where(second_factors.c.user_id == actor.user_id).values(**values))
        track(uow, "second_factor", [actor.user_id])
        record_event(uow, actor.user_id, "user.totp_enabled", "user", actor.user_id, None, {"scheme": "TOTP"})
        uow.commit()


def _remove(platform: Any, actor_id: int, user_id: int, action: str) -> None:
    from .audit import record_event
    from .ledger.append import track

    uow = platform.uow()
    with uow:
        gone = uow.conn.execute(delete(second_factors).where(second_factors.c.user_id == user_id)).rowcount
        if not gone:
            raise NotFound("未启用动态验证码 / no second factor is on")
        track(uow, "second_factor", [user_id])
        record_event(uow, actor_id, action, "user", user_id, {"scheme": "TOTP"}, None)
        uow.commit()


def disable(platform: Any, actor: Any, code: str) -> None:
    """The user turns it off (the caller has checked the password), with a current code."""
    with platform.engine.connect() as conn:
        row = conn.execute(select(second_factors).where(second_factors.c.user_id == actor.user_id)).first()
    if row is not None and row.confirmed_at is not None and _matching_step(row.secret, code) is None:
        raise Unauthenticated("动态验证码错误 / the one-time code is wrong", rule="totp_wrong")
    _remove(platform, actor.user_id, actor.user_id, "user.totp_disabled")


def reset(platform: Any, admin: Any, user_id: int) -> None:
    """An administrator removes a user's factor (a lost phone); the user logs in with the password."""
    admin.require("admin")
    with platform.engine.connect() as conn:
        if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
            raise NotFound("没有这个用户 / no such user")
    _remove(platform, admin.user_id, user_id, "user.totp_reset")


def accept_code(conn: Connection, user_id: int, code: str | None) -> bool | None:
    """At login, in the login's transaction: None when the account has no factor on; otherwise
    whether `code` is a current code not used before (and then it is used up)."""
    row = conn.execute(select(second_factors).where(second_factors.c.user_id == user_id)).first()
    if row is None or row.confirmed_at is None:
        return None
    if not code:
        raise SecondFactorRequired("请输入动态验证码 / enter the one-time code from your authenticator app")
    step = _matching_step(row.secret, code)
    if step is None:
        return False
    used = second_factors.c.last_step.is_(None) | (second_factors.c.last_step < step)  # atomic: once only
    stmt = update(second_factors).where(second_factors.c.user_id == user_id, used).values(last_step=step)
    return conn.execute(stmt).rowcount == 1
