"""Bearer tokens: the session a login opens, and the named API tokens a user makes for a program,
each with a scope (`read`: GET only; `write`: whatever the user's roles allow), a lifetime and a way
to revoke it. Only a token's SHA-256 is stored, with a seal — HMAC-SHA256 under a key derived from
the ledger key in the key folder — over who it is for, its scope and its expiry: a row written with
database access alone (a token for an administrator, a longer expiry, a wider scope) is refused at
use and named by the auditor. Creating and revoking an API token are audit events."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from .errors import InvalidInput, NotFound
from .ledger.mac import LedgerMacKey
from .registry.tables import api_tokens
from .types import utcnow

__all__ = [
    "SCOPES",
    "MAX_DAYS",
    "READ_METHODS",
    "token_digest",
    "token_id",
    "new_token",
    "sealed",
    "api_token_list",
    "create_api_token",
    "revoke_api_token",
    "end_token",
    "seal_findings",
]

SCOPES = ("read", "write")
MAX_DAYS = 365  # an API token is renewed at least yearly
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_id(digest: str) -> str:
    """What a user sees and revokes a token by: the start of its digest (the token itself is shown once)."""
    return digest[:16]


def _seal_key(mac: LedgerMacKey) -> bytes:
    return hmac.new(mac.key, b"jiliang api-token seal/1", hashlib.sha256).digest()  # not the leaf key itself


def _seal(mac: LedgerMacKey, digest: str, user_id: int, scope: str, expires_at: datetime, label: str | None) -> str:
    message = "\0".join((digest, str(user_id), scope, str(int(expires_at.timestamp())), label or ""))
    return hmac.new(_seal_key(mac), message.encode(), hashlib.sha256).hexdigest()


def sealed(mac: LedgerMacKey | None, row: Any) -> bool:
    """The row was written by the platform (always true on a platform without a ledger key yet)."""
    if mac is None:
        return True
    if row.seal is None:
        return False
    want = _seal(mac, row.token_hash, row.user_id, row.scope, row.expires_at, row.label)
    return hmac.compare_digest(want, row.seal)


def new_token(
    conn: Connection,
    user_id: int,
    minutes: int,
    mac: LedgerMacKey | None,
    label: str | None = None,
    scope: str = "write",
) -> tuple[str, str, datetime, datetime]:
    """A fresh token (returned once), its stored digest, when it was made and its expiry (whole
    seconds, as sealed)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    conn.execute(delete(api_tokens).where(api_tokens.c.expires_at < now))
    digest = token_digest(token)
    expires = (now + timedelta(minutes=minutes)).replace(microsecond=0)
    conn.execute(
        insert(api_tokens).values(
            token_hash=digest,
            user_id=user_id,
            expires_at=expires,
            label=label,
            scope=scope,
            created_at=now,
            seal=None if mac is None else _seal(mac, digest, user_id, scope, expires, label),
        )
    )
    return token, digest, now, expires


def _listed(row: Any) -> dict[str, Any]:
    return {
        "id": token_id(row.token_hash),
        "label": row.label,
        "scope": row.scope,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
    }


def api_token_list(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """A user's live API tokens (not their login sessions), newest first."""
    rows = conn.execute(
        select(api_tokens)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.label.is_not(None), api_tokens.c.expires_at > utcnow())
        .order_by(api_tokens.c.created_at.desc())
    )
    return [_listed(r) for r in rows]


def create_api_token(platform: Any, actor: Any, label: str, scope: str, days: int) -> tuple[str, dict[str, Any]]:
    """A named token for a program: shown once; the audit event names it by its id, never the token."""
    from .audit import record_event

    label = label.strip()
    if not label:
        raise InvalidInput("请为令牌命名 / name the token", rule="label")
    if scope not in SCOPES:
        raise InvalidInput(f"范围应为 {' / '.join(SCOPES)} / scope must be read or write", rule="scope")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"有效期应为 1–{MAX_DAYS} 天 / valid for 1 to {MAX_DAYS} days", rule="days")
    uow = platform.uow()
    with uow:
        token, digest, made, expires = new_token(
            uow.conn, actor.user_id, days * 24 * 60, platform.ledger_mac, label, scope
        )
        listed = {"id": token_id(digest), "label": label, "scope": scope, "created_at": made, "expires_at": expires}
        after = {"id": listed["id"], "label": label, "scope": scope, "expires_at": expires}
        record_event(uow, actor.user_id, "api_token.created", "user", actor.user_id, None, after)
        uow.commit()
    return token, listed


def revoke_api_token(platform: Any, actor: Any, tid: str) -> None:
    """Revoke one of the actor's API tokens (an administrator: anyone's). Another user's token is
    answered as unknown, so an id is never confirmed."""
    from .audit import record_event

    if len(tid) != 16 or any(c not in "0123456789abcdef" for c in tid):
        raise NotFound("没有这个令牌 / no such token")
    uow = platform.uow()
    with uow:
        stmt = select(api_tokens).where(api_tokens.c.token_hash.startswith(tid), api_tokens.c.label.is_not(None))
        if not actor.has("admin"):
            stmt = stmt.where(api_tokens.c.user_id == actor.user_id)
        rows = uow.conn.execute(stmt).fetchall()
        if len(rows) != 1:
            raise NotFound("没有这个令牌 / no such token")
        row = rows[0]
        uow.conn.execute(delete(api_tokens).where(api_tokens.c.token_hash == row.token_hash))
        before = {"id": tid, "label": row.label, "scope": row.scope, "user_id": row.user_id}
        record_event(uow, actor.user_id, "api_token.revoked", "user", row.user_id, before, None)
        uow.commit()


def end_token(conn: Connection, token: str) -> None:
    """Log out: the session's token is gone."""
    conn.execute(delete(api_tokens).where(api_tokens.c.token_hash == token_digest(token)))


def seal_findings(conn: Connection, mac: LedgerMacKey | None) -> list[Any]:
    """Token rows the platform did not write: each grants whoever holds it a user's rights."""
    from .ledger.auditor import Finding

    return [
        Finding(
            "api_tokens",
            token_id(row.token_hash),
            "unsigned",
            f"a token for user {row.user_id} that the platform's key did not seal (written with database access alone)",
        )
        for row in conn.execute(select(api_tokens).order_by(api_tokens.c.token_hash))
        if not sealed(mac, row)
    ]
