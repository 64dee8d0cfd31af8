"""Mandatory-verification and calibration workflow, one use case per step:
application → assignment → results (verifier) → check (checker) → approval (approver) → certificate.

Each step is one transaction with its audit record; verifier, checker and approver are three
different people, each confirming with their password (a `Confirmation`) and signing the hash
of the record's content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..audit import record_event
from ..auth import Actor, Confirmation
from ..certificates.canonical import canonical_json, sha256_hex
from ..db import UnitOfWork
from ..errors import Forbidden, InvalidInput, NotFound, RuleViolation
from ..measurement.conformity import PointReading, ReadingError, evaluate
from ..measurement.procedure import NoEditionInForce
from ..registry.periods import Period, replace_by, valid_until
from ..registry.tables import (
    catalogue_types, instruments, owners, qualifications, rule_confirmations, standard_calibrations, standard_items,
    standards,
)
from ..platform import shanghai_today
from ..types import utcnow
from .assignment import choose_institution
from .tables import applications, measurement_points, record_standards, signoffs, tasks, verification_records

__all__ = ["ReadingInput", "ResultsInput", "apply", "record_results", "check_record", "approve_record"]

STAGES = ("initial", "subsequent", "in_service")


@dataclass(frozen=True)
class ReadingInput:
    point_id: str
    reference: str
    indication: str
    expanded_uncertainty: str | None = None  # calibration: U entered by the laboratory
    coverage_factor: str | None = None


@dataclass(frozen=True)
class ResultsInput:
    performed_on: date
    standard_ids: list[int]
    readings: list[ReadingInput]
    stage: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    institution_valid_until: date | None = None


def apply(uow: UnitOfWork, actor: Actor, instrument_ids: list[int], kind: str = "verification",
          conformity_statement: bool = True, note: str = "") -> list[int]:
    """The owner applies; each instrument becomes a task at an authorised institution."""
    if kind not in ("verification", "calibration"):
        raise InvalidInput("申请类型必须是 verification 或 calibration / kind must be verification or calibration")
    if actor.owner_id is None:
        raise Forbidden("只有使用单位可以申请检定 / only an owner applies for verification")
    if not instrument_ids:
        raise InvalidInput("请至少选择一台器具 / choose at least one instrument")
    with uow:
        conn = uow.conn
        owner = conn.execute(select(owners).where(owners.c.id == actor.owner_id)).one()
        if owner.status != "approved":
            raise RuleViolation("使用单位注册尚未批准 / the owner's registration is not approved yet",
                                rule="owner_not_approved")
        now = utcnow()
        app_id = conn.execute(insert(applications).values(
            owner_id=owner.id, kind=kind, created_by=actor.user_id, created_at=now,
            conformity_statement=conformity_statement if kind == "calibration" else True, note=note,
        ).returning(applications.c.id)).scalar_one()
        task_ids = []
        for iid in instrument_ids:
            inst = conn.execute(select(instruments).where(instruments.c.id == iid)).first()
            if inst is None or inst.owner_id != owner.id:
                raise Forbidden(f"器具 {iid} 不属于本单位 / instrument {iid} is not yours", rule="tenancy")
            if inst.status != "in_use":
                raise RuleViolation(f"器具 {iid} 已报废 / instrument {iid} is scrapped", rule="scrapped")
            if kind == "verification" and inst.item_code is None:
                raise RuleViolation(f"器具 {iid} 不在强检目录内，请申请校准 / instrument {iid} is outside the "
                                    "mandatory catalogue: apply for calibration", rule="not_in_catalogue")
            open_task = conn.execute(select(tasks.c.id).where(
                tasks.c.instrument_id == iid, tasks.c.state.in_(("assigned", "recorded", "checked"))
            )).first()
            if open_task is not None:
                raise RuleViolation(f"器具 {iid} 已有进行中的任务 {open_task.id} / instrument {iid} already has "
                                    f"open task {open_task.id}", rule="duplicate_task")
            inst_id = choose_institution(conn, inst.item_code, inst.district_code)
            tid = conn.execute(insert(tasks).values(
                application_id=app_id, instrument_id=iid, institution_id=inst_id, kind=kind,
                state="assigned", created_at=now, updated_at=now,
            ).returning(tasks.c.id)).scalar_one()
            task_ids.append(int(tid))
            record_event(uow, actor.user_id, "task.assigned", "task", tid, None,
                         {"instrument_id": iid, "institution_id": inst_id, "kind": kind}, inst_id)
        uow.commit()
        return task_ids


def _staff_task(conn: Connection, actor: Actor, task_id: int) -> Any:
    task = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    if task is None or task.institution_id != actor.institution_id:
        raise NotFound(f"本机构没有任务 {task_id} / no task {task_id} at your institution")
    return task


def _require_qualified(conn: Connection, actor: Actor, item_code: str | None, on: date) -> None:
    if item_code is None:
        return
    q = conn.execute(select(qualifications.c.id).where(
        qualifications.c.user_id == actor.user_id, qualifications.c.item_code == item_code,
        qualifications.c.valid_from <= on, qualifications.c.valid_until >= on,
    )).first()
    if q is None:
        raise RuleViolation(
            f"检定员 {actor.display_name} 在 {on} 没有有效的 {item_code} 项目资格 / verifier has no valid "
            f"qualification for {item_code} on {on}", rule="qualification_invalid")


def _require_standards(conn: Connection, institution_id: int, item_code: str | None, ids: list[int],
                       on: date) -> list[Any]:
    if not ids:
        raise InvalidInput("请选择所用计量标准 / name the measurement standards used")
    rows = conn.execute(select(standards).where(standards.c.id.in_(ids))).all()
    found = {r.id: r for r in rows}
    for sid in ids:
        s = found.get(sid)
        if s is None or s.institution_id != institution_id:
            raise InvalidInput(f"计量标准 {sid} 不属于本机构 / standard {sid} is not your institution's")
        if s.examination_valid_until < on:
            raise RuleViolation(f"计量标准《{s.name}》考核证书已于 {s.examination_valid_until} 过期 / the "
                                f"examination certificate of standard {sid} expired", rule="standard_expired")
        # the calibration in force on the date is the latest one made on or before it
        latest = conn.execute(select(standard_calibrations.c.due, standard_calibrations.c.in_tolerance).where(
            standard_calibrations.c.standard_id == sid, standard_calibrations.c.calibrated_on <= on,
        ).order_by(standard_calibrations.c.calibrated_on.desc(), standard_calibrations.c.id.desc()).limit(1)).first()
        if latest is None or not latest.in_tolerance or latest.due < on:
            raise RuleViolation(f"计量标准《{s.name}》在 {on} 没有有效的溯源（校准）/ standard {sid} has no valid "
                                f"in-tolerance calibration on {on}", rule="standard_calibration_expired")
        if item_code is not None and conn.execute(select(standard_items.c.standard_id).where(
            standard_items.c.standard_id == sid, standard_items.c.item_code == item_code
        )).first() is None:
            raise RuleViolation(f"计量标准《{s.name}》不适用于项目 {item_code} / standard {sid} does not serve "
                                f"{item_code}", rule="standard_not_for_item")
    return [found[i] for i in ids]


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidInput(f"{what} 不是数字：{text!r} / {what} is not a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} 不是有限数 / {what} must be finite")
    return value


def _period_of(conn: Connection, inst: Any) -> Period:
    if inst.type_id is None:
        return Period(months=None, mode="unknown", service_life_months=None, source="", confidence="", note="")
    t = conn.execute(select(catalogue_types).where(catalogue_types.c.id == inst.type_id)).one()
    return Period(months=t.period_months, mode=t.mode, service_life_months=t.service_life_months,
                  source=t.source, confidence=t.confidence, note=t.note)


def record_content(conn: Connection, record_id: int) -> dict[str, Any]:
    """What each signatory signs: the record and its points as exact text (hashed canonically)."""
    r = conn.execute(select(verification_records).where(verification_records.c.id == record_id)).one()
    pts = conn.execute(select(measurement_points).where(measurement_points.c.record_id == record_id)
                       .order_by(measurement_points.c.seq)).mappings().all()
    std_ids = conn.execute(select(record_standards.c.standard_id).where(record_standards.c.record_id == record_id)
                           .order_by(record_standards.c.standard_id)).scalars().all()
    return _content(r._mapping, list(pts), list(std_ids))


def _content(r: Any, points: list[Any], std_ids: list[int]) -> dict[str, Any]:
    keys = ("task_id", "instrument_id", "institution_id", "verifier_id", "kind", "stage", "performed_on",
            "procedure_code", "regulation", "decision_rule", "verdict", "advisory", "valid_until", "replace_by")
    point_keys = ("seq", "point_id", "unit", "reference", "indication", "error", "relative_error_percent",
                  "mpe_lower", "mpe_upper", "mpe_unit", "rule_id", "conforms", "advisory",
                  "expanded_uncertainty", "coverage_factor")

    def text(v: Any) -> Any:
        return v if v is None or isinstance(v, bool | str) else str(v)

    return {
        "record": {k: text(r[k]) for k in keys},
        "environment": {str(k): str(v) for k, v in (r["environment"] or {}).items()},
        "standards": [str(s) for s in std_ids],
        "points": [{k: text(p[k]) for k in point_keys} for p in points],
    }


def record_results(uow: UnitOfWork, confirmation: Confirmation, task_id: int, results: ResultsInput) -> int:
    """The verifier records readings; conformity comes from the procedure in force on the date."""
    actor = confirmation.actor
    actor.require("verifier")
    if results.stage is not None and results.stage not in STAGES:
        raise InvalidInput(f"检定类别必须是 {'/'.join(STAGES)} / stage must be one of {', '.join(STAGES)}")
    if not results.readings:
        raise InvalidInput("没有测量数据 / no readings")
    with uow:
        conn = uow.conn
        task = _staff_task(conn, actor, task_id)
        if task.state != "assigned":
            raise RuleViolation(f"任务状态为 {task.state}，不能录入结果 / task is {task.state}", rule="state")
        inst = conn.execute(select(instruments).where(instruments.c.id == task.instrument_id)).one()
        if results.performed_on > shanghai_today():
            raise InvalidInput("检定日期不能在将来 / the verification date cannot be in the future")
        _require_qualified(conn, actor, inst.item_code, results.performed_on)
        stds = _require_standards(conn, task.institution_id, inst.item_code, results.standard_ids,
                                  results.performed_on)
        readings = [PointReading(r.point_id, _decimal(r.reference, f"{r.point_id} 标准值 reference"),
                                 _decimal(r.indication, f"{r.point_id} 示值 indication")) for r in results.readings]
        procedure = uow.platform.procedures.get(inst.procedure_code) if inst.procedure_code else None
        verification = task.kind == "verification"
        if verification and procedure is None:
            raise RuleViolation(f"器具没有可用的检定规程（{inst.procedure_code}）/ no procedure for this instrument",
                                rule="no_procedure")
        if verification and results.stage is None:
            raise InvalidInput("请注明检定类别（首次/后续/使用中）/ give the verification stage")
        wants_verdict = verification or bool(conn.execute(select(applications.c.conformity_statement).where(
            applications.c.id == task.application_id)).scalar_one())
        evaluation = None
        if procedure is not None and wants_verdict:
            confirmed = frozenset(conn.execute(select(rule_confirmations.c.rule_id).where(
                rule_confirmations.c.procedure_code == procedure.item_code)).scalars())
            try:
                evaluation = evaluate(procedure, results.performed_on, results.stage or "subsequent",
                                      inst.parameters or {}, readings, confirmed)
            except (ReadingError, NoEditionInForce) as exc:
                raise InvalidInput(str(exc), rule="readings") from exc
        elif wants_verdict:
            raise RuleViolation("没有规程无法给出符合性结论 / no procedure, so no conformity statement is possible",
                                rule="no_procedure")
        period = _period_of(conn, inst)
        verdict = evaluation.verdict if evaluation else None
        until = rb = None
        note = ""
        if verification and verdict == "pass":
            if period.mode == "first_only_limited_use":
                rb = inst.replace_by or replace_by(results.performed_on, period)
                note = "" if rb else "使用年限未知 / service life unknown"
            else:
                until = valid_until(results.performed_on, period, results.institution_valid_until)
                if period.mode == "first_only_scrap":
                    note = "首次强制检定，失准报废 / verified once; scrapped when inaccurate"
                elif until is None:
                    note = "检定周期未知 / verification period unknown"
        if results.institution_valid_until and results.institution_valid_until < results.performed_on:
            raise InvalidInput("有效期不能早于检定日期 / valid-until cannot precede the verification date")
        now = utcnow()
        rec = {
            "task_id": task.id, "status": "recorded", "instrument_id": inst.id, "institution_id": task.institution_id,
            "verifier_id": actor.user_id, "kind": task.kind, "stage": results.stage,
            "performed_on": results.performed_on, "procedure_code": inst.procedure_code,
            "regulation": evaluation.regulation if evaluation else (
                procedure.edition_on(results.performed_on).regulation if procedure else "委托校准 / calibration"),
            "environment": dict(results.environment),
            "decision_rule": evaluation.decision_rule if evaluation else "不作符合性判定 / no statement of conformity",
            "verdict": verdict, "advisory": bool(evaluation and evaluation.advisory),
            "valid_until": until, "replace_by": rb, "period_note": note, "created_at": now,
        }
        rid = conn.execute(insert(verification_records).values(**rec).returning(verification_records.c.id)).scalar_one()
        points = _point_rows(rid, results.readings, readings, evaluation)
        conn.execute(insert(measurement_points), points)
        conn.execute(insert(record_standards), [{"record_id": rid, "standard_id": s.id} for s in stds])
        content_hash = sha256_hex(canonical_json(_content(rec, points, sorted(s.id for s in stds))))
        conn.execute(insert(signoffs).values(record_id=rid, step="verify", user_id=actor.user_id,
                                             signed_at=now, content_hash=content_hash))
        conn.execute(update(tasks).where(tasks.c.id == task.id).values(state="recorded", updated_at=now))
        record_event(uow, actor.user_id, "verification.recorded", "verification_record", rid, None,
                     {"task_id": task.id, "verdict": verdict, "content_hash": content_hash}, task.institution_id)
        uow.commit()
        return int(rid)


def _point_rows(rid: int, raw: list[ReadingInput], readings: list[PointReading], evaluation: Any) -> list[dict]:
    rows = []
    for i, (src, rd) in enumerate(zip(raw, readings, strict=True)):
        row: dict[str, Any] = {
            "record_id": rid, "seq": i, "point_id": rd.point_id, "unit": "", "reference": str(rd.reference),
            "indication": str(rd.indication), "error": str(rd.indication - rd.reference),
            "relative_error_percent": None, "mpe_lower": None, "mpe_upper": None, "mpe_unit": None,
            "rule_id": None, "conforms": None, "advisory": False,
            "expanded_uncertainty": src.expanded_uncertainty, "coverage_factor": src.coverage_factor,
        }
        if evaluation is not None:
            p = evaluation.points[i]
            row.update(
                indication=str(p.indication), error=str(p.error),
                relative_error_percent=None if p.relative_error_percent is None else str(p.relative_error_percent),
                mpe_lower=None if p.mpe_lower is None else str(p.mpe_lower),
                mpe_upper=None if p.mpe_upper is None else str(p.mpe_upper),
                mpe_unit=p.mpe_unit, rule_id=p.rule_id, conforms=p.conforms, advisory=p.advisory,
            )
        rows.append(row)
    return rows


def _record_for_step(conn: Connection, actor: Actor, record_id: int, status: str) -> Any:
    rec = conn.execute(select(verification_records).where(verification_records.c.id == record_id)).first()
    if rec is None or rec.institution_id != actor.institution_id:
        raise NotFound(f"本机构没有记录 {record_id} / no record {record_id} at your institution")
    if rec.status != status:
        raise RuleViolation(f"记录状态为 {rec.status}，需要 {status} / the record is {rec.status}, expected {status}",
                            rule="state")
    return rec


def _signers(conn: Connection, record_id: int) -> dict[str, int]:
    rows = conn.execute(select(signoffs.c.step, signoffs.c.user_id).where(signoffs.c.record_id == record_id))
    return {r.step: r.user_id for r in rows}


def check_record(uow: UnitOfWork, confirmation: Confirmation, record_id: int, accept: bool = True,
                 remark: str = "") -> None:
    """核验: a second person checks what the verifier entered; returning it sends the task back."""
    actor = confirmation.actor
    actor.require("checker")
    with uow:
        conn = uow.conn
        rec = _record_for_step(conn, actor, record_id, "recorded")
        if _signers(conn, record_id).get("verify") == actor.user_id:
            raise RuleViolation("核验员不能核验自己检定的记录 / the checker must not be the verifier "
                                "(separation of duties)", rule="separation_of_duties")
        now = utcnow()
        if not accept:
            if not remark.strip():
                raise InvalidInput("退回必须说明原因 / say why the record is returned")
            conn.execute(update(verification_records).where(verification_records.c.id == record_id)
                         .values(status="returned"))
            conn.execute(update(tasks).where(tasks.c.id == rec.task_id).values(state="assigned", updated_at=now))
            record_event(uow, actor.user_id, "verification.returned", "verification_record", record_id,
                         {"status": "recorded"}, {"status": "returned", "remark": remark}, rec.institution_id)
            uow.commit()
            return
        content_hash = sha256_hex(canonical_json(record_content(conn, record_id)))
        conn.execute(insert(signoffs).values(record_id=record_id, step="check", user_id=actor.user_id,
                                             signed_at=now, content_hash=content_hash))
        conn.execute(update(verification_records).where(verification_records.c.id == record_id).values(status="checked"))
        conn.execute(update(tasks).where(tasks.c.id == rec.task_id).values(state="checked", updated_at=now))
        record_event(uow, actor.user_id, "verification.checked", "verification_record", record_id,
                     {"status": "recorded"}, {"status": "checked", "content_hash": content_hash, "remark": remark},
                     rec.institution_id)
        uow.commit()


def approve_record(uow: UnitOfWork, confirmation: Confirmation, record_id: int) -> str:
    """批准: a third person approves; the certificate (or notice of non-conformity) is issued at once.
    Returns the certificate number."""
    from ..certificates.service import issue_for_record  # issuing belongs to the certificates context

    actor = confirmation.actor
    actor.require("approver")
    with uow:
        conn = uow.conn
        rec = _record_for_step(conn, actor, record_id, "checked")
        if rec.kind == "verification" and rec.verdict == "unknown":
            raise RuleViolation("规程对部分检定点没有给出允许误差，结论未知，不能出具证书 / the procedure gives no MPE "
                                "for some points, so the verdict is unknown and no certificate can be issued",
                                rule="verdict_unknown")
        signers = _signers(conn, record_id)
        if actor.user_id in (signers.get("verify"), signers.get("check")):
            raise RuleViolation("批准人不能是该记录的检定员或核验员 / the approver must be neither the verifier nor "
                                "the checker (separation of duties)", rule="separation_of_duties")
        now = utcnow()
        content = record_content(conn, record_id)
        content_hash = sha256_hex(canonical_json(content))
        conn.execute(insert(signoffs).values(record_id=record_id, step="approve", user_id=actor.user_id,
                                             signed_at=now, content_hash=content_hash))
        conn.execute(update(verification_records).where(verification_records.c.id == record_id)
                     .values(status="approved"))
        conn.execute(update(tasks).where(tasks.c.id == rec.task_id).values(state="issued", updated_at=now))
        _update_instrument(conn, rec)
        number = issue_for_record(uow, actor, rec, content, content_hash)
        record_event(uow, actor.user_id, "verification.approved", "verification_record", record_id,
                     {"status": "checked"}, {"status": "approved", "certificate": number, "content_hash": content_hash},
                     rec.institution_id)
        uow.commit()
        return number


def _update_instrument(conn: Connection, rec: Any) -> None:
    """Keep the instrument's latest verification current in the same transaction (dashboards read it)."""
    if rec.kind != "verification":
        values: dict[str, Any] = {"last_verified_on": rec.performed_on, "last_conclusion": "calibrated"}
    else:
        failed = rec.verdict == "fail"
        values = {"last_verified_on": rec.performed_on, "last_conclusion": rec.verdict, "barred": failed,
                  "valid_until": None if failed else rec.valid_until}
        if rec.replace_by is not None:
            values["replace_by"] = rec.replace_by
    conn.execute(update(instruments).where(instruments.c.id == rec.instrument_id).values(**values))
