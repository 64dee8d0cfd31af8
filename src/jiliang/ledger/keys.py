"""The platform's checkpoint keys: Ed25519 (always) and SM2/SM3 (when national algorithms are asked
for). They live beside the institutions' keys (data dir, `signing_keys`), are published with them,
rotate the same way, and can be marked compromised from a moment on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from ..audit import record_event
from ..auth import Actor
from ..certificates.queries import forget_public_keys
from ..certificates.signing import ED25519, SM2_SM3, Signer, generate_key, load_signer
from ..certificates.tables import signing_keys
from ..db import UnitOfWork
from ..errors import NotFound
from ..types import utcnow
from .append import track
from .note import NoteVerifier, SigType

__all__ = [
    "PLATFORM",
    "PLATFORM_SM2",
    "ensure_platform_keys",
    "rotate_platform_key",
    "mark_compromised",
    "platform_signers",
    "checkpoint_verifiers",
]

PLATFORM = "platform"  # owner of the Ed25519 checkpoint key
PLATFORM_SM2 = "platform-sm2"


def _add_key(uow: UnitOfWork, owner: str, algorithm: str) -> str:
    info = generate_key(uow.platform.settings.data_dir, owner, algorithm)
    now, conn = utcnow(), uow.conn
    active = (
        conn.execute(
            select(signing_keys.c.kid).where(signing_keys.c.owner == owner, signing_keys.c.retired_at.is_(None))
        )
        .scalars()
        .all()
    )
    conn.execute(update(signing_keys).where(signing_keys.c.kid.in_(active)).values(retired_at=now))
    conn.execute(
        insert(signing_keys).values(
            kid=info.kid, owner=owner, algorithm=algorithm, public_key_pem=info.public_key_pem, created_at=now
        )
    )
    track(uow, "signing_key", active)
    track(uow, "signing_key", [info.kid], new=True)
    return info.kid


def _active(conn: Connection, owner: str) -> str | None:
    return conn.execute(
        select(signing_keys.c.kid).where(signing_keys.c.owner == owner, signing_keys.c.retired_at.is_(None))
    ).scalar_one_or_none()


def ensure_platform_keys(uow: UnitOfWork) -> int:
    settings = uow.platform.settings
    wanted = [(PLATFORM, ED25519)] + ([(PLATFORM_SM2, SM2_SM3)] if settings.ledger_sm2 else [])
    with uow:
        made = [_add_key(uow, owner, alg) for owner, alg in wanted if _active(uow.conn, owner) is None]
        uow.commit()
        return len(made)


def rotate_platform_key(uow: UnitOfWork, actor: Actor, sm2: bool = False) -> str:
    actor.require("admin")
    owner, alg = (PLATFORM_SM2, SM2_SM3) if sm2 else (PLATFORM, ED25519)
    with uow:
        old = _active(uow.conn, owner)
        kid = _add_key(uow, owner, alg)
        record_event(uow, actor.user_id, "key.rotated", "signing_key", kid, {"kid": old}, {"kid": kid})
        uow.commit()
        return kid


def mark_compromised(uow: UnitOfWork, actor: Actor, kid: str, since: datetime) -> str | None:
    """Whatever `kid` signed from `since` on is flagged by verifiers and the auditor. If it was still
    in use it is replaced at once by a fresh key, whose kid is returned."""
    from ..certificates.keys import replace_institution_key

    actor.require("admin")
    with uow:
        row = uow.conn.execute(select(signing_keys).where(signing_keys.c.kid == kid)).first()
        if row is None:
            raise NotFound(f"没有密钥 {kid} / no key {kid}")
        replacement = None
        if row.retired_at is None:
            if row.owner in (PLATFORM, PLATFORM_SM2):
                replacement = _add_key(uow, row.owner, row.algorithm)
            else:
                replacement = replace_institution_key(uow, row.owner, row.algorithm)
        uow.conn.execute(update(signing_keys).where(signing_keys.c.kid == kid).values(compromised_from=since))
        track(uow, "signing_key", [kid])
        record_event(
            uow,
            actor.user_id,
            "key.compromised",
            "signing_key",
            kid,
            None,
            {"since": since.isoformat(), "replacement": replacement},
        )
        uow.commit()
    forget_public_keys()
    return replacement


def platform_signers(conn: Connection, settings: object) -> list[tuple[SigType, Signer]]:
    """(note signature type, signer) of the active platform keys."""
    out: list[tuple[SigType, Signer]] = []
    pairs: tuple[tuple[str, SigType], ...] = ((PLATFORM, "ed25519"), (PLATFORM_SM2, "sm2-sm3"))
    for owner, sig_type in pairs:
        kid = _active(conn, owner)
        if kid is not None:
            out.append((sig_type, load_signer(settings.data_dir, kid)))  # type: ignore[attr-defined]
    return out


def checkpoint_verifiers(conn: Connection, origin: str) -> dict[str, tuple[NoteVerifier, object]]:
    """Every platform key ever used, by kid: its note verifier and its row (for compromise dates)."""
    rows = conn.execute(select(signing_keys).where(signing_keys.c.owner.in_((PLATFORM, PLATFORM_SM2)))).all()
    return {
        r.kid: (NoteVerifier(origin, "ed25519" if r.owner == PLATFORM else "sm2-sm3", r.public_key_pem, r.kid), r)
        for r in rows
    }
