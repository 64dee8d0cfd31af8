"""Administrators correct the catalogue and confirm MPE rules; every change is versioned and audited.

The shipped catalogue is incomplete (each row keeps its source and confidence); a period the data
does not give stays unknown until an administrator enters one with its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, or_, select, update

from ..audit import record_event
from ..auth import Actor
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound, RuleViolation
from ..ledger.append import track
from ..ledger.procedures import sync_procedures
from ..listing import Keyset, KeysetPage, contains
from ..measurement.procedure import Procedure
from ..measurement.procedure_model import Edition, MpeRule
from ..supervision.counts import restating
from ..types import utcnow
from .catalogue import load_catalogue
from .queries import catalogue
from .tables import catalogue_items, catalogue_types, instruments, rule_confirmations, users

__all__ = [
    "TypeCorrection",
    "correct_catalogue_type",
    "add_catalogue_type",
    "confirm_rule",
    "catalogue_for_review",
    "catalogue_types_page",
    "items_without_types",
    "type_for_correction",
    "RuleForReview",
    "rules_for_review",
]

MODES = ("periodic", "first_only_limited_use", "first_only_scrap", "unknown")  # as in registry.periods


@dataclass(frozen=True)
class TypeCorrection:
    source: str  # where the new value comes from: a correction without a source is refused
    period_months: int | None = None
    service_life_months: int | None = None
    mode: str | None = None
    regulation: str | None = None
    note: str | None = None
    confidence: str = "high"


def _check(c: TypeCorrection) -> None:
    if not c.source.strip():
        raise InvalidInput("请注明数据来源 / a correction must name its source", rule="source_required")
    if c.mode is not None and c.mode not in MODES:
        raise InvalidInput(f"检定方式必须是 {', '.join(MODES)} / unknown mode {c.mode}")
    for v in (c.period_months, c.service_life_months):
        if v is not None and not 0 < v <= 240:
            raise InvalidInput("周期必须在 1–240 个月之间 / a period must be 1–240 months")
    if c.confidence not in ("high", "medium", "low"):
        raise InvalidInput("可信度必须是 high/medium/low / confidence must be high, medium or low")


def correct_catalogue_type(uow: UnitOfWork, actor: Actor, type_id: int, c: TypeCorrection) -> int:
    actor.require("admin")
    _check(c)
    with uow:
        row = uow.conn.execute(select(catalogue_types).where(catalogue_types.c.id == type_id)).first()
        if row is None:
            raise NotFound(f"没有器具型式 {type_id} / no catalogue type {type_id}")
        values = {k: v for k, v in vars(c).items() if v is not None}
        values["version"] = row.version + 1
        before = {k: getattr(row, k) for k in values}
        with restating(uow.conn, instruments.c.type_id == type_id):  # its instruments' period class may change
            uow.conn.execute(update(catalogue_types).where(catalogue_types.c.id == type_id).values(**values))
        track(uow, "catalogue_type", [type_id])
        record_event(uow, actor.user_id, "catalogue.type_corrected", "catalogue_type", type_id, before, values)
        uow.commit()
        return int(values["version"])


def add_catalogue_type(
    uow: UnitOfWork, actor: Actor, item_code: str, name_zh: str, c: TypeCorrection, name_en: str = ""
) -> int:
    """A new instrument type under a catalogue item, named in both languages (an English page would
    otherwise show the Chinese name, or nothing)."""
    actor.require("admin")
    name_zh, name_en = name_zh.strip(), name_en.strip()
    if not name_zh or not name_en:
        raise InvalidInput(
            "请填写型式的中文名称和英文名称 / give the type's name in Chinese and in English", rule="type_name_required"
        )
    _check(c)
    with uow:
        if uow.conn.execute(select(catalogue_items.c.code).where(catalogue_items.c.code == item_code)).first() is None:
            raise NotFound(f"目录中没有项目 {item_code} / no catalogue item {item_code}")
        row = {
            "item_code": item_code,
            "name_zh": name_zh,
            "name_en": name_en,
            "regulation": c.regulation or "",
            "mode": c.mode or "unknown",
            "period_months": c.period_months,
            "service_life_months": c.service_life_months,
            "note": c.note or "",
            "source": c.source,
            "confidence": c.confidence,
            "version": 1,
        }
        tid = uow.conn.execute(insert(catalogue_types).values(**row).returning(catalogue_types.c.id)).scalar_one()
        track(uow, "catalogue_type", [tid], new=True)
        record_event(uow, actor.user_id, "catalogue.type_added", "catalogue_type", tid, None, row)
        uow.commit()
        return int(tid)


def confirm_rule(uow: UnitOfWork, actor: Actor, procedure_code: str, rule_id: str) -> None:
    """An administrator who has checked the printed regulation confirms an 'unconfirmed' MPE rule."""
    actor.require("admin")
    proc = uow.platform.procedures.get(procedure_code)
    if proc is None:
        raise NotFound(f"没有规程 {procedure_code} / no procedure {procedure_code}")
    if not any(r.id == rule_id for e in proc.editions for r in e.rules):
        raise NotFound(f"规程 {procedure_code} 中没有规则 {rule_id} / no rule {rule_id}")
    with uow:
        exists = uow.conn.execute(
            select(rule_confirmations.c.rule_id).where(
                rule_confirmations.c.procedure_code == procedure_code, rule_confirmations.c.rule_id == rule_id
            )
        ).first()
        if exists:
            raise RuleViolation("该规则已确认 / the rule is already confirmed", rule="duplicate")
        uow.conn.execute(
            insert(rule_confirmations).values(
                procedure_code=procedure_code, rule_id=rule_id, confirmed_by=actor.user_id, confirmed_at=utcnow()
            )
        )
        record_event(
            uow,
            actor.user_id,
            "rule.confirmed",
            "mpe_rule",
            f"{procedure_code}/{rule_id}",
            {"confirmed": False},
            {"confirmed": True},
        )
        sync_procedures(uow.conn, uow.platform.procedures, uow.platform.ledger_mac)
        uow.commit()


def catalogue_for_review(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    """The catalogue's items with their types, periods and sources, as an administrator corrects them."""
    actor.require("admin")
    return catalogue(conn)


@cache
def _item_names() -> dict[str, tuple[str, str]]:
    """Item code → (Chinese, English) name, as the shipped catalogue gives them (the table keeps the
    Chinese only)."""
    return {i.code: (i.name_zh, i.name_en) for i in load_catalogue().items}


def _found(search: str) -> ColumnElement[bool] | None:
    """Types whose name or regulation, or whose item's name in either language, contains `search`."""
    t = catalogue_types.c
    typed = contains(search, t.name_zh, t.name_en, t.regulation, catalogue_items.c.name_zh)
    if typed is None:
        return None
    needle = search.strip().casefold()
    items = [code for code, names in _item_names().items() if any(needle in n.casefold() for n in names)]
    return or_(typed, t.item_code.in_(items)) if items else typed


def catalogue_types_page(conn: Connection, actor: Actor, at: Keyset, search: str = "") -> KeysetPage[dict[str, Any]]:
    """A page of the catalogue's instrument types in id order, each with its item's code, as an
    administrator corrects them; those `search` finds by the type's or its item's name (either
    language) or regulation."""
    actor.require("admin")
    q = select(catalogue_types).join(catalogue_items, catalogue_items.c.code == catalogue_types.c.item_code)
    if (found := _found(search)) is not None:
        q = q.where(found)
    return at.fetch(conn, q, catalogue_types.c.id, lambda r: dict(r._mapping))


def items_without_types(conn: Connection, actor: Actor, search: str = "") -> list[str]:
    """The codes of the catalogue items with no instrument type recorded (a type is added under one),
    those whose name in either language contains `search`."""
    actor.require("admin")
    typed = select(catalogue_types.c.id).where(catalogue_types.c.item_code == catalogue_items.c.code)
    codes = conn.execute(select(catalogue_items.c.code).where(~typed.exists()).order_by(catalogue_items.c.code))
    needle = search.strip().casefold()
    names = _item_names()
    return [c for c in codes.scalars() if not needle or any(needle in n.casefold() for n in names.get(c, (c,)))]


def type_for_correction(conn: Connection, actor: Actor, type_id: int) -> dict[str, Any]:
    """One catalogue type with its item's name, for the administrator's correction form."""
    actor.require("admin")
    row = conn.execute(
        select(catalogue_types, catalogue_items.c.name_zh.label("item_name_zh"))
        .join(catalogue_items, catalogue_items.c.code == catalogue_types.c.item_code)
        .where(catalogue_types.c.id == type_id)
    ).first()
    if row is None:
        raise NotFound(f"没有器具型式 {type_id} / no catalogue type {type_id}")
    return dict(row._mapping)


@dataclass(frozen=True)
class RuleForReview:
    """An MPE rule with where it stands: confirmed in the shipped procedure, or by an administrator
    (who, when), or not yet; `ordinal`, its place in file order (procedures, editions, rules, from 1),
    which a confirmation does not change (the key its page is found by)."""

    procedure_code: str  # the key of the platform's procedures (an item may have several: ev_charger_ac, _dc)
    procedure: Procedure
    edition: Edition
    rule: MpeRule
    confirmed: bool
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    ordinal: int = 0


def rules_for_review(conn: Connection, actor: Actor, procedures: Mapping[str, Procedure]) -> list[RuleForReview]:
    """Every MPE rule of the procedures, those still unconfirmed first (procedure, edition, file order)."""
    actor.require("admin")
    confirmed = {
        (r.procedure_code, r.rule_id): r
        for r in conn.execute(
            select(rule_confirmations, users.c.display_name).join(
                users, users.c.id == rule_confirmations.c.confirmed_by
            )
        )
    }
    out: list[RuleForReview] = []
    for code, proc in procedures.items():
        for edition in proc.editions:
            for rule in edition.rules:
                by = confirmed.get((code, rule.id))
                out.append(
                    RuleForReview(
                        code,
                        proc,
                        edition,
                        rule,
                        rule.confirmed or by is not None,
                        None if by is None else by.display_name,
                        None if by is None else by.confirmed_at,
                        len(out) + 1,
                    )
                )
    return sorted(out, key=lambda r: r.confirmed)  # stable: unconfirmed first, each in file order
