"""Reading the registry under the actor's tenancy: instruments with their due status, owners, staff."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, Select, bindparam, case, func, or_, select

from ..audit import history
from ..auth import Actor
from ..errors import Forbidden
from ..listing import JsonList, Keyset, KeysetPage, Page, contains
from ..measurement.procedure import Procedure
from .access import approvable_districts, ensure_instrument_visible, instrument_filter
from .label import instrument_status
from .periods import DUE_SOON_DAYS
from .tables import (
    catalogue_items,
    catalogue_types,
    instruments,
    owners,
    qualifications,
    rule_confirmations,
    users,
)

__all__ = [
    "due_status_sql",
    "due_on",
    "instruments_page",
    "instrument_status_counts",
    "instrument_list_page",
    "list_instruments",
    "instrument_detail",
    "pending_owners",
    "pending_owners_page",
    "list_staff",
    "catalogue",
    "procedures_overview",
    "instrument_row",
]


def instrument_row(row: Any, today: date) -> dict[str, Any]:
    d = dict(row._mapping)
    d.pop("label_token", None)
    d["due_status"] = instrument_status(row, today)
    return d


def due_status_sql() -> ColumnElement[str]:
    """registry.label.instrument_status as a SQL expression over `instruments`, for lists and counts; the
    day is given when it runs (`due_on(today)`)."""
    i = instruments.c
    today, soon = bindparam("due_today", type_=Date), bindparam("due_soon", type_=Date)
    return case(
        (i.status == "scrapped", "scrapped"),
        (i.barred.is_(True), "barred"),
        (i.replace_by.is_not(None), case((i.replace_by < today, "overdue"), else_="in_date")),
        (i.last_verified_on.is_(None), "never_verified"),
        (i.valid_until.is_(None), "unknown"),  # periods.due_status: no end date known, never overdue
        (i.valid_until < today, "overdue"),
        (i.valid_until <= soon, "due_soon"),
        else_="in_date",
    )


def due_on(today: date) -> dict[str, date]:
    """The parameters of `due_status_sql` on `today`."""
    return {"due_today": today, "due_soon": today + timedelta(days=DUE_SOON_DAYS)}


_DUE = due_status_sql()  # built once, like the list: a request only binds the day
_INSTRUMENTS = JsonList(
    [c for c in instruments.c if c.name != "label_token"] + [_DUE.label("due_status")]
)  # the QR token: detail only


def _instruments(
    conn: Connection, actor: Actor, limit: int, offset: int, after: int | None, status: str | None
) -> Select[Any]:
    """A page in id order: after the id `after` (keyset), or past `offset` rows; of one status if given."""
    q = _INSTRUMENTS.select().where(instrument_filter(conn, actor))
    if status is not None:
        q = q.where(_DUE == status)
    if after is not None:
        q, offset = q.where(instruments.c.id > after), 0
    return q.order_by(instruments.c.id).limit(limit).offset(offset)


def instruments_page(
    conn: Connection, actor: Actor, today: date, limit: int = 200, offset: int = 0, after: int | None = None
) -> Page:
    """The API's page of instruments (registry.routes), its JSON written by the database."""
    return _INSTRUMENTS.fetch(conn, _instruments(conn, actor, limit, offset, after, None), due_on(today))


def list_instruments(
    conn: Connection,
    actor: Actor,
    today: date,
    limit: int = 200,
    offset: int = 0,
    after: int | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """The same page as rows, for the pages; `status` keeps only the instruments of that status."""
    rows = conn.execute(_instruments(conn, actor, limit, offset, after, status), due_on(today))
    return [dict(r._mapping) for r in rows]


def _matching(search: str) -> ColumnElement[bool] | None:
    """Instruments whose name, serial number, maker, model, catalogue item or type contains `search`."""
    i = instruments.c
    found = contains(search, i.name, i.serial_no, i.manufacturer, i.model)
    item = contains(search, catalogue_items.c.name_zh)
    kind = contains(search, catalogue_types.c.name_zh, catalogue_types.c.name_en)
    if found is None or item is None or kind is None:
        return None
    items, types = select(catalogue_items.c.code).where(item), select(catalogue_types.c.id).where(kind)
    return or_(found, i.item_code.in_(items), i.type_id.in_(types))


def instrument_list_page(
    conn: Connection,
    actor: Actor,
    today: date,
    at: Keyset,
    statuses: Collection[str] = (),
    search: str = "",
) -> KeysetPage[dict[str, Any]]:
    """A page of the instruments the actor may see, in id order, with their status today; only those of
    `statuses` if given, and those `search` finds (by name, serial number, maker, model, item or type)."""
    q = _INSTRUMENTS.select().where(instrument_filter(conn, actor))
    if statuses:
        q = q.where(_DUE.in_(statuses))
    if (found := _matching(search)) is not None:
        q = q.where(found)
    return at.fetch(conn, q, instruments.c.id, lambda r: dict(r._mapping), params=due_on(today))


def instrument_status_counts(conn: Connection, actor: Actor, today: date, search: str = "") -> dict[str, int]:
    """How many instruments the actor may see (of those `search` finds) stand at each status (one
    grouped query)."""
    q = select(_DUE.label("due_status")).where(instrument_filter(conn, actor))
    if (found := _matching(search)) is not None:
        q = q.where(found)
    listed = q.subquery()
    counted = select(listed.c.due_status, func.count()).group_by(listed.c.due_status)
    return {status: n for status, n in conn.execute(counted, due_on(today))}


def instrument_detail(conn: Connection, actor: Actor, instrument_id: int, today: date) -> dict[str, Any]:
    """The instrument with its whole history: verifications, certificates, lifecycle changes."""
    from ..certificates.service import verify_path
    from ..certificates.tables import certificates
    from ..verification.tables import verification_records

    ensure_instrument_visible(conn, actor, instrument_id)
    row = conn.execute(select(instruments).where(instruments.c.id == instrument_id)).one()
    d = instrument_row(row, today)
    mine = actor.owner_id == row.owner_id or actor.has("admin")
    if mine:
        d["label_token"] = row.label_token  # the owner prints the label QR
    d["verifications"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                verification_records.c.id,
                verification_records.c.kind,
                verification_records.c.stage,
                verification_records.c.performed_on,
                verification_records.c.verdict,
                verification_records.c.status,
                verification_records.c.regulation,
                verification_records.c.decision_rule,
                verification_records.c.valid_until,
            )
            .where(verification_records.c.instrument_id == instrument_id)
            .order_by(verification_records.c.id)
        )
    ]
    d["certificates"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                certificates.c.number,
                certificates.c.kind,
                certificates.c.status,
                certificates.c.issued_at,
                certificates.c.valid_until,
                certificates.c.public_token,
            )
            .where(certificates.c.instrument_id == instrument_id)
            .order_by(certificates.c.id)
        )
    ]
    for c in d["certificates"]:  # the owner's link to each one's public check, as its QR code leads
        token = c.pop("public_token")
        if mine:
            c["verify_path"] = verify_path(c["number"], token)
    d["events"] = [
        {k: e[k] for k in ("at", "action", "before", "after")} for e in history(conn, "instrument", instrument_id)
    ]
    return d


def _pending(conn: Connection, actor: Actor) -> Select[Any]:
    """Registrations awaiting approval that the actor may decide (in the districts it approves)."""
    actor.require("regulator", "lab_manager", "admin")
    q = select(owners).where(owners.c.status == "pending")
    if not actor.has("admin"):
        q = q.where(owners.c.district_code.in_(approvable_districts(conn, actor)))
    return q


def pending_owners(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(_pending(conn, actor).order_by(owners.c.id))]


def pending_owners_page(conn: Connection, actor: Actor, at: Keyset, search: str = "") -> KeysetPage[dict[str, Any]]:
    """A page of the registrations the actor may decide, oldest first, searched by name or credit code."""
    q = _pending(conn, actor)
    if (found := contains(search, owners.c.name, owners.c.credit_code)) is not None:
        q = q.where(found)
    return at.fetch(conn, q, owners.c.id, lambda r: dict(r._mapping))


def list_staff(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    if actor.institution_id is None and not actor.has("admin"):
        raise Forbidden("只有检定机构可以查看人员 / staff lists belong to institutions")
    q = select(users.c.id, users.c.username, users.c.display_name, users.c.roles, users.c.institution_id)
    if not actor.has("admin"):
        q = q.where(users.c.institution_id == actor.institution_id)
    out = []
    for r in conn.execute(q.order_by(users.c.id)):
        d = dict(r._mapping)
        d["qualifications"] = [
            dict(x._mapping) for x in conn.execute(select(qualifications).where(qualifications.c.user_id == r.id))
        ]
        out.append(d)
    return out


def catalogue(conn: Connection) -> list[dict[str, Any]]:
    items = [dict(r._mapping) for r in conn.execute(select(catalogue_items).order_by(catalogue_items.c.code))]
    types = [dict(r._mapping) for r in conn.execute(select(catalogue_types).order_by(catalogue_types.c.id))]
    for it in items:
        it["types"] = [t for t in types if t["item_code"] == it["code"]]
        for t in it["types"]:
            t["period"] = f"{t['period_months']} 个月 / months" if t["period_months"] is not None else "未知 / unknown"
    return items


def procedures_overview(conn: Connection, procedures: Mapping[str, Procedure]) -> list[dict[str, Any]]:
    """Each procedure with its editions and MPE rules, and whether each rule is confirmed."""
    confirmed = {(r.procedure_code, r.rule_id) for r in conn.execute(select(rule_confirmations))}
    return [
        {
            "code": p.item_code,
            "name_zh": p.name_zh,
            "name_en": p.name_en,
            "editions": [
                {
                    "regulation": e.regulation,
                    "effective_from": e.effective_from,
                    "effective_until": e.effective_until,
                    "points": [pt.id for pt in e.points],
                    "rules": [
                        {
                            "id": r.id,
                            "stage": r.stage,
                            "accuracy_class": r.accuracy_class,
                            "kind": r.kind,
                            "mpe_lower": str(r.mpe_lower),
                            "mpe_upper": str(r.mpe_upper),
                            "unit": r.unit,
                            "source": r.source,
                            "confidence": r.confidence,
                            "confirmed": r.confirmed or (p.item_code, r.id) in confirmed,
                        }
                        for r in e.rules
                    ],
                }
                for e in p.editions
            ],
        }
        for p in procedures.values()
    ]
