"""Tenancy and jurisdiction in one place: which instruments, owners and certificates an actor may see.

An owner sees only their own; institution staff see what their institution has tasks for; a
regulator sees its districts or special zone; an administrator sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, false, or_, select, true

from ..auth import Actor
from ..errors import Forbidden, NotFound
from .tables import instruments, jurisdictions

__all__ = [
    "Jurisdiction",
    "approvable_districts",
    "instrument_filter",
    "ensure_instrument_visible",
    "instrument_not_found",
    "regulator_districts",
    "regulator_jurisdiction",
    "supervised_jurisdiction",
]


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """What a regulator oversees: the whole city, or some districts and special zones (Lingang, airport)."""

    whole_city: bool
    districts: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()

    def clause(self, table: Any = instruments) -> ColumnElement[bool]:
        """A WHERE clause on `instruments` (or a table with the same district_code and zone columns, such
        as the coverage counts) selecting the instruments in this jurisdiction."""
        if self.whole_city:
            return true()
        clauses: list[ColumnElement[bool]] = []
        if self.districts:
            clauses.append(table.c.district_code.in_(sorted(self.districts)))
        if self.zones:
            clauses.append(table.c.zone.in_(sorted(self.zones)))
        return or_(*clauses) if clauses else false()

    def reaches_district(self, district_code: str) -> bool:
        """Whether instruments of the district may lie in this jurisdiction. A special zone is not tied
        to district codes in the data, so a zone regulator may ask about any district (and sees only
        its zone's instruments there)."""
        return self.whole_city or district_code in self.districts or bool(self.zones)


def regulator_jurisdiction(conn: Connection, regulator_id: int) -> Jurisdiction:
    """The regulator's jurisdiction rows; a row with neither district nor zone means the whole city."""
    rows = regulator_districts(conn, regulator_id)
    if any(district is None and zone is None for district, zone in rows):
        return Jurisdiction(whole_city=True)
    return Jurisdiction(
        whole_city=False,
        # a row naming a zone limits to the zone, whatever district it also names
        districts=frozenset(d for d, z in rows if d is not None and z is None),
        zones=frozenset(z for _, z in rows if z is not None),
    )


def supervised_jurisdiction(conn: Connection, actor: Actor) -> Jurisdiction:
    """Whose figures the actor may read on the supervision dashboards: an administrator the whole
    city, a regulator its own jurisdiction; anyone else (owners, institution staff) is refused."""
    if actor.has("admin"):
        return Jurisdiction(whole_city=True)
    if actor.has("regulator") and actor.regulator_id is not None:
        return regulator_jurisdiction(conn, actor.regulator_id)
    raise Forbidden("只有监管部门可以查看监管统计 / supervision figures are for regulators", rule="jurisdiction")


def _jurisdiction_clause(conn: Connection, regulator_id: int) -> ColumnElement[bool]:
    return regulator_jurisdiction(conn, regulator_id).clause()


def regulator_districts(conn: Connection, regulator_id: int) -> list[tuple[str | None, str | None]]:
    rows = conn.execute(
        select(jurisdictions.c.district_code, jurisdictions.c.zone).where(jurisdictions.c.regulator_id == regulator_id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def approvable_districts(conn: Connection, actor: Actor) -> set[str]:
    """Districts whose owner registrations the actor may approve: a regulator's jurisdiction; a
    district institute's lab manager its own district; a city institute's lab manager any."""
    from .tables import districts, institutions

    every = set(conn.execute(select(districts.c.code)).scalars())
    allowed: set[str] = set()
    if actor.has("regulator") and actor.regulator_id is not None:
        for district, zone in regulator_districts(conn, actor.regulator_id):
            if district is None and zone is None:
                return every
            if district is not None:
                allowed.add(district)
    if actor.has("lab_manager") and actor.institution_id is not None:
        home = conn.execute(
            select(institutions.c.district_code).where(institutions.c.id == actor.institution_id)
        ).scalar_one_or_none()
        if home is None:
            return every
        allowed.add(home)
    return allowed


def instrument_filter(conn: Connection, actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on `instruments` selecting what the actor may read."""
    from ..verification.tables import tasks  # the task table says which institution works on what

    if actor.has("admin"):
        return true()
    clauses: list[ColumnElement[bool]] = []
    if actor.owner_id is not None:
        clauses.append(instruments.c.owner_id == actor.owner_id)
    if actor.institution_id is not None:
        clauses.append(
            exists().where(
                and_(tasks.c.instrument_id == instruments.c.id, tasks.c.institution_id == actor.institution_id)
            )
        )
    if actor.regulator_id is not None and actor.has("regulator"):
        clauses.append(_jurisdiction_clause(conn, actor.regulator_id))
    return or_(*clauses) if clauses else false()


def instrument_not_found(instrument_id: int) -> NotFound:
    """The one answer for an instrument the actor may not see, whether it does not exist or lies outside
    their tenancy or jurisdiction: a refusal would confirm that the id exists."""
    return NotFound(f"没有可查看的计量器具 {instrument_id} / no instrument {instrument_id} that you may see")


def ensure_instrument_visible(conn: Connection, actor: Actor, instrument_id: int) -> None:
    found = conn.execute(
        select(instruments.c.id).where(instruments.c.id == instrument_id, instrument_filter(conn, actor))
    ).first()
    if found is None:
        raise instrument_not_found(instrument_id)
