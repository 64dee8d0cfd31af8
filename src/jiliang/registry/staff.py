"""Institution people and equipment: staff accounts, per-item qualifications, measurement standards
and their calibrations (量值溯源). Lab managers manage their own institution; administrators all."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import insert, select, update

from ..audit import record_event
from ..auth import Actor, hash_password
from ..db import UnitOfWork
from ..errors import Forbidden, InvalidInput, NotFound, RuleViolation
from ..ledger.append import track
from .accounts import check_roles_fit
from .tables import (
    catalogue_items,
    institutions,
    qualifications,
    regulators,
    standard_calibrations,
    standard_items,
    standards,
    users,
)

__all__ = ["create_user", "grant_qualification", "add_standard", "record_standard_calibration"]


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
    if not actor.has("admin"):
        actor.require("lab_manager")
        if institution_id != actor.institution_id or regulator_id is not None or {"admin", "regulator"} & set(roles):
            raise Forbidden("实验室主任只能为本机构创建员工账号 / a lab manager creates staff of their own institution")
    check_roles_fit(set(roles), institution_id, regulator_id, None)
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
        track(uow, "user", [uid], new=True)
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


def _managed_or_missing(actor: Actor, row: Any, missing: str) -> Any:
    """A lab manager's own institution's row; one of another institution is not there for them: the
    same answer as a missing one (never a refusal that confirms the id exists). The role comes first."""
    if not actor.has("admin"):
        actor.require("lab_manager")
    if row is None or not (actor.has("admin") or row.institution_id == actor.institution_id):
        raise NotFound(missing)
    return row


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
    if not actor.has("admin"):
        actor.require("lab_manager")
    with uow:
        person = _managed_or_missing(
            actor, uow.conn.execute(select(users).where(users.c.id == user_id)).first(), "没有该人员 / no such person"
        )
        _require_items(uow, [item_code])
        row = {
            "user_id": user_id,
            "item_code": item_code,
            "certificate_no": certificate_no,
            "valid_from": valid_from,
            "valid_until": valid_until,
        }
        qid = uow.conn.execute(insert(qualifications).values(**row).returning(qualifications.c.id)).scalar_one()
        track(uow, "qualification", [qid], new=True)
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
        track(uow, "standard", [sid], new=True)
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


def certificate_uncertainty(expanded: str | None, k: str | None, unit: str | None) -> dict[str, str | None]:
    """U > 0, k > 0 and a unit, all three or none; kept as the exact decimal text."""
    given = [v for v in (expanded, k, unit) if v is not None and str(v).strip()]
    if not given:
        return {"expanded_uncertainty": None, "coverage_factor": None, "uncertainty_unit": None}
    if len(given) != 3:
        raise InvalidInput(
            "扩展不确定度 U、包含因子 k 和单位须一并填写 / give U, k and the unit together", rule="uncertainty"
        )
    out: dict[str, str | None] = {}
    for name, value, label in (("expanded_uncertainty", expanded, "U"), ("coverage_factor", k, "k")):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidInput(f"{label} 不是数字 / {label} is not a number: {value!r}", rule="uncertainty") from None
        if not number.is_finite() or number <= 0 or len(str(value).strip()) > (32 if label == "U" else 8):
            raise InvalidInput(f"{label} 必须是正数 / {label} must be a positive number", rule="uncertainty")
        out[name] = str(value).strip()
    out["uncertainty_unit"] = unicodedata.normalize("NFKC", str(unit)).strip()[:16]  # ℃ → °C, ％ → %
    return out


def record_standard_calibration(
    uow: UnitOfWork,
    actor: Actor,
    standard_id: int,
    calibrated_by: str,
    certificate_no: str,
    calibrated_on: date,
    due: date,
    in_tolerance: bool,
    expanded_uncertainty: str | None = None,
    coverage_factor: str | None = None,
    uncertainty_unit: str | None = None,
) -> int:
    """Records a calibration of a standard; its certificate's U (with k and unit, "%" for relative)
    feeds the budgets of the procedures the standard serves."""
    uncertainty = certificate_uncertainty(expanded_uncertainty, coverage_factor, uncertainty_unit)
    if not actor.has("admin"):
        actor.require("lab_manager")
    with uow:
        std = _managed_or_missing(
            actor,
            uow.conn.execute(select(standards).where(standards.c.id == standard_id)).first(),
            "没有该计量标准 / no such standard",
        )
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
                **uncertainty,
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
        track(uow, "standard_calibration", [cid], new=True)
        track(uow, "standard", [standard_id])
        record_event(
            uow,
            actor.user_id,
            "standard.calibrated",
            "standard",
            standard_id,
            {k: str(v) if v is not None else None for k, v in before.items()},
            {**{k: str(v) for k, v in current.items()}, "in_tolerance": in_tolerance, **uncertainty},
            std.institution_id,
        )
        uow.commit()
        return int(cid)
