"""The institution's list of issued certificates, a page at a time: filtered and counted by their status
today in SQL (valid, expired, superseded, revoked), searched by number or serial number, without
reading the signed payloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, or_, select

from ..auth import Actor
from ..registry.tables import instruments
from ..verification.tables import verification_records
from .queries import visible_clause
from .tables import certificates

__all__ = ["CertificateRow", "status_today", "count_certificates", "find_certificates"]


@dataclass(frozen=True, slots=True)
class CertificateRow:
    number: str
    kind: str
    current_status: str  # valid | expired | superseded | revoked
    issued_at: datetime
    valid_until: date | None
    instrument: str
    serial_no: str
    verdict: str | None  # the record's: pass | fail | None (calibration)


def status_today(today: date) -> ColumnElement[str]:
    """service.status_on as SQL: revoked and superseded stay so; a valid one past its date is expired."""
    c = certificates.c
    return case(
        (c.status.in_(("revoked", "superseded")), c.status),
        (and_(c.valid_until.is_not(None), c.valid_until < today), literal("expired")),
        else_=literal("valid"),
    )


def count_certificates(conn: Connection, actor: Actor, today: date) -> dict[str, int]:
    """How many of the certificates the actor may see stand in each status today (one grouped query)."""
    current = select(status_today(today).label("s")).where(visible_clause(conn, actor)).subquery()
    return {s: n for s, n in conn.execute(select(current.c.s, func.count()).group_by(current.c.s))}


def find_certificates(
    conn: Connection,
    actor: Actor,
    today: date,
    status: str | None = None,
    search: str = "",
    limit: int = 50,
    offset: int = 0,
) -> list[CertificateRow]:
    """Newest first. `search` matches the certificate number or the instrument's serial number."""
    current = status_today(today)
    q = (
        select(
            certificates.c.number,
            certificates.c.kind,
            current,
            certificates.c.issued_at,
            certificates.c.valid_until,
            instruments.c.name,
            instruments.c.serial_no,
            verification_records.c.verdict,
        )
        .join(instruments, instruments.c.id == certificates.c.instrument_id)
        .join(verification_records, verification_records.c.id == certificates.c.record_id)
        .where(visible_clause(conn, actor))
    )
    if status:
        q = q.where(current == status)
    needle = search.strip()
    if needle:
        pattern = f"%{needle.replace('%', '').replace('_', '')}%"
        q = q.where(or_(certificates.c.number.ilike(pattern), instruments.c.serial_no.ilike(pattern)))
    rows = conn.execute(q.order_by(certificates.c.id.desc()).limit(limit).offset(offset))
    return [CertificateRow(*r) for r in rows]
