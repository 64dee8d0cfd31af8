"""Institution signing keys: created on `init`, rotated on request; every public key stays published."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from ..audit import record_event
from ..auth import Actor
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound
from ..ledger.append import track
from ..registry.tables import institutions
from ..types import utcnow
from .signing import ALGORITHMS, KeyEntry, KeySet, generate_key
from .tables import signing_keys

__all__ = ["ensure_institution_keys", "replace_institution_key", "rotate_key", "published_keyset"]


def _new_key(uow: UnitOfWork, institution: object, algorithm: str) -> str:
    info = generate_key(uow.platform.settings.data_dir, institution.code, algorithm)  # type: ignore[attr-defined]
    now = utcnow()
    retired = uow.conn.execute(
        select(signing_keys.c.kid).where(signing_keys.c.owner == info.owner, signing_keys.c.retired_at.is_(None))
    ).scalars()
    track(uow, "signing_key", [*retired])
    track(uow, "signing_key", [info.kid], new=True)
    uow.conn.execute(
        update(signing_keys)
        .where(signing_keys.c.owner == info.owner, signing_keys.c.retired_at.is_(None))
        .values(retired_at=now)
    )
    uow.conn.execute(
        insert(signing_keys).values(
            kid=info.kid, owner=info.owner, algorithm=info.algorithm, public_key_pem=info.public_key_pem, created_at=now
        )
    )
    uow.conn.execute(
        update(institutions)
        .where(institutions.c.id == institution.id)  # type: ignore[attr-defined]
        .values(signing_kid=info.kid, signing_algorithm=algorithm)
    )
    track(uow, "institution", [institution.id])  # type: ignore[attr-defined]
    return info.kid


def replace_institution_key(uow: UnitOfWork, institution_code: str, algorithm: str) -> str:
    """A fresh key for the institution inside the caller's transaction (the old one is retired)."""
    inst = uow.conn.execute(select(institutions).where(institutions.c.code == institution_code)).one()
    return _new_key(uow, inst, algorithm)


def ensure_institution_keys(uow: UnitOfWork) -> int:
    """Give every institution without a key a fresh one in its configured algorithm."""
    with uow:
        rows = uow.conn.execute(select(institutions).where(institutions.c.signing_kid.is_(None))).all()
        for inst in rows:
            _new_key(uow, inst, inst.signing_algorithm)
        uow.commit()
        return len(rows)


def rotate_key(uow: UnitOfWork, actor: Actor, institution_code: str, algorithm: str = "Ed25519") -> str:
    """A new key for new certificates; the old one is retired but stays published for old ones."""
    actor.require("admin")
    if algorithm not in ALGORITHMS:
        raise InvalidInput(f"签名算法必须是 {' / '.join(ALGORITHMS)} / algorithm must be one of {ALGORITHMS}")
    with uow:
        inst = uow.conn.execute(select(institutions).where(institutions.c.code == institution_code)).first()
        if inst is None:
            raise NotFound(f"没有机构 {institution_code} / no institution {institution_code}")
        kid = _new_key(uow, inst, algorithm)
        record_event(
            uow,
            actor.user_id,
            "key.rotated",
            "institution",
            inst.id,
            {"kid": inst.signing_kid},
            {"kid": kid, "algorithm": algorithm},
            inst.id,
        )
        uow.commit()
        return kid


def published_keyset(conn: Connection) -> KeySet:
    rows = conn.execute(select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.kid)).all()
    return KeySet(
        tuple(
            KeyEntry(
                kid=r.kid,
                alg=r.algorithm,
                owner=r.owner,
                public_key_pem=r.public_key_pem,
                status="retired" if r.retired_at else "active",
                not_before=r.created_at,
                not_after=r.retired_at,
                compromised_from=r.compromised_from,
            )
            for r in rows
        )
    )
