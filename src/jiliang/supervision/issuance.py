"""Certificates issued per institution per month (Asia/Shanghai calendar months) in a jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Connection, case, func, literal, select, true

from ..auth import Actor
from ..certificates.tables import certificates
from ..errors import Forbidden, InvalidInput
from ..platform import SHANGHAI
from ..registry.access import supervised_jurisdiction
from ..registry.periods import add_months
from ..registry.tables import institutions, instruments

__all__ = ["MAX_MONTHS", "CertificateSeries", "InstitutionSeries", "certificates_per_month"]

MAX_MONTHS = 120


@dataclass(frozen=True, slots=True)
class InstitutionSeries:
    """One institution's counts, one per month of CertificateSeries.months."""

    institution_id: int
    code: str
    name_zh: str
    name_en: str
    counts: tuple[int, ...]
    total: int


@dataclass(frozen=True, slots=True)
class CertificateSeries:
    """months: the first day of each Shanghai calendar month, oldest first, the last being today's
    month; institutions: those with at least one certificate in the window, by code; totals: all
    institutions per month."""

    months: tuple[date, ...]
    institutions: tuple[InstitutionSeries, ...]
    totals: tuple[int, ...]
    total: int


def _shanghai_midnight(day: date) -> datetime:
    """The UTC instant a Shanghai calendar day begins (issued_at is stored in UTC)."""
    return datetime.combine(day, time(), SHANGHAI).astimezone(UTC)


def certificates_per_month(
    conn: Connection, actor: Actor, today: date, months: int = 12, district: str | None = None
) -> CertificateSeries:
    """Certificates issued in the last `months` Shanghai months (today's month included) per issuing
    institution, counting only certificates of instruments in the actor's jurisdiction (by the
    instrument's current district or zone), whatever institution issued them. Every kind counts
    (verification, notice of non-conformity, calibration), and so does a certificate later revoked
    or superseded: it was issued. Regulators and administrators only.

    Months are bucketed with a CASE on UTC boundaries computed here, so the one grouped query runs
    the same on SQLite and PostgreSQL. `district` keeps one district's instruments (Forbidden outside
    the jurisdiction).
    """
    scope = supervised_jurisdiction(conn, actor)
    if district is not None and not scope.reaches_district(district):
        raise Forbidden(
            f"无权查看辖区外的区 {district} / district {district} is outside your jurisdiction", rule="jurisdiction"
        )
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(f"月数须为 1–{MAX_MONTHS} / months must be 1–{MAX_MONTHS}")
    first = add_months(today.replace(day=1), -(months - 1))
    starts = tuple(add_months(first, k) for k in range(months))
    bounds = [_shanghai_midnight(m) for m in (*starts, add_months(starts[-1], 1))]
    issued = certificates.c.issued_at
    bucket = case(
        *((issued < bounds[k + 1], literal(k)) for k in range(months - 1)),
        else_=literal(months - 1),
    )
    per_certificate = (
        select(certificates.c.institution_id, bucket.label("month"))
        .join(instruments, instruments.c.id == certificates.c.instrument_id)
        .where(issued >= bounds[0], issued < bounds[-1], scope.clause())
        .where(instruments.c.district_code == district if district is not None else true())
        .subquery()
    )
    c = per_certificate.c
    rows = conn.execute(
        select(
            c.institution_id,
            institutions.c.code,
            institutions.c.name_zh,
            institutions.c.name_en,
            c.month,
            func.count().label("n"),
        )
        .join(institutions, institutions.c.id == c.institution_id)
        .group_by(c.institution_id, institutions.c.code, institutions.c.name_zh, institutions.c.name_en, c.month)
    ).all()
    names: dict[int, tuple[str, str, str]] = {}
    counts: dict[int, list[int]] = {}
    for iid, code, zh, en, month, n in rows:
        names[iid] = (code, zh, en)
        counts.setdefault(iid, [0] * months)[month] += n
    series = tuple(
        InstitutionSeries(iid, *names[iid], counts=tuple(counts[iid]), total=sum(counts[iid]))
        for iid in sorted(names, key=lambda i: names[i][0])
    )
    totals = tuple(sum(s.counts[k] for s in series) for k in range(months))
    return CertificateSeries(months=starts, institutions=series, totals=totals, total=sum(totals))
