"""The drill-down behind a coverage cell: in-use instruments that are not covered, most overdue first;
a page at a time by the order's own values (`overdue_page`, a `listing.RowKeyset`), or by position for
a caller that takes a slice (`overdue`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Connection, Select, case, func, literal, select, tuple_

from ..auth import Actor
from ..errors import Forbidden, InvalidInput
from ..listing import KeysetPage, RowKeyset, contains
from ..registry.access import supervised_jurisdiction
from ..registry.tables import catalogue_items, catalogue_types, districts, instruments, owners
from .standing import UNCOVERED, due_on, eligible, instruments_with_types, period_class, standing

__all__ = [
    "CURSOR_KINDS",
    "MAX_LIMIT",
    "OverdueInstrument",
    "OverduePage",
    "UncoveredStatus",
    "overdue",
    "overdue_page",
    "every_overdue",
]

MAX_LIMIT = 1000
CURSOR_KINDS = "idti"  # a page's cursor: past due or not, the date sorted by, registered at, id
_NO_DUE_DATE = date(2000, 1, 1)  # the sort date of those without a past due date (they sort by registration)

UncoveredStatus = Literal["overdue", "never_verified", "barred", "no_valid_date"]


@dataclass(frozen=True, slots=True)
class OverdueInstrument:
    """One instrument counted as not covered in `coverage`. due_on is replace_by for a limited-use
    instrument, else valid_until; days_overdue = today − due_on when that is past, else None (never
    verified, barred, or no date in force)."""

    instrument_id: int
    name: str
    serial_no: str
    manufacturer: str
    model: str
    owner_id: int
    owner_name: str
    district_code: str
    district_name_zh: str
    district_name_en: str
    item_code: str
    item_name_zh: str
    type_id: int
    type_name_zh: str
    type_name_en: str
    last_verified_on: date | None
    valid_until: date | None
    replace_by: date | None
    due_on: date | None
    days_overdue: int | None
    status: UncoveredStatus


@dataclass(frozen=True, slots=True)
class OverduePage:
    """A page of the list with where it stands: rows `first`–`first + len(page.rows) - 1` of `total`."""

    page: KeysetPage[OverdueInstrument]
    first: int
    total: int


def _listed(
    conn: Connection, actor: Actor, today: date, district: str | None, item: str | None, search: str
) -> tuple[Select[Any], list[ColumnElement[Any]]]:
    """The not-covered instruments' select (filtered, not ordered) and the values it is ordered by."""
    scope = supervised_jurisdiction(conn, actor)
    if district is not None and not scope.reaches_district(district):
        raise Forbidden(
            f"无权查看辖区外的区 {district} / district {district} is outside your jurisdiction", rule="jurisdiction"
        )
    state = standing(today)
    due = due_on()
    past_due = case((due < today, due))
    q = (
        select(
            instruments.c.id,
            instruments.c.name,
            instruments.c.serial_no,
            instruments.c.manufacturer,
            instruments.c.model,
            instruments.c.owner_id,
            owners.c.name.label("owner_name"),
            instruments.c.district_code,
            districts.c.name_zh.label("district_name_zh"),
            districts.c.name_en.label("district_name_en"),
            instruments.c.item_code,
            catalogue_items.c.name_zh.label("item_name_zh"),
            instruments.c.type_id,
            catalogue_types.c.name_zh.label("type_name_zh"),
            catalogue_types.c.name_en.label("type_name_en"),
            instruments.c.last_verified_on,
            instruments.c.valid_until,
            instruments.c.replace_by,
            due.label("due_on"),
            state.label("status"),
        )
        .select_from(
            instruments_with_types()
            .join(owners, owners.c.id == instruments.c.owner_id)
            .join(districts, districts.c.code == instruments.c.district_code)
            .join(catalogue_items, catalogue_items.c.code == instruments.c.item_code)
        )
        .where(eligible(), scope.clause(), period_class() != literal("unknown"), state.in_(UNCOVERED))
    )
    if district is not None:
        q = q.where(instruments.c.district_code == district)
    if item is not None:
        q = q.where(instruments.c.item_code == item)
    if (found := contains(search, instruments.c.name, instruments.c.serial_no, owners.c.name)) is not None:
        q = q.where(found)
    # past due first, earliest due date first; NULLs kept out of the sort keys (SQLite and PostgreSQL
    # place them differently, and a cursor holds no NULL)
    keys: list[ColumnElement[Any]] = [
        case((past_due.is_(None), 1), else_=0),
        case((past_due.is_(None), literal(_NO_DUE_DATE)), else_=past_due),
        instruments.c.registered_at,
        instruments.c.id,
    ]
    return q, keys


def _instrument(r: Any, today: date) -> OverdueInstrument:
    return OverdueInstrument(
        instrument_id=r.id,
        name=r.name,
        serial_no=r.serial_no,
        manufacturer=r.manufacturer,
        model=r.model,
        owner_id=r.owner_id,
        owner_name=r.owner_name,
        district_code=r.district_code,
        district_name_zh=r.district_name_zh,
        district_name_en=r.district_name_en,
        item_code=r.item_code,
        item_name_zh=r.item_name_zh,
        type_id=r.type_id,
        type_name_zh=r.type_name_zh,
        type_name_en=r.type_name_en,
        last_verified_on=r.last_verified_on,
        valid_until=r.valid_until,
        replace_by=r.replace_by,
        due_on=r.due_on,
        days_overdue=(today - r.due_on).days if r.due_on is not None and r.due_on < today else None,
        status=cast(UncoveredStatus, r.status),
    )


def overdue(
    conn: Connection,
    actor: Actor,
    today: date,
    district: str | None = None,
    item: str | None = None,
    limit: int = 200,
    offset: int = 0,
    search: str = "",
) -> list[OverdueInstrument]:
    """Not-covered instruments of the jurisdiction (the same ones `coverage` counts as eligible but not
    covered; unknown-period instruments are not here). Order: those with a past due date first, most
    days overdue first; then the others (barred, never verified, no date) oldest registration first.
    `search` keeps those whose name, serial number or owner contains it.

    A district outside the jurisdiction is Forbidden rather than an empty list, so a page never shows
    "nothing overdue" for a district the regulator cannot see.
    """
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput(f"每页 1–{MAX_LIMIT} 条，偏移不能为负 / limit must be 1–{MAX_LIMIT}, offset >= 0")
    q, keys = _listed(conn, actor, today, district, item, search)
    return [_instrument(r, today) for r in conn.execute(q.order_by(*keys).limit(limit).offset(offset))]


def overdue_page(
    conn: Connection,
    actor: Actor,
    today: date,
    at: RowKeyset,
    district: str | None = None,
    item: str | None = None,
    search: str = "",
) -> OverduePage:
    """A page of `overdue`'s list (the same rows, order and refusals) by key: the rows after or before
    a row's sort values, so that an instrument falling overdue or verified meanwhile moves no row from
    one page to another; with the page's place in the list, counted in one more statement."""
    q, keys = _listed(conn, actor, today, district, item, search)
    head: list[tuple[Any, ...]] = []  # the first row's sort values

    def row(r: Any) -> OverdueInstrument:
        if not head:
            head.append(RowKeyset.values_of(r, len(keys)))
        return _instrument(r, today)

    page = at.fetch(conn, q, keys, row)
    if not page.rows:
        return OverduePage(page, 1, 0)
    listed = q.add_columns(*(k.label(f"k{i}") for i, k in enumerate(keys))).subquery()
    sort = tuple_(*(listed.c[f"k{i}"] for i in range(len(keys))))
    first = tuple_(*(literal(v, k.type) for k, v in zip(keys, head[0], strict=True)))
    total, earlier = conn.execute(select(func.count(), func.count(case((sort < first, 1)))).select_from(listed)).one()
    return OverduePage(page, earlier + 1, total)


def every_overdue(
    conn: Connection,
    actor: Actor,
    today: date,
    district: str | None = None,
    item: str | None = None,
    search: str = "",
    chunk: int = 1000,
) -> Iterator[OverdueInstrument]:
    """Every row of `overdue_page`'s list (the same rows, order and refusals, refused at the call), read
    by key `chunk` rows a statement — never by OFFSET, never counted — for an export of millions."""
    q, keys = _listed(conn, actor, today, district, item, search)

    last: list[tuple[Any, ...]] = []  # the sort values of the last row read

    def row(r: Any) -> OverdueInstrument:
        last[:] = [RowKeyset.values_of(r, len(keys))]
        return _instrument(r, today)

    def walk() -> Iterator[OverdueInstrument]:
        at = RowKeyset(size=chunk)
        while True:
            page = at.fetch(conn, q, keys, row)
            yield from page.rows
            if page.following is None or not page.rows:
                return
            at = RowKeyset(after=last[0], size=chunk)

    return walk()
