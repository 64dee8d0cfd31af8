"""Who is who, read-only: the districts, a user's own organisation, whether a credit code is already
registered, institution names (for pages and forms; every change goes through `registry.service`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from ..auth import Actor
from .queries import catalogue
from .tables import catalogue_types, districts, institutions, owners

__all__ = [
    "District",
    "OwnOrganisation",
    "list_districts",
    "own_organisation",
    "credit_code_taken",
    "institution_names",
    "organisation",
    "CatalogueNames",
    "catalogue_names",
    "english_names",
]


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name_zh: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh-CN" else self.name_en


@dataclass(frozen=True, slots=True)
class OwnOrganisation:
    id: int
    name: str
    credit_code: str
    district_code: str
    status: str  # pending | approved | rejected


def list_districts(conn: Connection) -> list[District]:
    """Shanghai's districts in code order (the choices of every district select)."""
    rows = conn.execute(select(districts.c.code, districts.c.name_zh, districts.c.name_en).order_by(districts.c.code))
    return [District(r.code, r.name_zh, r.name_en) for r in rows]


def own_organisation(conn: Connection, actor: Actor) -> OwnOrganisation | None:
    """The organisation an owner's user belongs to (None for staff, regulators and administrators)."""
    return None if actor.owner_id is None else organisation(conn, actor.owner_id)


def organisation(conn: Connection, owner_id: int) -> OwnOrganisation | None:
    """An owner organisation by id; the caller has already been allowed to see it."""
    row = conn.execute(
        select(owners.c.id, owners.c.name, owners.c.credit_code, owners.c.district_code, owners.c.status).where(
            owners.c.id == owner_id
        )
    ).first()
    if row is None:
        return None
    return OwnOrganisation(row.id, row.name, row.credit_code, row.district_code, row.status)


def credit_code_taken(conn: Connection, credit_code: str) -> bool:
    """Whether an organisation with this (normalised) credit code has registered already."""
    return conn.execute(select(owners.c.id).where(owners.c.credit_code == credit_code)).first() is not None


def institution_names(conn: Connection, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """institution id → (Chinese name, English name)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(institutions.c.id, institutions.c.name_zh, institutions.c.name_en).where(institutions.c.id.in_(wanted))
    )
    return {r.id: (r.name_zh, r.name_en) for r in rows}


@dataclass(frozen=True, slots=True)
class CatalogueNames:
    items: dict[str, str]  # item code → Chinese name (the catalogue gives Chinese names only)
    types: dict[int, tuple[str, str]]  # type id → (Chinese, English) name


def catalogue_names(conn: Connection) -> CatalogueNames:
    items: dict[str, str] = {}
    types: dict[int, tuple[str, str]] = {}
    for item in catalogue(conn):
        items[item["code"]] = item["name_zh"]
        for t in item["types"]:
            types[t["id"]] = (t["name_zh"], t["name_en"] or t["name_zh"])
    return CatalogueNames(items, types)


def english_names(conn: Connection) -> tuple[dict[str, str], dict[str, str]]:
    """(type's Chinese name → its English name, institution code → its English name): how an English
    page names what a certificate states in Chinese."""
    types = conn.execute(
        select(catalogue_types.c.name_zh, catalogue_types.c.name_en).where(catalogue_types.c.name_en != "")
    )
    codes = conn.execute(select(institutions.c.code, institutions.c.name_en))
    return {r.name_zh: r.name_en for r in types}, {r.code: r.name_en for r in codes}
