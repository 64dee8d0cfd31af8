"""An institution's 授权项目: the catalogue items it is authorised to verify, which decide where an
owner's application goes (verification/assignment.py). Its lab manager reads their own institution's;
an administrator reads and sets any institution's, as one transaction with its audit event and the
institution's ledger leaf (which holds the items as its child rows)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from ..audit import record_event
from ..auth import Actor
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound
from ..ledger.append import track
from .tables import authorisations, catalogue_items, institutions

__all__ = ["Authorised", "authorised_items", "set_authorisations"]


@dataclass(frozen=True, slots=True)
class Authorised:
    code: str
    name_zh: str
    name_en: str
    items: tuple[str, ...]  # catalogue item codes, sorted


def _institution(conn: Connection, actor: Actor, code: str) -> tuple[int, str, str]:
    """(id, Chinese name, English name) of an institution the actor may read: any for an
    administrator, their own for a lab manager (another answers as a code naming none)."""
    if not actor.has("admin"):
        actor.require("lab_manager")
    row = conn.execute(
        select(institutions.c.id, institutions.c.name_zh, institutions.c.name_en).where(institutions.c.code == code)
    ).first()
    if row is None or not (actor.has("admin") or row.id == actor.institution_id):
        raise NotFound(f"没有机构 {code} / no institution {code}")
    return int(row.id), row.name_zh, row.name_en


def _items(conn: Connection, institution_id: int) -> list[str]:
    q = select(authorisations.c.item_code).where(authorisations.c.institution_id == institution_id)
    return sorted(conn.execute(q).scalars())


def authorised_items(conn: Connection, actor: Actor, code: str) -> Authorised:
    iid, zh, en = _institution(conn, actor, code)
    return Authorised(code, zh, en, tuple(_items(conn, iid)))


def set_authorisations(uow: UnitOfWork, actor: Actor, code: str, item_codes: list[str]) -> bool:
    """Authorises the institution for exactly `item_codes` (administrators only); False when it already
    was (nothing written). Tasks it holds stay with it; new applications follow the new list."""
    actor.require("admin")
    wanted = sorted(set(item_codes))
    with uow:
        iid, _, _ = _institution(uow.conn, actor, code)
        known = set(
            uow.conn.execute(select(catalogue_items.c.code).where(catalogue_items.c.code.in_(wanted))).scalars()
        )
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise InvalidInput(f"目录中没有项目 {', '.join(unknown)} / not in the catalogue: {', '.join(unknown)}")
        before = _items(uow.conn, iid)
        if before == wanted:
            return False
        gone, new = set(before) - set(wanted), [c for c in wanted if c not in before]
        if gone:
            uow.conn.execute(
                delete(authorisations).where(
                    authorisations.c.institution_id == iid, authorisations.c.item_code.in_(sorted(gone))
                )
            )
        if new:
            uow.conn.execute(insert(authorisations), [{"institution_id": iid, "item_code": c} for c in new])
        track(uow, "institution", [iid])
        record_event(
            uow,
            actor.user_id,
            "institution.authorisations_set",
            "institution",
            iid,
            {"items": before},
            {"items": wanted},
            iid,
        )
        uow.commit()
    return True
