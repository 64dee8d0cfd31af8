"""Builds a small world through the real services: an owner with instruments, and an institution
with a verifier, a checker and an approver who are qualified and have valid standards."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from jiliang.auth import Actor, Confirmation, confirm_password, load_actor
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.credit_code import make_credit_code
from jiliang.registry.tables import catalogue_types, institutions, users
from jiliang.verification import service as workflow
from tests.support import jjg539

PASSWORD = "correct-horse-9"
_serial = itertools.count(1)


def admin(platform: Platform) -> Actor:
    with platform.engine.connect() as c:
        uid = c.execute(select(users.c.id).where(users.c.username == "admin")).scalar_one()
        return load_actor(c, uid)


def confirm(platform: Platform, actor: Actor, password: str = PASSWORD) -> Confirmation:
    with platform.engine.connect() as c:
        return confirm_password(c, actor, password)


def institution_id(platform: Platform, code: str) -> int:
    with platform.engine.connect() as c:
        return int(c.execute(select(institutions.c.id).where(institutions.c.code == code)).scalar_one())


def type_id(platform: Platform, item_code: str, name_zh: str) -> int:
    with platform.engine.connect() as c:
        return int(
            c.execute(
                select(catalogue_types.c.id).where(
                    catalogue_types.c.item_code == item_code, catalogue_types.c.name_zh == name_zh
                )
            ).scalar_one()
        )


def new_credit_code() -> str:
    n = next(_serial)
    return make_credit_code(f"9131010{n:010d}")


def make_owner(platform: Platform, district: str = "310104", approve: bool = True) -> Actor:
    n = next(_serial)
    oid = registry.register_owner(
        platform.uow(),
        registry.OwnerRegistration(
            credit_code=new_credit_code(),
            name=f"测试商户{n}",
            district_code=district,
            address="测试路 1 号",
            username=f"owner{n}",
            password=PASSWORD,
        ),
    )
    if approve:
        registry.decide_owner_registration(platform.uow(), admin(platform), oid, True)
    with platform.engine.connect() as c:
        uid = c.execute(select(users.c.id).where(users.c.owner_id == oid)).scalar_one()
        return load_actor(c, uid)


@dataclass
class Lab:
    institution_id: int
    verifier: Actor
    checker: Actor
    approver: Actor
    manager: Actor
    standard_id: int


def make_lab(platform: Platform, code: str, items: list[str], qualified_until: date | None = None) -> Lab:
    adm = admin(platform)
    iid = institution_id(platform, code)
    n = next(_serial)
    people = {}
    for role in ("verifier", "checker", "approver", "lab_manager"):
        uid = registry.create_user(
            platform.uow(), adm, f"{role}{n}", PASSWORD, f"{role}-{n}", [role], institution_id=iid
        )
        with platform.engine.connect() as c:
            people[role] = load_actor(c, uid)
    today = shanghai_today()
    for item in items:
        for role in ("verifier", "checker", "approver"):
            registry.grant_qualification(
                platform.uow(),
                adm,
                people[role].user_id,
                item,
                f"Q-{n}-{item}",
                today - timedelta(days=365),
                qualified_until or today + timedelta(days=365),
            )
    sid = registry.add_standard(
        platform.uow(),
        people["lab_manager"],
        iid,
        f"标准装置{n}",
        f"[2024]沪量标{n}号",
        today + timedelta(days=700),
        items,
    )
    registry.record_standard_calibration(
        platform.uow(),
        people["lab_manager"],
        sid,
        "上海市计量测试技术研究院",
        f"CAL-{n}",
        today - timedelta(days=30),
        today + timedelta(days=335),
        True,
    )
    return Lab(iid, people["verifier"], people["checker"], people["approver"], people["lab_manager"], sid)


def scale(platform: Platform, owner: Actor, **kw: object) -> int:
    reg = registry.InstrumentRegistration(
        item_code="nawi",
        name="电子计价秤",
        serial_no=f"SN{next(_serial)}",
        use="trade",
        type_id=type_id(platform, "nawi", "数字指示秤/电子计价秤"),
        procedure_code="nawi",
        manufacturer="上海大华",
        model="TM-A",
        parameters={"accuracy_class": "III", "e": "0.005"},
    )
    reg = registry.InstrumentRegistration(**{**reg.__dict__, **kw})
    return registry.register_instrument(platform.uow(), owner, reg)


def fuel_dispenser(platform: Platform, owner: Actor) -> int:
    return registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code="fuel_dispenser",
            name="燃油加油机",
            serial_no=f"FD{next(_serial)}",
            use="trade",
            type_id=type_id(platform, "fuel_dispenser", "燃油加油机"),
            procedure_code="fuel_dispenser",
            manufacturer="正星",
            model="ZX-1",
            parameters={"resolution": "0.01"},
        ),
    )


def water_meter(platform: Platform, owner: Actor, type_name: str | None = "饮用冷水水表 DN<=25") -> int:
    """A class 2 domestic water meter (first verification only, limited service life)."""
    return registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code="water_meter",
            name="饮用冷水水表 DN15",
            serial_no=f"WM{next(_serial)}",
            use="trade",
            type_id=type_id(platform, "water_meter", type_name) if type_name else None,
            procedure_code="water_meter",
            parameters={"accuracy_class": "2", "resolution": "0.01", "water_temperature": "0.1-30"},
        ),
    )


# a JJG 539 verification as the regulation's tests (tests/support/jjg539.py): all pass, or the weighing test fails
SCALE_PASS = jjg539.as_inputs(jjg539.complete())
SCALE_FAIL = jjg539.as_inputs(jjg539.failing())


def record(
    platform: Platform,
    lab: Lab,
    task_id: int,
    readings: list[workflow.ReadingInput] | None = None,
    stage: str | None = "subsequent",
    on: date | None = None,
) -> int:
    """The lab's verifier records readings (with the lab's standard) and signs; returns the record id."""
    return workflow.record_results(
        platform.uow(),
        confirm(platform, lab.verifier),
        task_id,
        workflow.ResultsInput(
            performed_on=on or shanghai_today(),
            standard_ids=[lab.standard_id],
            readings=readings or SCALE_PASS,
            stage=stage,
            environment={"temperature": "20.5 °C"},
        ),
    )


def verify(
    platform: Platform,
    lab: Lab,
    task_id: int,
    readings: list[workflow.ReadingInput] | None = None,
    stage: str = "subsequent",
    on: date | None = None,
) -> str:
    """Record, check and approve; returns the certificate number."""
    rid = record(platform, lab, task_id, readings, stage, on)
    workflow.check_record(platform.uow(), confirm(platform, lab.checker), rid)
    return workflow.approve_record(platform.uow(), confirm(platform, lab.approver), rid)


def issued_certificate(platform: Platform, district: str = "310104", lab_code: str = "D310104") -> tuple[Lab, str]:
    """An owner's scale verified by a lab end to end; returns the lab and the certificate number."""
    owner = make_owner(platform, district)
    lab = make_lab(platform, lab_code, ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [scale(platform, owner)])
    return lab, verify(platform, lab, task)
