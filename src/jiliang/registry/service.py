"""Registry use cases: owners, instruments and their lifecycle, staff, qualifications, standards.

Each function is one transaction with its audit records (see `db.UnitOfWork`).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update

from ..audit import record_event
from ..auth import ROLES, Actor, hash_password
from ..db import UnitOfWork
from ..errors import Forbidden, InvalidInput, NotFound, RuleViolation
from ..types import utcnow
from .access import approvable_districts, ensure_instrument_visible
from .credit_code import CreditCodeError, validate_credit_code
from .tables import (
    catalogue_items,
    catalogue_types,
    districts,
    institutions,
    instruments,
    owners,
    qualifications,
    regulators,
    standard_calibrations,
    standard_items,
    standards,
    users,
)

__all__ = [
    "OwnerRegistration",
    "InstrumentRegistration",
    "register_owner",
    "decide_owner_registration",
    "register_instrument",
    "transfer_instrument",
    "relocate_instrument",
    "scrap_instrument",
    "create_user",
    "grant_qualification",
    "add_standard",
    "record_standard_calibration",
    "USES",
]

USES = ("trade", "safety", "medical", "environment")


@dataclass(frozen=True)
class OwnerRegistration:
    credit_code: str
    name: str
    district_code: str
    address: str
    username: str
    password: str
    contact_name: str = ""


@dataclass(frozen=True)
class InstrumentRegistration:
    item_code: str | None
    name: str
    serial_no: str
    use: str
    district_code: str | None = None  # defaults to the owner's district
    type_id: int | None = None
    procedure_code: str | None = None
    manufacturer: str = ""
    model: str = ""
    software_version: str | None = None
    software_checksum: str | None = None
    parameters: dict[str, str] | None = None
    zone: str | None = None
    location: str = ""


def _require_district(uow: UnitOfWork, code: str) -> None:
    if uow.conn.execute(select(districts.c.code).where(districts.c.code == code)).first() is None:
        raise InvalidInput(f"区划代码 {code} 不是上海的区 / {code} is not a Shanghai district code")


def register_owner(uow: UnitOfWork, reg: OwnerRegistration, password_hash: str | None = None) -> int:
    """Self-registration of a user organisation (使用单位); it waits for approval."""
    try:
        code = validate_credit_code(reg.credit_code)
    except CreditCodeError as exc:
        raise InvalidInput(str(exc), rule="credit_code") from exc
    if not reg.name.strip():
        raise InvalidInput("单位名称不能为空 / the organisation name is required")
    if len(reg.password) < 8:
        raise InvalidInput("密码至少 8 位 / the password needs at least 8 characters")
    with uow:
        _require_district(uow, reg.district_code)
        conn = uow.conn
        if conn.execute(select(owners.c.id).where(owners.c.credit_code == code)).first():
            raise RuleViolation(f"统一社会信用代码 {code} 已注册 / {code} is already registered", rule="duplicate")
        if conn.execute(select(users.c.id).where(users.c.username == reg.username)).first():
            raise RuleViolation(f"用户名 {reg.username} 已被使用 / username taken", rule="duplicate")
        row = {
            "credit_code": code,
            "name": reg.name.strip(),
            "district_code": reg.district_code,
            "address": reg.address,
            "status": "pending",
            "registered_at": utcnow(),
        }
        owner_id = conn.execute(insert(owners).values(**row).returning(owners.c.id)).scalar_one()
        uid = conn.execute(
            insert(users)
            .values(
                username=reg.username,
                password_hash=password_hash or hash_password(reg.password),
                display_name=reg.contact_name or reg.name,
                roles="owner_user",
                owner_id=owner_id,
                active=True,
            )
            .returning(users.c.id)
        ).scalar_one()
        record_event(uow, uid, "owner.registered", "owner", owner_id, None, {**row, "registered_at": None})
        uow.commit()
        return int(owner_id)


def decide_owner_registration(uow: UnitOfWork, actor: Actor, owner_id: int, approve: bool) -> None:
    """The district bureau (or an institution's lab manager) approves or rejects a registration."""
    actor.require("regulator", "lab_manager", "admin")
    with uow:
        owner = uow.conn.execute(select(owners).where(owners.c.id == owner_id)).first()
        if owner is None:
            raise NotFound("没有该使用单位 / no such owner")
        if not actor.has("admin") and owner.district_code not in approvable_districts(uow.conn, actor):
            raise Forbidden("不在本单位负责的区 / outside your jurisdiction", rule="jurisdiction")
        if owner.status != "pending":
            raise RuleViolation(f"该申请已处理（{owner.status}）/ already decided", rule="state")
        status = "approved" if approve else "rejected"
        uow.conn.execute(update(owners).where(owners.c.id == owner_id).values(status=status))
        record_event(
            uow, actor.user_id, f"owner.{status}", "owner", owner_id, {"status": "pending"}, {"status": status}
        )
        uow.commit()


def _approved_owner(uow: UnitOfWork, owner_id: int) -> Any:
    owner = uow.conn.execute(select(owners).where(owners.c.id == owner_id)).first()
    if owner is None:
        raise NotFound("没有该使用单位 / no such owner")
    if owner.status != "approved":
        raise RuleViolation(
            "使用单位注册尚未批准 / the owner's registration is not approved yet", rule="owner_not_approved"
        )
    return owner


def register_instrument(uow: UnitOfWork, actor: Actor, reg: InstrumentRegistration, owner_id: int | None = None) -> int:
    """强检备案: an owner registers an instrument (an administrator may do it for an owner)."""
    if actor.has("admin") and owner_id is not None:
        target = owner_id
    elif actor.owner_id is not None:
        target = actor.owner_id
    else:
        raise Forbidden("只有使用单位可以备案器具 / only an owner registers instruments")
    if reg.use not in USES:
        raise InvalidInput(f"用途必须是 {'/'.join(USES)} 之一 / use must be one of {', '.join(USES)}")
    if not reg.serial_no.strip():
        raise InvalidInput("出厂编号不能为空 / the serial number is required")
    with uow:
        conn = uow.conn
        owner = _approved_owner(uow, target)
        if (
            reg.item_code is not None
            and conn.execute(select(catalogue_items.c.code).where(catalogue_items.c.code == reg.item_code)).first()
            is None
        ):
            raise InvalidInput(f"目录中没有项目 {reg.item_code} / {reg.item_code} is not in the catalogue")
        if reg.type_id is not None:
            t = conn.execute(select(catalogue_types).where(catalogue_types.c.id == reg.type_id)).first()
            if t is None or t.item_code != reg.item_code:
                raise InvalidInput("器具型式不属于该项目 / the type does not belong to the item")
        district = reg.district_code or owner.district_code
        _require_district(uow, district)
        row = {k: v for k, v in asdict(reg).items() if k != "district_code"}
        row.update(
            owner_id=target,
            district_code=district,
            parameters=reg.parameters or {},
            label_token=secrets.token_urlsafe(12),
            registered_at=utcnow(),
            status="in_use",
            barred=False,
        )
        iid = conn.execute(insert(instruments).values(**row).returning(instruments.c.id)).scalar_one()
        record_event(
            uow,
            actor.user_id,
            "instrument.registered",
            "instrument",
            iid,
            None,
            {k: v for k, v in row.items() if k not in ("registered_at", "label_token")},
        )
        uow.commit()
        return int(iid)


def _owned_instrument(uow: UnitOfWork, actor: Actor, instrument_id: int) -> Any:
    ensure_instrument_visible(uow.conn, actor, instrument_id)
    inst = uow.conn.execute(select(instruments).where(instruments.c.id == instrument_id)).first()
    assert inst is not None
    if not actor.has("admin") and inst.owner_id != actor.owner_id:
        raise Forbidden("只有器具的使用单位可以变更 / only the instrument's owner may change it", rule="tenancy")
    if inst.status == "scrapped":
        raise RuleViolation("器具已报废 / the instrument is scrapped", rule="scrapped")
    return inst


def _change_instrument(uow: UnitOfWork, actor: Actor, inst: Any, action: str, values: dict[str, Any]) -> None:
    before = {k: getattr(inst, k) for k in values}
    uow.conn.execute(update(instruments).where(instruments.c.id == inst.id).values(**values))
    record_event(uow, actor.user_id, action, "instrument", inst.id, before, values)


def transfer_instrument(uow: UnitOfWork, actor: Actor, instrument_id: int, new_owner_credit_code: str) -> None:
    try:
        code = validate_credit_code(new_owner_credit_code)
    except CreditCodeError as exc:
        raise InvalidInput(str(exc), rule="credit_code") from exc
    with uow:
        inst = _owned_instrument(uow, actor, instrument_id)
        new = uow.conn.execute(select(owners).where(owners.c.credit_code == code)).first()
        if new is None:
            raise NotFound(f"没有统一社会信用代码为 {code} 的使用单位 / no owner with credit code {code}")
        _approved_owner(uow, new.id)
        _change_instrument(uow, actor, inst, "instrument.transferred", {"owner_id": new.id})
        uow.commit()


def relocate_instrument(uow: UnitOfWork, actor: Actor, instrument_id: int, district_code: str, location: str) -> None:
    with uow:
        inst = _owned_instrument(uow, actor, instrument_id)
        _require_district(uow, district_code)
        _change_instrument(
            uow, actor, inst, "instrument.relocated", {"district_code": district_code, "location": location}
        )
        uow.commit()


def scrap_instrument(uow: UnitOfWork, actor: Actor, instrument_id: int) -> None:
    with uow:
        inst = _owned_instrument(uow, actor, instrument_id)
        _change_instrument(uow, actor, inst, "instrument.scrapped", {"status": "scrapped"})
        uow.commit()


def create_user(
    uow: UnitOfWork,
    actor: Actor,
    username: str,
    password: str,
    display_name: str,
    roles: list[str],
    institution_id: int | None = None,
    regulator_id: int | None = None,
    password_hash: str | None = None,
) -> int:
    """Administrators create any account; a lab manager creates staff of their own institution."""
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise InvalidInput(f"未知角色 {bad} / unknown roles; choose from {', '.join(ROLES)}")
    if not actor.has("admin"):
        actor.require("lab_manager")
        if institution_id != actor.institution_id or regulator_id is not None or {"admin", "regulator"} & set(roles):
            raise Forbidden("实验室主任只能为本机构创建员工账号 / a lab manager creates staff of their own institution")
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位 / the password needs at least 8 characters")
    with uow:
        _require_row(uow, institutions, institution_id, "机构 / institution")
        _require_row(uow, regulators, regulator_id, "监管部门 / regulator")
        if uow.conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise RuleViolation(f"用户名 {username} 已被使用 / username taken", rule="duplicate")
        uid = uow.conn.execute(
            insert(users)
            .values(
                username=username,
                password_hash=password_hash or hash_password(password),
                display_name=display_name,
                roles=" ".join(sorted(set(roles))),
                institution_id=institution_id,
                regulator_id=regulator_id,
                active=True,
            )
            .returning(users.c.id)
        ).scalar_one()
        record_event(
            uow,
            actor.user_id,
            "user.created",
            "user",
            uid,
            None,
            {"username": username, "roles": sorted(set(roles)), "institution_id": institution_id},
            institution_id,
        )
        uow.commit()
        return int(uid)


def _require_row(uow: UnitOfWork, table: Any, key: object, what: str) -> None:
    if key is None:
        return
    pk = list(table.primary_key.columns)[0]
    if uow.conn.execute(select(pk).where(pk == key)).first() is None:
        raise InvalidInput(f"没有该{what.split(' / ')[0]}：{key} / no such {what.split(' / ')[1]}: {key}")


def _require_items(uow: UnitOfWork, codes: list[str]) -> None:
    known = set(uow.conn.execute(select(catalogue_items.c.code).where(catalogue_items.c.code.in_(codes))).scalars())
    unknown = sorted(set(codes) - known)
    if unknown:
        raise InvalidInput(f"目录中没有项目 {', '.join(unknown)} / not in the catalogue: {', '.join(unknown)}")


def _manages(actor: Actor, institution_id: int | None) -> None:
    if actor.has("admin"):
        return
    actor.require("lab_manager")
    if institution_id != actor.institution_id:
        raise Forbidden("只能管理本机构 / you manage only your own institution", rule="tenancy")


def grant_qualification(
    uow: UnitOfWork,
    actor: Actor,
    user_id: int,
    item_code: str,
    certificate_no: str,
    valid_from: date,
    valid_until: date,
) -> int:
    if valid_until < valid_from:
        raise InvalidInput("有效期截止早于起始 / valid_until is before valid_from")
    with uow:
        person = uow.conn.execute(select(users).where(users.c.id == user_id)).first()
        if person is None:
            raise NotFound("没有该人员 / no such person")
        _manages(actor, person.institution_id)
        _require_items(uow, [item_code])
        row = {
            "user_id": user_id,
            "item_code": item_code,
            "certificate_no": certificate_no,
            "valid_from": valid_from,
            "valid_until": valid_until,
        }
        qid = uow.conn.execute(insert(qualifications).values(**row).returning(qualifications.c.id)).scalar_one()
        record_event(
            uow,
            actor.user_id,
            "qualification.granted",
            "qualification",
            qid,
            None,
            {**row, "valid_from": str(valid_from), "valid_until": str(valid_until)},
            person.institution_id,
        )
        uow.commit()
        return int(qid)


def add_standard(
    uow: UnitOfWork,
    actor: Actor,
    institution_id: int,
    name: str,
    examination_certificate_no: str,
    examination_valid_until: date,
    item_codes: list[str],
) -> int:
    _manages(actor, institution_id)
    with uow:
        _require_row(uow, institutions, institution_id, "机构 / institution")
        _require_items(uow, item_codes)
        row = {
            "institution_id": institution_id,
            "name": name,
            "examination_certificate_no": examination_certificate_no,
            "examination_valid_until": examination_valid_until,
        }
        sid = uow.conn.execute(insert(standards).values(**row).returning(standards.c.id)).scalar_one()
        if item_codes:
            uow.conn.execute(insert(standard_items), [{"standard_id": sid, "item_code": c} for c in item_codes])
        record_event(
            uow,
            actor.user_id,
            "standard.added",
            "standard",
            sid,
            None,
            {**row, "examination_valid_until": str(examination_valid_until), "items": item_codes},
            institution_id,
        )
        uow.commit()
        return int(sid)


def record_standard_calibration(
    uow: UnitOfWork,
    actor: Actor,
    standard_id: int,
    calibrated_by: str,
    certificate_no: str,
    calibrated_on: date,
    due: date,
    in_tolerance: bool,
) -> int:
    with uow:
        std = uow.conn.execute(select(standards).where(standards.c.id == standard_id)).first()
        if std is None:
            raise NotFound("没有该计量标准 / no such standard")
        _manages(actor, std.institution_id)
        if due <= calibrated_on:
            raise InvalidInput("校准有效期必须晚于校准日期 / the due date must follow the calibration date")
        cid = uow.conn.execute(
            insert(standard_calibrations)
            .values(
                standard_id=standard_id,
                calibrated_by=calibrated_by,
                certificate_no=certificate_no,
                calibrated_on=calibrated_on,
                due=due,
                in_tolerance=in_tolerance,
            )
            .returning(standard_calibrations.c.id)
        ).scalar_one()
        current = {
            "calibrated_by": calibrated_by,
            "calibration_certificate_no": certificate_no,
            # an out-of-tolerance calibration leaves the standard unusable until recalibrated
            "calibration_due": due if in_tolerance else calibrated_on,
        }
        before = {k: getattr(std, k) for k in current}
        uow.conn.execute(update(standards).where(standards.c.id == standard_id).values(**current))
        record_event(
            uow,
            actor.user_id,
            "standard.calibrated",
            "standard",
            standard_id,
            {k: str(v) if v is not None else None for k, v in before.items()},
            {**{k: str(v) for k, v in current.items()}, "in_tolerance": in_tolerance},
            std.institution_id,
        )
        uow.commit()
        return int(cid)
