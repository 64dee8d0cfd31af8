"""The lab's staff list, a page at a time: people of the actor's institution (an administrator: of every
institution) in id order, searched by name or username, each with their qualifications; and how many
qualifications have lapsed or lapse soon across the whole institution. Three statements, whatever the
page or the institution's size."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select

from ..auth import Actor
from ..errors import Forbidden
from ..listing import Keyset, KeysetPage, contains
from .tables import qualifications, users

__all__ = ["staff_page", "qualification_alerts"]


def _staff_of(actor: Actor) -> ColumnElement[bool]:
    if actor.institution_id is None and not actor.has("admin"):
        raise Forbidden("只有检定机构可以查看人员 / staff lists belong to institutions")
    if actor.has("admin"):
        return users.c.institution_id.is_not(None)
    return users.c.institution_id == actor.institution_id


def staff_page(conn: Connection, actor: Actor, at: Keyset, search: str = "") -> KeysetPage[dict[str, Any]]:
    """A page of the institution's people, each with `qualifications` (sorted by item, then expiry)."""
    q = select(users.c.id, users.c.username, users.c.display_name, users.c.roles, users.c.institution_id)
    q = q.where(_staff_of(actor))
    if (found := contains(search, users.c.display_name, users.c.username)) is not None:
        q = q.where(found)
    page = at.fetch(conn, q, users.c.id, lambda r: dict(r._mapping) | {"qualifications": []})
    by_id = {p["id"]: p for p in page.rows}
    if by_id:
        held = select(qualifications).where(qualifications.c.user_id.in_(by_id))
        for r in conn.execute(held.order_by(qualifications.c.item_code, qualifications.c.valid_until)):
            by_id[r.user_id]["qualifications"].append(dict(r._mapping))
    return page


def qualification_alerts(conn: Connection, actor: Actor, today: date, warning: timedelta) -> dict[str, int]:
    """How many qualifications of the institution's people have lapsed (before today) and how many lapse
    within `warning` (one statement)."""
    until = qualifications.c.valid_until
    soon = and_(until >= today, until <= today + warning)
    lapsed, expiring = conn.execute(
        select(func.count().filter(until < today), func.count().filter(soon))
        .select_from(qualifications.join(users, users.c.id == qualifications.c.user_id))
        .where(_staff_of(actor))
    ).one()
    return {"lapsed": lapsed, "expiring": expiring}
