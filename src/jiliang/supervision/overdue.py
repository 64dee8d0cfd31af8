"""The drill-down behind a coverage cell: in-use instruments that are not covered, most overdue first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, cast

from sqlalchemy import Connection, case, literal, select

from ..auth import Actor
from ..errors import Forbidden, InvalidInput
from ..listing import contains
from ..registry.access import supervised_jurisdiction
from ..registry.tables import catalogue_items, catalogue_types, districts, instruments, owners
from .standing import UNCOVERED, due_on, eligible, instruments_with_types, period_class, standing

__all__ = ["MAX_LIMIT", "OverdueInstrument", "UncoveredStatus", "overdue"]

MAX_LIMIT = 1000

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
    scope = supervised_jurisdiction(conn, actor)
    if district is not None and not scope.reaches_district(district):
        raise Forbidden(
            f"无权查看辖区外的区 {district} / district {district} is outside your jurisdiction", rule="jurisdiction"
        )
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput(f"每页 1–{MAX_LIMIT} 条，偏移不能为负 / limit must be 1–{MAX_LIMIT}, offset >= 0")
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
        # past due first, earliest due date first; NULLs kept out of the sort keys (SQLite and
        # PostgreSQL place them differently)
        .order_by(
            case((past_due.is_(None), 1), else_=0),
            case((past_due.is_(None), today), else_=past_due),
            instruments.c.registered_at,
            instruments.c.id,
        )
        .limit(limit)
        .offset(offset)
    )
    if district is not None:
        q = q.where(instruments.c.district_code == district)
    if item is not None:
        q = q.where(instruments.c.item_code == item)
    if (found := contains(search, instruments.c.name, instruments.c.serial_no, owners.c.name)) is not None:
        q = q.where(found)
    return [
        OverdueInstrument(
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
        for r in conn.execute(q)
    ]
