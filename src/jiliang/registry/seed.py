"""Reference data every database starts with: districts, catalogue, regulators, institutions."""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import insert, select

from ..db import UnitOfWork
from ..ledger.append import track
from .catalogue import load_catalogue
from .tables import (
    authorisations,
    catalogue_items,
    catalogue_types,
    districts,
    institutions,
    jurisdictions,
    regulators,
)

__all__ = ["seed_reference_data"]


def _reference_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("jiliang.reference").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _seed_catalogue(uow: UnitOfWork) -> None:
    cat = load_catalogue()
    uow.conn.execute(
        insert(catalogue_items),
        [
            {
                "code": it.code,
                "name_zh": it.name_zh,
                "types_zh": "、".join(it.types_zh),
                "scope": it.scope,
                "mode": it.mode,
                "source": it.source,
                "confidence": it.confidence,
                "version": 1,
            }
            for it in cat.items
        ],
    )
    uow.conn.execute(
        insert(catalogue_types),
        [
            {
                "item_code": t.item_code,
                "name_zh": t.name_zh,
                "name_en": t.name_en,
                "regulation": t.regulation,
                "mode": t.period.mode,
                "period_months": t.period.months,
                "service_life_months": t.period.service_life_months,
                "note": t.period.note,
                "source": t.source,
                "confidence": t.confidence,
                "version": 1,
            }
            for t in cat.types
        ],
    )
    track(uow, "catalogue_item", [it.code for it in cat.items], new=True)
    track(uow, "catalogue_type", uow.conn.execute(select(catalogue_types.c.id)).scalars(), new=True)


def _seed_organisations(uow: UnitOfWork, district_rows: list[dict[str, str]]) -> None:
    conf: dict[str, Any] = yaml.safe_load(
        resources.files("jiliang.registry").joinpath("institutions.yaml").read_text(encoding="utf-8")
    )
    conn = uow.conn
    all_items = [r[0] for r in conn.execute(select(catalogue_items.c.code))]

    def add_regulator(code: str, zh: str, en: str, level: str, district: str | None, zone: str | None) -> None:
        rid = conn.execute(
            insert(regulators).values(code=code, name_zh=zh, name_en=en, level=level).returning(regulators.c.id)
        ).scalar_one()
        conn.execute(insert(jurisdictions).values(regulator_id=rid, district_code=district, zone=zone))

    def add_institution(code: str, spec: dict[str, Any], district: str | None, zh: str, en: str) -> None:
        iid = conn.execute(
            insert(institutions)
            .values(
                code=code,
                name_zh=zh,
                name_en=en,
                district_code=district,
                cross_district=bool(spec.get("cross_district")),
                signing_algorithm="Ed25519",
            )
            .returning(institutions.c.id)
        ).scalar_one()
        items = all_items if spec["items"] == "all" else [i for i in spec["items"] if i in all_items]
        if items:
            conn.execute(insert(authorisations), [{"institution_id": iid, "item_code": i} for i in items])
        track(uow, "institution", [iid], new=True)

    for r in conf["regulators"]:
        add_regulator(r["code"], r["name_zh"], r["name_en"], r["level"], None, r.get("zone"))
    dr, di = conf["district_regulator"], conf["district_institute"]
    for d in district_rows:
        fmt = {"district": d["name_zh"], "district_en": d["name_en"]}
        add_regulator(
            f"SAMR-{d['code']}", dr["name_zh"].format(**fmt), dr["name_en"].format(**fmt), "district", d["code"], None
        )
    for spec in conf["institutions"]:
        add_institution(spec["code"], spec, None, spec["name_zh"], spec["name_en"])
    for d in district_rows:
        fmt = {"district": d["name_zh"], "district_en": d["name_en"]}
        add_institution(f"D{d['code']}", di, d["code"], di["name_zh"].format(**fmt), di["name_en"].format(**fmt))


def seed_reference_data(uow: UnitOfWork) -> bool:
    """Load the reference data into an empty database; returns False if it was already there."""
    with uow:
        if uow.conn.execute(select(districts.c.code).limit(1)).first() is not None:
            return False
        district_rows = _reference_rows("shanghai_districts.csv")
        uow.conn.execute(
            insert(districts),
            [{"code": r["code"], "name_zh": r["name_zh"], "name_en": r["name_en"]} for r in district_rows],
        )
        _seed_catalogue(uow)
        _seed_organisations(uow, district_rows)
        uow.commit()
        return True
