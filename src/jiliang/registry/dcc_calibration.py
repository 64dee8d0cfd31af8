"""A standard's calibration certificate imported as a DCC (`jiliang cert import-dcc`): the laboratory
named in it calibrated the standard on its performance date, under its unique identifier; the U it
states per range or point feeds the budgets of the procedures the standard serves.

A DCC carries no due date the institution may rely on: the recalibration interval is the institution's
own (JJF 1139-2005 §3, 计量器具检定周期确定原则和方法), given with the import; due = the calibration
date + the interval − 1 day, the last day the calibration is in force (as registry.periods does for
instruments). The whole calibration's U and k (standard_calibrations) keep the largest U stated, by
the standard uncertainty U/k, so older code paths that read one U stay on the safe side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, insert, select, update

from ..audit import record_event
from ..auth import Actor
from ..certificates.dcc_import import DccError, ImportedDcc, read_dcc
from ..certificates.dcc_signature import SignatureCheck
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound, RuleViolation
from ..ledger.append import track
from ..measurement.procedure import NoEditionInForce
from ..platform import shanghai_today
from ..verification.model import same_unit
from .periods import add_months
from .staff import _managed_or_missing
from .tables import (
    catalogue_items,
    institutions,
    standard_calibration_ranges,
    standard_calibrations,
    standard_items,
    standards,
)

__all__ = ["DccCalibration", "RangeRow", "import_dcc_calibration", "range_rows"]

MAX_INTERVAL_MONTHS = 120


@dataclass(frozen=True)
class RangeRow:
    quantity: str
    lower: str | None
    upper: str | None
    unit: str | None
    expanded_uncertainty: str
    coverage_factor: str
    uncertainty_unit: str


@dataclass(frozen=True)
class DccCalibration:
    calibration_id: int
    standard_id: int
    standard_name: str
    calibrated_by: str
    certificate_no: str
    calibrated_on: date
    due: date
    in_tolerance: bool
    expanded_uncertainty: str  # the largest U stated (by U/k), with its k and unit
    coverage_factor: str
    uncertainty_unit: str
    ranges: tuple[RangeRow, ...]
    signature: SignatureCheck
    current: bool  # it became the standard's current calibration (none later is recorded)
    notes: tuple[str, ...]  # what the user should know (units, a stated recalibration date, …)


def _halves(what: str) -> tuple[str, str]:
    """A name given as "中文 / English" split into its halves (one without " / " is the same in both), so
    that a message built from it still reads "中文 / English" with a single separator."""
    zh, sep, en = what.partition(" / ")
    return (zh, en) if sep else (what, what)


def _positive(text: str, what: str, quantity: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        zh, en = _halves(what)
        raise DccError(f"“{quantity}”的{zh}不是正数：{text} / {en} of “{quantity}” is not positive: {text}")
    return text


def _fits(text: str | None, size: int, what: str, quantity: str) -> str | None:
    if text is not None and len(text) > size:
        zh, en = _halves(what)
        raise DccError(f"“{quantity}”的{zh}超过 {size} 个字符 / {en} of “{quantity}” is longer than {size} characters")
    return text


def range_rows(dcc: ImportedDcc) -> list[RangeRow]:
    """Every U the DCC states, with the quantity, the point or range it applies to and k."""
    rows = []
    for q in dcc.quantities:
        name = q.name if len(q.name) <= 128 else q.name[:127] + "…"
        for v in q.uncertain:
            assert v.expanded_uncertainty is not None
            where = v.applies_to
            rows.append(
                RangeRow(
                    name,
                    _fits(where.lower if where else None, 32, "范围下限 / the lower end", name),
                    _fits(where.upper if where else None, 32, "范围上限 / the upper end", name),
                    _fits(where.unit if where else None, 32, "范围单位 / the range's unit", name),
                    _fits(_positive(v.expanded_uncertainty, "扩展不确定度 U / U", name), 32, "U", name) or "",
                    _fits(_positive(v.coverage_factor or "", "包含因子 k / k", name), 8, "k", name) or "",
                    _fits(v.unit, 32, "U 的单位 / the unit of U", name) or "",
                )
            )
    if not rows:
        raise DccError(
            "DCC 中没有扩展不确定度（U 和 k），无法用于计量标准 / the DCC states no expanded uncertainty (U with k): "
            "nothing to record for the standard"
        )
    return rows


def _largest(rows: Sequence[RangeRow], preferred: Sequence[str]) -> RangeRow:
    """The row with the largest U/k (then U) among those in the unit the standard is used in, when the
    DCC states one, else in the unit of its first U."""
    units = [same_unit(r.uncertainty_unit) for r in rows]
    unit = next((same_unit(p) for p in preferred if same_unit(p) in units), units[0])
    chosen = [r for r in rows if same_unit(r.uncertainty_unit) == unit]
    return max(
        chosen,
        key=lambda r: (Decimal(r.expanded_uncertainty) / Decimal(r.coverage_factor), Decimal(r.expanded_uncertainty)),
    )


def _used_units(uow: UnitOfWork, standard_id: int, on: date) -> list[str]:
    """The units the budgets of the procedures for the standard's catalogue items ask its U in
    (standard_unit of their edition in force on `on`: the standard's use today)."""
    names = set(
        uow.conn.execute(
            select(catalogue_items.c.name_zh)
            .join(standard_items, standard_items.c.item_code == catalogue_items.c.code)
            .where(standard_items.c.standard_id == standard_id)
        ).scalars()
    )
    units: list[str] = []
    procedures = uow.platform.procedures if uow.platform is not None else {}
    for code in sorted(procedures):
        procedure = procedures[code]
        if procedure.catalogue_item_zh not in names:
            continue
        try:
            model = procedure.edition_on(on).uncertainty
        except NoEditionInForce:
            continue
        if model is not None and model.standard_unit and model.standard_unit not in units:
            units.append(model.standard_unit)
    return units


def _notes(dcc: ImportedDcc, rows: Sequence[RangeRow], used: Sequence[str], whole: RangeRow) -> list[str]:
    notes = []
    stated = sorted({r.uncertainty_unit for r in rows})
    if used and not {same_unit(u) for u in used} & {same_unit(u) for u in stated}:
        notes.append(
            f"DCC 的不确定度单位（{'、'.join(stated)}）与本标准所用的（{'、'.join(used)}）不同，按原单位记录；"
            f"这些规程的预算不会取用 / the DCC states U in {', '.join(stated)}, the standard is used in "
            f"{', '.join(used)}: recorded in its own unit, which those budgets do not take"
        )
    if len(stated) > 1:
        notes.append(
            f"整份证书的 U 取 {whole.uncertainty_unit} 中最大者 / "
            f"the calibration's U is the largest in {whole.uncertainty_unit}"
        )
    if dcc.recalibration is not None:
        notes.append(
            f"DCC 写有再校准日期 {dcc.recalibration}（委托方的要求），未采用；有效期按本机构的校准间隔 / the DCC "
            f"states a recalibration date {dcc.recalibration} (the customer's); the due date follows your interval"
        )
    return notes


def import_dcc_calibration(
    uow: UnitOfWork,
    actor: Actor,
    standard_id: int,
    data: bytes,
    interval_months: int | None,
    trust_root: bytes | None = None,
    institution_id: int | None = None,
) -> DccCalibration:
    """Records the DCC as the calibration certificate of the standard, in one transaction with its audit
    event and ledger leaves; refuses (DccError, NotFound, …) with nothing written. `institution_id`: the
    standard must be that institution's (the command line acts for an institution it names)."""
    if not actor.has("admin"):
        actor.require("lab_manager")
    if interval_months is None:
        raise InvalidInput(
            "DCC 不给出有效期：请给出本机构按 JJF 1139 确定的校准间隔（--interval-months） / a DCC carries no due "
            "date: give the recalibration interval your institution set under JJF 1139 (--interval-months)",
            rule="interval",
        )
    if not 1 <= interval_months <= MAX_INTERVAL_MONTHS:
        raise InvalidInput(
            f"校准间隔须为 1 至 {MAX_INTERVAL_MONTHS} 个月 / the interval must be 1 to {MAX_INTERVAL_MONTHS} months",
            rule="interval",
        )
    dcc = read_dcc(data, trust_root)
    if not dcc.laboratory or len(dcc.laboratory) > 128:
        raise DccError(
            "DCC 没有写明校准实验室（或名称超过 128 字） / "
            "the DCC names no calibration laboratory (or one over 128 characters)"
        )
    if len(dcc.unique_identifier) > 64:
        raise DccError("DCC 的唯一编号超过 64 个字符 / the DCC's uniqueIdentifier is longer than 64 characters")
    rows = range_rows(dcc)
    due = add_months(dcc.calibrated_on, interval_months) - timedelta(days=1)
    in_tolerance = "fail" not in dcc.conformity
    with uow:
        conn = uow.conn
        std = _managed_or_missing(
            actor,
            conn.execute(select(standards).where(standards.c.id == standard_id)).first(),
            f"没有该计量标准：{standard_id} / no such standard: {standard_id}",
        )
        if institution_id is not None and std.institution_id != institution_id:
            name = conn.execute(select(institutions.c.name_zh).where(institutions.c.id == institution_id)).scalar()
            raise NotFound(
                f"计量标准 {standard_id} 不属于{name or '该机构'} / "
                f"standard {standard_id} is not one of that institution's"
            )
        cal = standard_calibrations.c
        if conn.execute(
            select(cal.id).where(
                cal.standard_id == standard_id,
                cal.certificate_no == dcc.unique_identifier,
                cal.calibrated_by == dcc.laboratory,
            )
        ).first():
            raise RuleViolation(
                f"证书 {dcc.unique_identifier} 已记录在该标准上 / certificate {dcc.unique_identifier} of "
                f"{dcc.laboratory} is already recorded for this standard",
                rule="duplicate",
            )
        used = _used_units(uow, standard_id, shanghai_today())
        whole = _largest(rows, used)
        if len(whole.uncertainty_unit) > 16:
            raise DccError(
                f"U 的单位过长：{whole.uncertainty_unit} / the unit of U is too long: {whole.uncertainty_unit}"
            )
        latest = conn.execute(select(func.max(cal.calibrated_on)).where(cal.standard_id == standard_id)).scalar()
        signature = dcc.signature
        uncertainty = {
            "expanded_uncertainty": whole.expanded_uncertainty,
            "coverage_factor": whole.coverage_factor,
            "uncertainty_unit": whole.uncertainty_unit,
        }
        cid = conn.execute(
            insert(standard_calibrations)
            .values(
                standard_id=standard_id,
                calibrated_by=dcc.laboratory,
                certificate_no=dcc.unique_identifier,
                calibrated_on=dcc.calibrated_on,
                due=due,
                in_tolerance=in_tolerance,
                dcc_xml=data,
                dcc_signature=signature.status,
                dcc_signed_by=signature.subject,
                **uncertainty,
            )
            .returning(cal.id)
        ).scalar_one()
        conn.execute(
            insert(standard_calibration_ranges),
            [{"calibration_id": cid, "seq": i, **r.__dict__} for i, r in enumerate(rows)],
        )
        track(uow, "standard_calibration", [cid], new=True)
        current = latest is None or dcc.calibrated_on >= latest  # a later calibration stays the current one
        before: dict[str, Any] = {}
        after: dict[str, Any] = {
            "certificate_no": dcc.unique_identifier,
            "calibrated_by": dcc.laboratory,
            "calibrated_on": str(dcc.calibrated_on),
            "due": str(due),
            "interval_months": interval_months,
            "in_tolerance": in_tolerance,
            "signature": signature.status,
            "signed_by": signature.subject,
            "ranges": len(rows),
            **uncertainty,
        }
        if current:
            now = {
                "calibrated_by": dcc.laboratory,
                "calibration_certificate_no": dcc.unique_identifier,
                # an out-of-tolerance calibration leaves the standard unusable until recalibrated
                "calibration_due": due if in_tolerance else dcc.calibrated_on,
            }
            before = {k: None if getattr(std, k) is None else str(getattr(std, k)) for k in now}
            conn.execute(update(standards).where(standards.c.id == standard_id).values(**now))
            track(uow, "standard", [standard_id])
        record_event(
            uow,
            actor.user_id,
            "standard.dcc_imported",
            "standard",
            standard_id,
            before or None,
            after,
            std.institution_id,
        )
        uow.commit()
    return DccCalibration(
        int(cid),
        standard_id,
        std.name,
        dcc.laboratory,
        dcc.unique_identifier,
        dcc.calibrated_on,
        due,
        in_tolerance,
        whole.expanded_uncertainty,
        whole.coverage_factor,
        whole.uncertainty_unit,
        tuple(rows),
        signature,
        current,
        tuple(_notes(dcc, rows, used, whole)),
    )
