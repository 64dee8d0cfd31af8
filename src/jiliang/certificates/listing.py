"""The lists of certificates on the pages (an institution's issued ones, an owner's own), a page at a
time by key, newest first: filtered and counted by their status today in SQL (valid, expired,
superseded, revoked), searched by number, instrument or serial number, without reading the signed
payloads — one statement a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, select

from ..auth import Actor
from ..listing import Keyset, KeysetPage, contains
from ..registry.tables import instruments, owners
from ..verification.tables import verification_records
from .queries import visible_clause
from .service import verify_path
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
    supersedes: str | None  # the number of the certificate this one replaces
    verify_path: str  # its public check, where its QR code leads
    owner: str = ""  # the owner's name (the exports' column)


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


_REPLACED = certificates.alias("replaced")


def find_certificates(
    conn: Connection, actor: Actor, today: date, at: Keyset, status: str | None = None, search: str = ""
) -> KeysetPage[CertificateRow]:
    """Newest first. `search` matches the certificate number, the instrument's name or its serial number."""
    current = status_today(today)
    q = (
        select(
            certificates.c.id,
            certificates.c.number,
            certificates.c.kind,
            current.label("current_status"),
            certificates.c.issued_at,
            certificates.c.valid_until,
            instruments.c.name,
            instruments.c.serial_no,
            verification_records.c.verdict,
            _REPLACED.c.number.label("supersedes"),
            certificates.c.public_token,
            owners.c.name.label("owner_name"),
        )
        .join(instruments, instruments.c.id == certificates.c.instrument_id)
        .join(owners, owners.c.id == certificates.c.owner_id)
        .join(verification_records, verification_records.c.id == certificates.c.record_id)
        .outerjoin(_REPLACED, _REPLACED.c.id == certificates.c.supersedes_id)
        .where(visible_clause(conn, actor))
    )
    if status:
        q = q.where(current == status)
    if (found := contains(search, certificates.c.number, instruments.c.name, instruments.c.serial_no)) is not None:
        q = q.where(found)
    return at.fetch(conn, q, certificates.c.id, _row, newest_first=True)


def _row(r: Any) -> CertificateRow:
    return CertificateRow(
        r.number,
        r.kind,
        r.current_status,
        r.issued_at,
        r.valid_until,
        r.name,
        r.serial_no,
        r.verdict,
        r.supersedes,
        verify_path(r.number, r.public_token),
        r.owner_name,
    )
