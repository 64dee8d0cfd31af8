"""Reading certificates: the private views (tenancy-checked) and the public QR-code views."""

from __future__ import annotations

import base64
import hmac
import time
from datetime import date
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, bindparam, select, true

from ..auth import Actor
from ..errors import NotFound
from ..listing import Page
from ..registry.access import instrument_filter
from ..registry.tables import institutions, instruments
from .service import status_on
from .signing import verify_signature
from .tables import certificates, signing_keys

__all__ = [
    "certificate_summary",
    "certificates_page",
    "list_certificates",
    "visible_clause",
    "get_certificate",
    "public_status",
    "current_certificate_number",
    "public_facts",
    "public_certificate",
    "signature_valid",
    "PUBLIC_FIELDS",
]

PUBLIC_FIELDS = (
    "number",
    "kind",
    "instrument_name",
    "instrument_type",
    "serial_no",
    "institution",
    "verification_date",
    "valid_until",
    "conclusion",
    "status",
    "signature_valid",
    # what the signed certificate says of its rules (standing): advisory flag, tests, limits' sources
    "advisory",
    "advisory_note",
    "tests",
    "rules",
)

# kid -> (alg, pem, compromised_from, read at): keys never change, but a key can be reported
# compromised, so the entry is read again after a minute
_public_keys: dict[str, tuple[str, str, Any, float]] = {}
_KEY_REFRESH_SECONDS = 60.0


def visible_clause(conn: Connection, actor: Actor) -> ColumnElement[bool]:
    """Which certificates the actor may see: an owner its own, an institution the ones it issued, a
    regulator those of instruments in its jurisdiction, an administrator all."""
    if actor.has("admin"):
        return true()
    if actor.owner_id is not None and not actor.institution_id:
        return certificates.c.owner_id == actor.owner_id
    if actor.institution_id is not None:
        return certificates.c.institution_id == actor.institution_id
    return certificates.c.instrument_id.in_(select(instruments.c.id).where(instrument_filter(conn, actor)))


def _visible(conn: Connection, actor: Actor) -> Any:
    return select(certificates).where(visible_clause(conn, actor))


def _newest_first(
    q: Select[Any], institution_code: str | None, limit: int, offset: int, before: int | None
) -> Select[Any]:
    """Newest first: those issued before the id `before` (keyset), or past `offset` rows."""
    if before is not None:
        q, offset = q.where(certificates.c.id < before), 0
    if institution_code:
        q = q.where(
            certificates.c.institution_id
            == select(institutions.c.id).where(institutions.c.code == institution_code).scalar_subquery()
        )
    return q.order_by(certificates.c.id.desc()).limit(limit).offset(offset)


def list_certificates(
    conn: Connection,
    actor: Actor,
    institution_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
    before: int | None = None,
) -> list[Any]:
    return list(conn.execute(_newest_first(_visible(conn, actor), institution_code, limit, offset, before)).all())


def certificate_summary(cert: Any, today: date) -> dict[str, Any]:
    """A certificate in a list: its columns, and from its signed payload who issued it for what."""
    payload = orjson.loads(cert.payload)
    return {
        "number": cert.number,
        "kind": cert.kind,
        "status": cert.status,
        "current_status": status_on(cert, today),
        "issued_at": cert.issued_at,
        "valid_until": cert.valid_until,
        "institution": payload["issuer"]["code"],
        "instrument": payload["instrument"]["name"],
        "serial_no": payload["instrument"]["serial_no"],
        "conclusion": payload["conclusion"],
        "supersedes": payload.get("supersedes"),
        "qr": payload["verify_path"],
    }


def certificates_page(
    conn: Connection,
    actor: Actor,
    today: date,
    institution_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
    before: int | None = None,
) -> Page:
    """The API's page of certificate summaries: one query, each payload parsed here by orjson (a
    payload is ~11 KB; PostgreSQL casting fifty of them to JSON took 44 ms a page, orjson 4 ms)."""
    rows = list_certificates(conn, actor, institution_code, limit, offset, before)
    body = orjson.dumps([certificate_summary(r, today) for r in rows])
    return Page(body, len(rows), rows[-1].id if rows else None)


def get_certificate(conn: Connection, actor: Actor, number: str) -> Any:
    cert = conn.execute(_visible(conn, actor).where(certificates.c.number == number)).first()
    if cert is None:
        raise NotFound(f"没有可查看的证书 {number} / no certificate {number} that you may see")
    return cert


def forget_public_keys() -> None:
    """Drop this process's cached keys (after a key is reported compromised)."""
    _public_keys.clear()


def signature_valid(conn: Connection, cert: Any) -> bool:
    """The signature holds under the published key, and the key was not reported compromised when
    the certificate was issued."""
    key = _public_keys.get(cert.kid)
    if key is None or time.monotonic() - key[3] > _KEY_REFRESH_SECONDS:
        row = conn.execute(
            select(signing_keys.c.algorithm, signing_keys.c.public_key_pem, signing_keys.c.compromised_from).where(
                signing_keys.c.kid == cert.kid
            )
        ).first()
        if row is None:
            return False
        key = _public_keys[cert.kid] = (row.algorithm, row.public_key_pem, row.compromised_from, time.monotonic())
    if key[0] != cert.signature_alg or (key[2] is not None and cert.issued_at >= key[2]):
        return False
    return verify_signature(key[0], key[1], cert.payload.encode(), base64.b64decode(cert.signature))


_STATUS_BY_NUMBER = select(certificates.c.status, certificates.c.valid_until).where(
    certificates.c.number == bindparam("number")
)


def public_status(conn: Connection, number: str, today: date) -> dict[str, str]:
    """Number alone: only the status, nothing about the owner."""
    cert = conn.execute(_STATUS_BY_NUMBER, {"number": number}).first()
    return {"number": number, "status": "unknown" if cert is None else status_on(cert, today)}


_CURRENT = (
    select(certificates.c.number)
    .where(certificates.c.instrument_id == bindparam("instrument_id"), certificates.c.status != "superseded")
    .order_by(certificates.c.issued_at.desc(), certificates.c.id.desc())
    .limit(1)
)


def current_certificate_number(conn: Connection, instrument_id: int) -> str | None:
    """The number of the instrument's newest certificate that no amendment replaced (revoked or not: its
    public check then says so), for the label page's link; None if it has none."""
    number = conn.execute(_CURRENT, {"instrument_id": instrument_id}).scalar()
    return None if number is None else str(number)


_BY_NUMBER = select(certificates).where(certificates.c.number == bindparam("number"))


def public_certificate(conn: Connection, number: str, token: str) -> Any:
    """The certificate row, if number and QR token match (compared in constant time)."""
    cert = conn.execute(_BY_NUMBER, {"number": number}).first()
    if cert is None or not hmac.compare_digest(cert.public_token.encode(), token.encode()):
        raise NotFound("证书编号或校验码不正确 / unknown certificate number or token")
    return cert


# the words of web/vocabulary.py CONFIDENCE_LABELS (and of the public page's script), for the JSON answer
_STANDING = {
    "high": ("经规程原文或两处来源确认", "confirmed by the regulation's text or two sources"),
    "medium": ("来自一处二手来源", "from one secondary source"),
    "low": ("未确认", "unconfirmed"),
}
_ADVISORY = (
    "结论所依据的部分限值尚未对照规程原文确认，结论仅供参考",
    "part of the verdict rests on limits not yet confirmed against the printed regulation: it is advisory",
)


def standing(payload: dict[str, Any], english: bool) -> dict[str, Any]:
    """What the signed certificate says of its rules, in the visitor's language: each test's verdict and
    where each limit comes from (source and confidence), and whether the verdict is advisory."""
    pick = 1 if english else 0
    rules: dict[tuple[str, str], dict[str, Any]] = {}
    for point in payload.get("points", []):
        source, confidence = point.get("rule_source"), point.get("rule_confidence")
        if source and confidence in _STANDING:
            entry = rules.setdefault(
                (source, confidence),
                {
                    "source": source,
                    "confidence": confidence,
                    "standing": _STANDING[confidence][pick],
                    "advisory": False,
                },
            )
            entry["advisory"] = entry["advisory"] or bool(point.get("advisory"))
    return {
        "advisory": bool(payload.get("advisory")),
        "advisory_note": _ADVISORY[pick] if payload.get("advisory") else None,
        "tests": [
            {"name": t.get("name_en" if english else "name_zh"), "verdict": t.get("verdict")}
            for t in payload.get("tests", [])
        ],
        "rules": list(rules.values()),
    }


def public_facts(conn: Connection, number: str, token: str, today: date, english: bool = False) -> dict[str, Any]:
    """Number + token from the QR code: the printed facts and whether the signature holds."""
    cert = public_certificate(conn, number, token)
    p = orjson.loads(cert.payload)
    rec, ins = p.get("record", {}), p.get("instrument", {})
    return {
        "number": cert.number,
        "kind": cert.kind,
        "instrument_name": ins.get("name"),
        "instrument_type": ins.get("type") or ins.get("item"),
        "serial_no": ins.get("serial_no"),
        "institution": p.get("issuer", {}).get("name"),
        "verification_date": rec.get("performed_on"),
        "valid_until": p.get("valid_until"),
        "conclusion": p.get("conclusion"),
        "status": status_on(cert, today),
        "signature_valid": signature_valid(conn, cert),
        **standing(p, english),
    }
