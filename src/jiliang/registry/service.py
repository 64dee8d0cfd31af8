"""Registry use cases: owners and their registration, instruments and their lifecycle (staff and
standards live in `staff.py` and are re-exported here). Each function is one transaction with its
audit records (see `db.UnitOfWork`).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import insert, select, update

from ..audit import record_event
from ..auth import Actor, hash_password
from ..db import UnitOfWork
from ..errors import Forbidden, InvalidInput, NotFound, RuleViolation
from ..ledger.append import track
from ..reminders.planning import replan
from ..supervision.counts import counted_in, restating
from ..types import utcnow
from .access import approvable_districts, ensure_instrument_visible
from .credit_code import CreditCodeError, validate_credit_code
from .staff import add_standard, create_user, grant_qualification, record_standard_calibration
from .tables import (
    catalogue_items,
    catalogue_types,
    districts,
    instruments,
    owners,
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
        track(uow, "owner", [owner_id], new=True)
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
        track(uow, "user", [uid], new=True)
        record_event(uow, uid, "owner.registered", "owner", owner_id, None, {**row, "registered_at": None})
        uow.commit()
        return int(owner_id)


def decide_owner_registration(uow: UnitOfWork, actor: Actor, owner_id: int, approve: bool) -> None:
    """The district bureau (or an institution's lab manager) approves or rejects a registration."""
    actor.require("regulator", "lab_manager", "admin")
    with uow:
        owner = uow.conn.execute(select(owners).where(owners.c.id == owner_id)).first()
        # outside the actor's districts the owner is not there for them: the same answer as a missing one
        if owner is None or (
            not actor.has("admin") and owner.district_code not in approvable_districts(uow.conn, actor)
        ):
            raise NotFound("没有该使用单位 / no such owner")
        if owner.status != "pending":
            raise RuleViolation(f"该申请已处理（{owner.status}）/ already decided", rule="state")
        status = "approved" if approve else "rejected"
        uow.conn.execute(update(owners).where(owners.c.id == owner_id).values(status=status))
        track(uow, "owner", [owner_id])
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
    if reg.procedure_code is not None and reg.procedure_code not in uow.platform.procedures:
        raise InvalidInput(
            f"没有检定或校准规程 {reg.procedure_code!r} / no verification or calibration procedure "
            f"{reg.procedure_code!r} is loaded",
            rule="unknown_procedure",
        )
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
        counted_in(conn, instruments.c.id == iid)
        track(uow, "instrument", [iid], new=True)
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
    with restating(uow.conn, instruments.c.id == inst.id):  # the coverage counts
        uow.conn.execute(update(instruments).where(instruments.c.id == inst.id).values(**values))
    replan(uow.conn, instruments.c.id == inst.id)  # reminders follow the owner and district; scrapped: none
    track(uow, "instrument", [inst.id])
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
