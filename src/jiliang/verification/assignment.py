"""Which institution gets a task: the instrument's district institute if authorised for the item,
otherwise an authorised institution that works across districts (the city institutes)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..errors import RuleViolation
from ..registry.tables import authorisations, institutions

__all__ = ["choose_institution"]


def choose_institution(conn: Connection, item_code: str | None, district_code: str) -> int:
    q = select(institutions.c.id, institutions.c.district_code, institutions.c.cross_district)
    if item_code is not None:
        q = q.join(authorisations, authorisations.c.institution_id == institutions.c.id).where(
            authorisations.c.item_code == item_code
        )
    else:  # calibration outside the catalogue: laboratories that serve the whole city
        q = q.where(institutions.c.cross_district.is_(True))
    candidates = conn.execute(q.order_by(institutions.c.id)).all()
    for c in candidates:
        if c.district_code == district_code:
            return int(c.id)
    for c in candidates:
        if c.cross_district:
            return int(c.id)
    raise RuleViolation(
        f"没有获授权承担该项目（{item_code}）的检定机构 / no institution is authorised for item {item_code}",
        rule="no_authorised_institution",
    )
