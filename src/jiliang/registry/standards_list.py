"""An institution's measurement standards as the lab reads them: each with the items it serves and its
latest calibration's U, k and unit (and, imported from a DCC, its signature's outcome); all of them
(the API) or a page at a time by key, searched by name or certificate number (the lab's page), with
the dates its expiry warnings count over all of them. The related rows are read once for the page,
never per standard."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, select, true

from ..auth import Actor
from ..certificates.dcc_signature import signature_summary
from ..errors import Forbidden
from ..listing import Keyset, KeysetPage, contains
from .tables import standard_calibrations, standard_items, standards

__all__ = ["list_standards", "standards_page", "standard_dates"]


def _of(actor: Actor) -> ColumnElement[bool]:
    """The actor's institution's standards (an administrator: every institution's)."""
    if actor.institution_id is None and not actor.has("admin"):
        raise Forbidden("只有检定机构可以查看计量标准 / standards belong to institutions")
    return true() if actor.has("admin") else standards.c.institution_id == actor.institution_id


def list_standards(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in conn.execute(select(standards).where(_of(actor)).order_by(standards.c.id))]
    return _described(conn, rows)


def standards_page(conn: Connection, actor: Actor, at: Keyset, search: str = "") -> KeysetPage[dict[str, Any]]:
    """A page of the standards in id order, those `search` finds by name or certificate number."""
    q = select(standards).where(_of(actor))
    c = standards.c
    if (found := contains(search, c.name, c.examination_certificate_no, c.calibration_certificate_no)) is not None:
        q = q.where(found)
    page = at.fetch(conn, q, standards.c.id, lambda r: dict(r._mapping))
    return KeysetPage(_described(conn, page.rows), page.previous, page.following, page.at_start, page.last)


def standard_dates(conn: Connection, actor: Actor) -> list[tuple[date, date | None]]:
    """(examination certificate's expiry, calibration due) of each of the standards: what the page's
    warnings count, over all of them (one statement)."""
    q = select(standards.c.examination_valid_until, standards.c.calibration_due).where(_of(actor))
    return [(r[0], r[1]) for r in conn.execute(q)]


def _described(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each standard with its items and its latest calibration's U and DCC signature (two statements)."""
    ids = [r["id"] for r in rows]
    if not ids:
        return rows
    serves: dict[int, list[str]] = {}
    for sid, item in conn.execute(select(standard_items).where(standard_items.c.standard_id.in_(ids))):
        serves.setdefault(sid, []).append(item)
    latest: dict[int, Any] = {}  # each standard's latest calibration: its certificate's U, k and unit
    cal = standard_calibrations.c
    for row in conn.execute(
        select(
            cal.standard_id,
            cal.expanded_uncertainty,
            cal.coverage_factor,
            cal.uncertainty_unit,
            cal.dcc_signature,
            cal.dcc_signed_by,
        )
        .where(cal.standard_id.in_(ids))
        .order_by(cal.calibrated_on, cal.id)
    ):
        latest[row.standard_id] = row
    return [
        r
        | {
            "items": sorted(serves.get(r["id"], [])),
            "uncertainty": (
                {"U": c.expanded_uncertainty, "k": c.coverage_factor, "unit": c.uncertainty_unit}
                if (c := latest.get(r["id"])) is not None and c.expanded_uncertainty
                else None
            ),
            # imported from a DCC: its signature's outcome and signer
            "dcc": (
                signature_summary(c.dcc_signature, c.dcc_signed_by)
                if (c := latest.get(r["id"])) is not None and c.dcc_signature
                else None
            ),
        }
        for r in rows
    ]
