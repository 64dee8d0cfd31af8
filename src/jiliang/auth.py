"""Who is acting: password hashing (argon2id; older scrypt hashes are upgraded at the next login), API
tokens, roles, and the password re-entry that signs a step. Wrong passwords are counted per account,
at login and at signing alike: after `login_max_failures` in a row the account is locked for
`login_lock_minutes`, and the lock is an audit event. An unknown username costs the same work as a
known one, so the answer's timing does not tell which names exist."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from .errors import Forbidden, JiliangError, Unauthenticated
from .ledger.mac import LedgerMacKey
from .ledger.tables import ledger_head
from .registry.tables import account_locks, api_tokens, users
from .tokens import new_token, sealed, token_digest
from .types import utcnow

__all__ = [
    "ROLES",
    "Actor",
    "Confirmation",
    "hash_password",
    "check_password",
    "authenticate",
    "AccountLocked",
    "LoginPolicy",
    "actor_for_token",
    "load_actor",
    "confirm_password",
]

ROLES = ("verifier", "checker", "approver", "lab_manager", "regulator", "owner_user", "admin")
# a role as a refusal names it, in both languages (the pages' labels are web.i18n.ROLE_LABELS)
_ROLE_NAMES = {
    "verifier": ("检定员", "verifier"),
    "checker": ("核验员", "checker"),
    "approver": ("批准人", "approver"),
    "lab_manager": ("实验室主任", "lab manager"),
    "regulator": ("市场监管部门", "regulator"),
    "owner_user": ("使用单位", "instrument owner"),
    "admin": ("系统管理员", "administrator"),
}

# argon2id with the OWASP minimum (19 MiB, 2 passes): about 60 ms here
_ARGON2 = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_password(password: str) -> str:
    return _ARGON2.hash(password)


def check_password(password: str, stored: str) -> bool:
    if stored.startswith("$argon2"):
        try:
            return _ARGON2.verify(stored, password)
        except (VerificationError, InvalidHashError):  # VerifyMismatchError is a VerificationError
            return False
    return _check_scrypt(password, stored)


def _check_scrypt(password: str, stored: str) -> bool:
    """The scrypt (RFC 7914) hashes of earlier versions, until their owners next log in."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def _needs_rehash(stored: str) -> bool:
    return not stored.startswith("$argon2id$") or _ARGON2.check_needs_rehash(stored)


@cache
def _decoy() -> str:
    """A hash checked for unknown usernames and locked accounts, so every answer costs the same."""
    return _ARGON2.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lock_minutes: int = 15


_policy = LoginPolicy()


def configure(policy: LoginPolicy) -> None:
    """The platform's settings (JILIANG_LOGIN_MAX_FAILURES, JILIANG_LOGIN_LOCK_MINUTES)."""
    global _policy
    _policy = policy


class AccountLocked(JiliangError):
    status = 429
    rule = "account_locked"


_WRONG = "用户名或密码错误 / wrong username or password"
_WRONG_CODE = "动态验证码错误或已用过 / the one-time code is wrong or was used already"


def _lock_state(conn: Connection, user_id: int) -> tuple[int, datetime | None]:
    """Wrong passwords in a row, and the lock's end while it holds."""
    row = conn.execute(
        select(account_locks.c.failures, account_locks.c.locked_until).where(account_locks.c.user_id == user_id)
    ).first()
    if row is None:
        return 0, None
    return row.failures, row.locked_until if row.locked_until is not None and row.locked_until > utcnow() else None


def _locked_until(conn: Connection, user_id: int) -> datetime | None:
    return _lock_state(conn, user_id)[1]


def _refuse_locked(until: datetime) -> AccountLocked:
    when = f"{until:%Y-%m-%d %H:%M} UTC"
    return AccountLocked(
        f"密码多次错误，账号已锁定至 {when} / too many wrong passwords: the account is locked until {when}"
    )


def _count_failure(engine: Engine, user_id: int, where: str, platform: Any = None) -> datetime | None:
    """One more wrong password, in its own transaction (the caller's is rolled back by the refusal);
    the lock when this one reaches the limit, with its audit event (ledgered under the platform's MAC
    key, hence the platform)."""
    from .audit import record_event
    from .db import UnitOfWork

    uow = platform.uow() if platform is not None else UnitOfWork(engine)
    with uow:
        now = utcnow()
        row = uow.conn.execute(select(account_locks).where(account_locks.c.user_id == user_id)).first()
        expired = row is not None and row.locked_until is not None and row.locked_until <= now
        failures = 1 if row is None or expired else row.failures + 1
        until = now + timedelta(minutes=_policy.lock_minutes) if failures >= _policy.max_failures else None
        values = {"failures": failures, "locked_until": until}
        if row is None:
            uow.conn.execute(insert(account_locks).values(user_id=user_id, **values))
        else:
            uow.conn.execute(update(account_locks).where(account_locks.c.user_id == user_id).values(**values))
        if until is not None:
            record_event(
                uow, None, "user.locked", "user", user_id, None, {"failures": failures, "until": until, "at": where}
            )
        uow.commit()
    return until


def _clear_failures(conn: Connection, user_id: int) -> None:
    conn.execute(delete(account_locks).where(account_locks.c.user_id == user_id))


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    display_name: str
    roles: frozenset[str]
    institution_id: int | None
    regulator_id: int | None
    owner_id: int | None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: str) -> None:
        if not self.has(*roles):
            zh = "或".join(_ROLE_NAMES.get(r, (r, r))[0] for r in roles)
            en = " or ".join(_ROLE_NAMES.get(r, (r, r))[1] for r in roles)
            raise Forbidden(f"需要{zh}角色 / this needs the role of {en}")


@dataclass(frozen=True)
class Confirmation:
    """Proof that the actor re-entered their password for this signing step (or batch of steps)."""

    actor: Actor


_GRANT = (api_tokens.c.user_id, api_tokens.c.expires_at, api_tokens.c.label, api_tokens.c.scope, api_tokens.c.seal)


def _actor_from_row(r: Any) -> Actor:
    """From a row of `users` (or one that begins with its columns), by attribute: SQLAlchemy's or the
    driver's own named tuples (page_cache)."""
    return Actor(
        user_id=r.id,
        username=r.username,
        display_name=r.display_name,
        roles=frozenset(r.roles.split()),
        institution_id=r.institution_id,
        regulator_id=r.regulator_id,
        owner_id=r.owner_id,
    )


def load_actor(conn: Connection, user_id: int) -> Actor:
    row = conn.execute(select(users).where(users.c.id == user_id, users.c.active.is_(True))).first()
    if row is None:
        raise Unauthenticated("账号不存在或已停用 / unknown or disabled account")
    return _actor_from_row(row)


class _WrongCode(Exception):
    pass


def authenticate(
    platform: Any, username: str, password: str, ttl_minutes: int, code: str | None = None
) -> tuple[str, Actor]:
    """Check the password (and the one-time code, when the account has a second factor on) and store
    a new session token (only its SHA-256 is kept, sealed). The slow hash is checked outside any write
    transaction; a wrong password or code is counted in its own."""
    engine: Engine = platform.engine
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username, users.c.active.is_(True))).first()
        until = None if row is None else _locked_until(conn, row.id)
        conn.rollback()
    if row is None or until is not None:
        check_password(password, _decoy())  # the same work as for a real account
        if until is not None:
            raise _refuse_locked(until)
        raise Unauthenticated(_WRONG)
    if not check_password(password, row.password_hash):
        locked = _count_failure(engine, row.id, "login", platform)
        raise _refuse_locked(locked) if locked else Unauthenticated(_WRONG)
    from .audit import record_event
    from .ledger.append import track
    from .second_factor import accept_code

    uow = platform.uow()  # with the platform: the rehash's leaf carries the ledger MAC
    try:
        with uow:
            if accept_code(uow.conn, row.id, code) is False:
                raise _WrongCode
            _clear_failures(uow.conn, row.id)
            if _needs_rehash(row.password_hash):  # scrypt of earlier versions → argon2id; the hash never leaves
                new_hash = hash_password(password)
                uow.conn.execute(update(users).where(users.c.id == row.id).values(password_hash=new_hash))
                track(uow, "user", [row.id])  # the ledger holds the new hash's digest, never the hash
                record_event(uow, row.id, "user.password_rehashed", "user", row.id, None, {"scheme": "argon2id"})
            token = new_token(uow.conn, row.id, ttl_minutes, platform.ledger_mac)[0]
            uow.commit()
    except _WrongCode:
        locked = _count_failure(engine, row.id, "second factor", platform)
        if locked:
            raise _refuse_locked(locked) from None
        raise Unauthenticated(
            "动态验证码错误或已用过 / the one-time code is wrong or used", rule="totp_wrong"
        ) from None
    return token, _actor_from_row(row)


# built once: every API request runs it
_TOKEN_ROW = (
    select(users, api_tokens.c.token_hash, *_GRANT)
    .join(api_tokens, api_tokens.c.user_id == users.c.id)
    .where(api_tokens.c.token_hash == bindparam("digest"), api_tokens.c.expires_at > bindparam("now"))
    .where(users.c.active.is_(True))
)


def actor_for_token(
    conn: Connection, token: str, mac: LedgerMacKey | None, *, write: bool = True, session: bool = False
) -> Actor:
    """Whoever the token is for, if it is live and sealed by the platform. `write`: the request may
    change something, which a read-only token may not; `session`: a page's cookie, which only a
    login session may be (an API token is for programs)."""
    return _granted(conn.execute(_TOKEN_ROW, token_params(token)).first(), mac, write, session)


# the same, with the ledger's size in the same statement (page_cache: the version of a kept page)
TOKEN_ROW_AND_SIZE = _TOKEN_ROW.add_columns(
    select(ledger_head.c.size).where(ledger_head.c.id == 1).scalar_subquery().label("tree_size")
)


def token_params(token: str) -> dict[str, Any]:
    """The parameters of the token statements for `token`, at this moment."""
    return {"digest": token_digest(token), "now": utcnow()}


def reader_and_tree_size(conn: Connection, token: str, mac: LedgerMacKey | None) -> tuple[Actor, int]:
    """actor_for_token for a read, and the ledger's size as the same statement read it."""
    return granted_reader(conn.execute(TOKEN_ROW_AND_SIZE, token_params(token)).first(), mac)


def granted_reader(row: Any, mac: LedgerMacKey | None) -> tuple[Actor, int]:
    """The reader a TOKEN_ROW_AND_SIZE row grants (None: no live token), and the ledger's size it read."""
    return _granted(row, mac, False, False), int(row.tree_size or 0)


def _granted(row: Any, mac: LedgerMacKey | None, write: bool, session: bool) -> Actor:
    if row is None or not sealed(mac, row) or (session and row.label is not None):
        raise Unauthenticated("登录已失效，请重新登录 / token invalid or expired, log in again")
    if write and row.scope != "write":
        raise Forbidden("此令牌只读 / this token is read-only", rule="token_scope")
    return _actor_from_row(row)


def confirm_password(conn: Connection, actor: Actor, password: str, platform: Any = None) -> Confirmation:
    """The password re-entered to sign: wrong ones count toward the account's lock like at login
    (recorded through `platform`, whose key signs the lock's ledger entry)."""
    stored = conn.execute(select(users.c.password_hash).where(users.c.id == actor.user_id)).scalar_one()
    failures, until = _lock_state(conn, actor.user_id)
    if until is not None:
        raise _refuse_locked(until)
    if not check_password(password, stored):
        locked = _count_failure(conn.engine, actor.user_id, "signing", platform)
        if locked:
            raise _refuse_locked(locked)
        raise Forbidden("签名确认失败：密码错误 / signing refused: the password is wrong", rule="password_confirmation")
    if failures:  # the right password ends the run of wrong ones
        from .db import UnitOfWork

        with UnitOfWork(conn.engine) as uow:
            _clear_failures(uow.conn, actor.user_id)
            uow.commit()
    return Confirmation(actor)
