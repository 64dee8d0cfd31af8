"""Who is acting: password hashing, API tokens, roles, and the password re-entry that signs a step."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, delete, insert, select

from .errors import Forbidden, Unauthenticated
from .registry.tables import api_tokens, users
from .types import utcnow

__all__ = [
    "ROLES",
    "Actor",
    "Confirmation",
    "hash_password",
    "check_password",
    "login",
    "actor_for_token",
    "load_actor",
    "confirm_password",
]

ROLES = ("verifier", "checker", "approver", "lab_manager", "regulator", "owner_user", "admin")

# scrypt (RFC 7914) from the standard library; argon2id comes with the hardening work.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


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
            raise Forbidden(f"需要角色 {' / '.join(roles)} / this needs the role {' or '.join(roles)}")


@dataclass(frozen=True)
class Confirmation:
    """Proof that the actor re-entered their password for this signing step (or batch of steps)."""

    actor: Actor


def _actor_from_row(row: object) -> Actor:
    r = row._mapping  # type: ignore[attr-defined]
    return Actor(
        user_id=r["id"],
        username=r["username"],
        display_name=r["display_name"],
        roles=frozenset(r["roles"].split()),
        institution_id=r["institution_id"],
        regulator_id=r["regulator_id"],
        owner_id=r["owner_id"],
    )


def load_actor(conn: Connection, user_id: int) -> Actor:
    row = conn.execute(select(users).where(users.c.id == user_id, users.c.active.is_(True))).first()
    if row is None:
        raise Unauthenticated("账号不存在或已停用 / unknown or disabled account")
    return _actor_from_row(row)


def login(conn: Connection, username: str, password: str, ttl_minutes: int) -> tuple[str, Actor]:
    """Check the password and store a new API token (only its SHA-256 is kept)."""
    row = conn.execute(select(users).where(users.c.username == username, users.c.active.is_(True))).first()
    if row is None or not check_password(password, row.password_hash):
        raise Unauthenticated("用户名或密码错误 / wrong username or password")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    conn.execute(delete(api_tokens).where(api_tokens.c.expires_at < now))
    conn.execute(
        insert(api_tokens).values(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            user_id=row.id,
            expires_at=now + timedelta(minutes=ttl_minutes),
        )
    )
    return token, _actor_from_row(row)


def actor_for_token(conn: Connection, token: str) -> Actor:
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = conn.execute(
        select(users)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == digest, api_tokens.c.expires_at > utcnow(), users.c.active.is_(True))
    ).first()
    if row is None:
        raise Unauthenticated("登录已失效，请重新登录 / token invalid or expired, log in again")
    return _actor_from_row(row)


def confirm_password(conn: Connection, actor: Actor, password: str) -> Confirmation:
    stored = conn.execute(select(users.c.password_hash).where(users.c.id == actor.user_id)).scalar_one()
    if not check_password(password, stored):
        raise Forbidden("签名确认失败：密码错误 / signing refused: the password is wrong", rule="password_confirmation")
    return Confirmation(actor)
