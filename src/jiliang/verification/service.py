"""Mandatory-verification and calibration workflow, one use case per step:
application → assignment → results (verifier) → check (checker) → approval (approver) → certificate.

Each step is one transaction with its audit records. Verifier, checker and approver are three
different people, each confirming with their password (a `Confirmation`) and signing the hash of
the record's content. Every step takes a batch (a checker checks a tray of water meters at once);
the single-record functions are the batch of one, so there is one implementation of each rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from ..audit import record_event
from ..auth import Actor, Confirmation
from ..bulk import insert_returning_ids, insert_rows
from ..db import UnitOfWork
from ..errors import Forbidden, InvalidInput, NotFound, RuleViolation
from ..measurement.conformity import Evaluation, PointReading, ReadingError, evaluate
from ..measurement.procedure import NoEditionInForce
from ..platform import shanghai_today
from ..registry.periods import Period, replace_by, valid_until
from ..registry.tables import (
    catalogue_types,
    instruments,
    owners,
    qualifications,
    rule_confirmations,
    standard_calibrations,
    standard_items,
    standards,
)
from ..types import utcnow
from .assignment import choose_institution
from .model import STAGES, content_hash, qualified, record_content, standard_problem
from .tables import applications, measurement_points, record_standards, signoffs, tasks, verification_records

__all__ = [
    "ReadingInput",
    "ResultsInput",
    "apply",
    "record_results",
    "record_results_batch",
    "check_record",
    "check_records",
    "approve_record",
    "approve_records",
    "load_contents",
]


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


def apply(
    uow: UnitOfWork,
    actor: Actor,
    instrument_ids: list[int],
    kind: str = "verification",
    conformity_statement: bool = True,
    note: str = "",
) -> list[int]:
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
            raise RuleViolation(
                "使用单位注册尚未批准 / the owner's registration is not approved yet", rule="owner_not_approved"
            )
        now = utcnow()
        app_id = conn.execute(
            insert(applications)
            .values(
                owner_id=owner.id,
                kind=kind,
                created_by=actor.user_id,
                created_at=now,
                conformity_statement=conformity_statement if kind == "calibration" else True,
                note=note,
            )
            .returning(applications.c.id)
        ).scalar_one()
        task_ids = []
        for iid in instrument_ids:
            inst = conn.execute(select(instruments).where(instruments.c.id == iid)).first()
            if inst is None or inst.owner_id != owner.id:
                raise Forbidden(f"器具 {iid} 不属于本单位 / instrument {iid} is not yours", rule="tenancy")
            if inst.status != "in_use":
                raise RuleViolation(f"器具 {iid} 已报废 / instrument {iid} is scrapped", rule="scrapped")
            if kind == "verification" and inst.item_code is None:
                raise RuleViolation(
                    f"器具 {iid} 不在强检目录内，请申请校准 / instrument {iid} is outside the "
                    "mandatory catalogue: apply for calibration",
                    rule="not_in_catalogue",
                )
            open_task = conn.execute(
                select(tasks.c.id).where(
                    tasks.c.instrument_id == iid, tasks.c.state.in_(("assigned", "recorded", "checked"))
                )
            ).first()
            if open_task is not None:
                raise RuleViolation(
                    f"器具 {iid} 已有进行中的任务 {open_task.id} / instrument {iid} already has "
                    f"open task {open_task.id}",
                    rule="duplicate_task",
                )
            inst_id = choose_institution(conn, inst.item_code, inst.district_code)
            tid = conn.execute(
                insert(tasks)
                .values(
                    application_id=app_id,
                    instrument_id=iid,
                    institution_id=inst_id,
                    kind=kind,
                    state="assigned",
                    created_at=now,
                    updated_at=now,
                )
                .returning(tasks.c.id)
            ).scalar_one()
            task_ids.append(int(tid))
            record_event(
                uow,
                actor.user_id,
                "task.assigned",
                "task",
                tid,
                None,
                {"instrument_id": iid, "institution_id": inst_id, "kind": kind},
                inst_id,
            )
        uow.commit()
        return task_ids


def _by_id(conn: Connection, table: Any, ids: Sequence[int]) -> dict[int, Any]:
    return {r.id: r for r in conn.execute(select(table).where(table.c.id.in_(set(ids))))} if ids else {}


def _decimal(text: str, what: str) -> Decimal:
    """A reading as typed: at most 15 significant digits, magnitude within 1e-12 … 1e12 (no instrument
    reads beyond that, and it keeps every computed error exact and short)."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidInput(f"{what} 不是数字：{text!r} / {what} is not a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} 不是有限数 / {what} must be finite")
    exponent = value.as_tuple().exponent  # an int for finite values
    if value and (len(value.as_tuple().digits) > 15 or not -12 <= value.adjusted() <= 12 or int(exponent) < -15):
        raise InvalidInput(
            f"{what} 超出可记录范围：{text!r} / {what} is out of the recordable range "
            "(at most 15 significant digits, 1e-12 to 1e12)"
        )
    return value


class _Context:
    """Everything the verifier's batch needs, loaded with one query per table."""

    def __init__(self, conn: Connection, actor: Actor, entries: Sequence[tuple[int, ResultsInput]]) -> None:
        self.tasks = _by_id(conn, tasks, [t for t, _ in entries])
        self.instruments = _by_id(conn, instruments, [t.instrument_id for t in self.tasks.values()])
        self.qualifications: list[Any] = [
            q._mapping for q in conn.execute(select(qualifications).where(qualifications.c.user_id == actor.user_id))
        ]
        std_ids = {s for _, r in entries for s in r.standard_ids}
        self.standards = _by_id(conn, standards, list(std_ids))
        self.serves: dict[int, set[str]] = defaultdict(set)
        self.calibrations: dict[int, list[Any]] = defaultdict(list)
        if std_ids:
            for sid, item in conn.execute(select(standard_items).where(standard_items.c.standard_id.in_(std_ids))):
                self.serves[sid].add(item)
            for c in conn.execute(
                select(standard_calibrations).where(standard_calibrations.c.standard_id.in_(std_ids))
            ):
                self.calibrations[c.standard_id].append(c._mapping)
        self.types = _by_id(conn, catalogue_types, [i.type_id for i in self.instruments.values() if i.type_id])
        self.confirmed: dict[str, set[str]] = defaultdict(set)
        for r in conn.execute(select(rule_confirmations.c.procedure_code, rule_confirmations.c.rule_id)):
            self.confirmed[r.procedure_code].add(r.rule_id)
        app_ids = {t.application_id for t in self.tasks.values() if t.kind == "calibration"}
        self.statement = (
            dict(
                conn.execute(
                    select(applications.c.id, applications.c.conformity_statement).where(applications.c.id.in_(app_ids))
                ).all()
            )
            if app_ids
            else {}
        )

    def period(self, inst: Any) -> Period:
        t = self.types.get(inst.type_id)
        if t is None:
            return Period(months=None, mode="unknown")
        return Period(
            months=t.period_months,
            mode=t.mode,
            service_life_months=t.service_life_months,
            source=t.source,
            confidence=t.confidence,
            note=t.note,
        )


def _check_entry(ctx: _Context, actor: Actor, task_id: int, res: ResultsInput, today: date) -> tuple[Any, Any]:
    task = ctx.tasks.get(task_id)
    if task is None or task.institution_id != actor.institution_id:
        raise NotFound(f"本机构没有任务 {task_id} / no task {task_id} at your institution")
    if task.state != "assigned":
        raise RuleViolation(f"任务 {task_id} 状态为 {task.state}，不能录入结果 / task is {task.state}", rule="state")
    if res.stage is not None and res.stage not in STAGES:
        raise InvalidInput(f"检定类别必须是 {'/'.join(STAGES)} / stage must be one of {', '.join(STAGES)}")
    if not res.readings:
        raise InvalidInput("没有测量数据 / no readings")
    if res.performed_on > today:
        raise InvalidInput("检定日期不能在将来 / the verification date cannot be in the future")
    if res.institution_valid_until and res.institution_valid_until < res.performed_on:
        raise InvalidInput("有效期不能早于检定日期 / valid-until cannot precede the verification date")
    inst = ctx.instruments[task.instrument_id]
    if not qualified(ctx.qualifications, inst.item_code, res.performed_on):
        raise RuleViolation(
            f"检定员 {actor.display_name} 在 {res.performed_on} 没有有效的 {inst.item_code} 项目资格 / "
            f"the verifier has no valid qualification for {inst.item_code} on {res.performed_on}",
            rule="qualification_invalid",
        )
    if not res.standard_ids:
        raise InvalidInput("请选择所用计量标准 / name the measurement standards used")
    for sid in res.standard_ids:
        std = ctx.standards.get(sid)
        if std is None or std.institution_id != task.institution_id:
            raise InvalidInput(f"计量标准 {sid} 不属于本机构 / standard {sid} is not your institution's")
        problem = standard_problem(
            std._mapping, ctx.serves[sid], ctx.calibrations[sid], inst.item_code, res.performed_on
        )
        if problem:
            raise RuleViolation(problem[1], rule=problem[0])
    return task, inst


def _evaluate(
    uow: UnitOfWork, ctx: _Context, task: Any, inst: Any, res: ResultsInput, readings: list[PointReading]
) -> Evaluation | None:
    procedure = uow.platform.procedures.get(inst.procedure_code) if inst.procedure_code else None
    verification = task.kind == "verification"
    if verification and procedure is None:
        raise RuleViolation(
            f"器具没有可用的检定规程（{inst.procedure_code}）/ no procedure for this instrument", rule="no_procedure"
        )
    if verification and res.stage is None:
        raise InvalidInput("请注明检定类别（首次/后续/使用中）/ give the verification stage")
    if not (verification or ctx.statement.get(task.application_id)):
        return None  # calibration without a statement of conformity: results and uncertainty only
    if procedure is None:
        raise RuleViolation(
            "没有规程无法给出符合性结论 / no procedure, so no conformity statement is possible", rule="no_procedure"
        )
    try:
        return evaluate(
            procedure,
            res.performed_on,
            res.stage or "subsequent",
            inst.parameters or {},
            readings,
            frozenset(ctx.confirmed[procedure.item_code]),
        )
    except (ReadingError, NoEditionInForce) as exc:
        raise InvalidInput(str(exc), rule="readings") from exc


def _dates(ctx: _Context, inst: Any, res: ResultsInput, verdict: str | None, kind: str) -> tuple[Any, Any, str]:
    """Valid-until (or replace-by) of a passed verification; unknown periods stay unknown."""
    if kind != "verification" or verdict != "pass":
        return None, None, ""
    period = ctx.period(inst)
    if period.mode == "first_only_limited_use":
        rb = inst.replace_by or replace_by(res.performed_on, period)
        return None, rb, "" if rb else "使用年限未知 / service life unknown"
    until = valid_until(res.performed_on, period, res.institution_valid_until)
    if period.mode == "first_only_scrap":
        return until, None, "首次强制检定，失准报废 / verified once; scrapped when inaccurate"
    return until, None, "" if until else "检定周期未知 / verification period unknown"


def _points(raw: Sequence[ReadingInput], readings: Sequence[PointReading], ev: Evaluation | None) -> list[dict]:
    rows = []
    for i, (src, rd) in enumerate(zip(raw, readings, strict=True)):
        row: dict[str, Any] = {
            "seq": i,
            "point_id": rd.point_id,
            "unit": "",
            "reference": str(rd.reference),
            "indication": str(rd.indication),
            "error": str(rd.indication - rd.reference),
            "relative_error_percent": None,
            "mpe_lower": None,
            "mpe_upper": None,
            "mpe_unit": None,
            "rule_id": None,
            "conforms": None,
            "advisory": False,
            "expanded_uncertainty": src.expanded_uncertainty,
            "coverage_factor": src.coverage_factor,
        }
        if ev is not None:
            p = ev.points[i]
            row.update(
                indication=str(p.indication),
                error=str(p.error),
                mpe_unit=p.mpe_unit,
                rule_id=p.rule_id,
                relative_error_percent=None if p.relative_error_percent is None else str(p.relative_error_percent),
                mpe_lower=None if p.mpe_lower is None else str(p.mpe_lower),
                mpe_upper=None if p.mpe_upper is None else str(p.mpe_upper),
                conforms=p.conforms,
                advisory=p.advisory,
            )
        rows.append(row)
    return rows


def record_results_batch(
    uow: UnitOfWork, confirmation: Confirmation, entries: Sequence[tuple[int, ResultsInput]]
) -> list[int]:
    """The verifier records readings; conformity comes from the procedure in force on the date."""
    actor = confirmation.actor
    actor.require("verifier")
    with uow:
        conn, now, today = uow.conn, utcnow(), shanghai_today()
        ctx = _Context(conn, actor, entries)
        records, all_points, stds = [], [], []
        for task_id, res in entries:
            task, inst = _check_entry(ctx, actor, task_id, res, today)
            readings = [
                PointReading(
                    r.point_id,
                    _decimal(r.reference, f"{r.point_id} 标准值 reference"),
                    _decimal(r.indication, f"{r.point_id} 示值 indication"),
                )
                for r in res.readings
            ]
            ev = _evaluate(uow, ctx, task, inst, res, readings)
            verdict = ev.verdict if ev else None
            until, rb, note = _dates(ctx, inst, res, verdict, task.kind)
            procedure = uow.platform.procedures.get(inst.procedure_code) if inst.procedure_code else None
            records.append(
                {
                    "task_id": task.id,
                    "status": "recorded",
                    "instrument_id": inst.id,
                    "institution_id": task.institution_id,
                    "verifier_id": actor.user_id,
                    "kind": task.kind,
                    "stage": res.stage,
                    "performed_on": res.performed_on,
                    "procedure_code": inst.procedure_code,
                    "regulation": ev.regulation
                    if ev
                    else (procedure.edition_on(res.performed_on).regulation if procedure else "委托校准 / calibration"),
                    "environment": dict(res.environment),
                    "decision_rule": f"{ev.decision_rule_zh} / {ev.decision_rule}"
                    if ev
                    else "不作符合性判定 / no statement of conformity",
                    "verdict": verdict,
                    "advisory": bool(ev and ev.advisory),
                    "valid_until": until,
                    "replace_by": rb,
                    "period_note": note,
                    "created_at": now,
                }
            )
            all_points.append(_points(res.readings, readings, ev))
            stds.append(sorted(set(res.standard_ids)))
        ids = insert_returning_ids(conn, verification_records, records)
        point_rows, std_rows, sign_rows = [], [], []
        for rid, rec, pts, sids in zip(ids, records, all_points, stds, strict=True):
            point_rows += [p | {"record_id": rid} for p in pts]
            std_rows += [{"record_id": rid, "standard_id": s} for s in sids]
            content = record_content(rec, pts, sids)
            digest = content_hash(content)
            _signed_cache(uow)[rid] = (content, digest)
            sign_rows.append(
                {"record_id": rid, "step": "verify", "user_id": actor.user_id, "signed_at": now, "content_hash": digest}
            )
            record_event(
                uow,
                actor.user_id,
                "verification.recorded",
                "verification_record",
                rid,
                None,
                {"task_id": rec["task_id"], "verdict": rec["verdict"], "content_hash": digest},
                rec["institution_id"],
            )
        insert_rows(conn, measurement_points, point_rows)
        insert_rows(conn, record_standards, std_rows)
        insert_rows(conn, signoffs, sign_rows)
        _set_task_states(conn, [r["task_id"] for r in records], "recorded", now)
        uow.commit()
        return [int(i) for i in ids]


def record_results(uow: UnitOfWork, confirmation: Confirmation, task_id: int, results: ResultsInput) -> int:
    return record_results_batch(uow, confirmation, [(task_id, results)])[0]


_CHUNK = 1000  # ids per IN list: well inside SQLite's and PostgreSQL's limits on bound parameters


def _set_where_in(conn: Connection, table: Any, ids: Sequence[int], **values: Any) -> None:
    """One set-based UPDATE per chunk instead of a statement per row."""
    for k in range(0, len(ids), _CHUNK):
        conn.execute(update(table).where(table.c.id.in_(ids[k : k + _CHUNK])).values(**values))


def _set_task_states(conn: Connection, task_ids: Sequence[int], state: str, now: Any) -> None:
    _set_where_in(conn, tasks, task_ids, state=state, updated_at=now)


def _signed_cache(uow: UnitOfWork) -> dict[int, tuple[dict[str, Any], str]]:
    """Contents hashed earlier in this same transaction (a batch that records, checks and approves):
    nothing outside the transaction can have changed them, so they need not be read and hashed again."""
    cache: dict[int, tuple[dict[str, Any], str]] = uow.memo.setdefault("signed_contents", {})
    return cache


def _contents_and_hashes(uow: UnitOfWork, recs: Sequence[Any]) -> tuple[dict[int, dict], dict[int, str]]:
    cache = _signed_cache(uow)
    missing = [r for r in recs if r.id not in cache]
    if missing:
        contents, signed = load_contents(uow.conn, missing), _verify_hashes(uow.conn, [r.id for r in missing])
        for rec in missing:
            cache[rec.id] = (contents[rec.id], _verified_hash(rec, contents[rec.id], signed))
    return {r.id: cache[r.id][0] for r in recs}, {r.id: cache[r.id][1] for r in recs}


def load_contents(conn: Connection, records: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """The signed content of each record, read back from the database (what the next person sees)."""
    ids = [r.id for r in records]
    points: dict[int, list[Any]] = defaultdict(list)
    for p in conn.execute(select(measurement_points).where(measurement_points.c.record_id.in_(ids))):
        points[p.record_id].append(p._mapping)
    stds: dict[int, list[int]] = defaultdict(list)
    for rid, sid in conn.execute(select(record_standards).where(record_standards.c.record_id.in_(ids))):
        stds[rid].append(sid)
    return {r.id: record_content(r._mapping, points[r.id], stds[r.id]) for r in records}


def _records_for_step(conn: Connection, actor: Actor, record_ids: Sequence[int], status: str) -> list[Any]:
    found = _by_id(conn, verification_records, record_ids)
    out = []
    for rid in record_ids:
        rec = found.get(rid)
        if rec is None or rec.institution_id != actor.institution_id:
            raise NotFound(f"本机构没有记录 {rid} / no record {rid} at your institution")
        if rec.status != status:
            raise RuleViolation(
                f"记录 {rid} 状态为 {rec.status}，需要 {status} / the record is {rec.status}, expected {status}",
                rule="state",
            )
        out.append(rec)
    if len(set(record_ids)) != len(record_ids):
        raise InvalidInput("记录重复 / a record appears twice in the batch")
    return out


def _signers(conn: Connection, record_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for r in conn.execute(
        select(signoffs.c.record_id, signoffs.c.step, signoffs.c.user_id).where(signoffs.c.record_id.in_(record_ids))
    ):
        out[r.record_id][r.step] = r.user_id
    return out


def _verified_hash(rec: Any, content: dict[str, Any], signed: dict[int, str]) -> str:
    """Recompute the content hash and insist it is what the verifier signed: no silent edits between steps."""
    digest = content_hash(content)
    if signed.get(rec.id) != digest:
        raise RuleViolation(
            f"记录 {rec.id} 在签名后被改动 / record {rec.id} changed after it was signed", rule="content_changed"
        )
    return digest


def _verify_hashes(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    return dict(
        conn.execute(
            select(signoffs.c.record_id, signoffs.c.content_hash).where(
                signoffs.c.record_id.in_(ids), signoffs.c.step == "verify"
            )
        ).all()
    )


def check_records(
    uow: UnitOfWork, confirmation: Confirmation, record_ids: Sequence[int], accept: bool = True, remark: str = ""
) -> None:
    """核验: a second person checks what the verifier entered; returning it sends the task back."""
    actor = confirmation.actor
    actor.require("checker")
    if not accept and not remark.strip():
        raise InvalidInput("退回必须说明原因 / say why the record is returned")
    with uow:
        conn, now = uow.conn, utcnow()
        recs = _records_for_step(conn, actor, record_ids, "recorded")
        signers = _signers(conn, record_ids)
        for rec in recs:
            if signers[rec.id].get("verify") == actor.user_id:
                raise RuleViolation(
                    "核验员不能核验自己检定的记录 / the checker must not be the verifier (separation of duties)",
                    rule="separation_of_duties",
                )
        status = "checked" if accept else "returned"
        _set_where_in(conn, verification_records, [r.id for r in recs], status=status)
        _set_task_states(conn, [r.task_id for r in recs], "checked" if accept else "assigned", now)
        if not accept:
            for rec in recs:
                record_event(
                    uow,
                    actor.user_id,
                    "verification.returned",
                    "verification_record",
                    rec.id,
                    {"status": "recorded"},
                    {"status": "returned", "remark": remark},
                    rec.institution_id,
                )
            uow.commit()
            return
        _, hashes = _contents_and_hashes(uow, recs)
        rows = []
        for rec in recs:
            h = hashes[rec.id]
            rows.append(
                {"record_id": rec.id, "step": "check", "user_id": actor.user_id, "signed_at": now, "content_hash": h}
            )
            record_event(
                uow,
                actor.user_id,
                "verification.checked",
                "verification_record",
                rec.id,
                {"status": "recorded"},
                {"status": "checked", "content_hash": h, "remark": remark},
                rec.institution_id,
            )
        insert_rows(conn, signoffs, rows)
        uow.commit()


def check_record(
    uow: UnitOfWork, confirmation: Confirmation, record_id: int, accept: bool = True, remark: str = ""
) -> None:
    check_records(uow, confirmation, [record_id], accept, remark)


def approve_records(uow: UnitOfWork, confirmation: Confirmation, record_ids: Sequence[int]) -> list[str]:
    """批准: a third person approves; certificates (or notices of non-conformity) are issued at once.
    Returns the certificate numbers in the order of `record_ids`."""
    from ..certificates.service import issue_for_records  # issuing belongs to the certificates context

    actor = confirmation.actor
    actor.require("approver")
    with uow:
        conn, now = uow.conn, utcnow()
        recs = _records_for_step(conn, actor, record_ids, "checked")
        signers = _signers(conn, record_ids)
        for rec in recs:
            if rec.kind == "verification" and rec.verdict == "unknown":
                raise RuleViolation(
                    f"记录 {rec.id}：规程对部分检定点没有给出允许误差，结论未知，不能出具证书 / the "
                    "procedure gives no MPE for some points, so the verdict is unknown and no "
                    "certificate can be issued",
                    rule="verdict_unknown",
                )
            if actor.user_id in (signers[rec.id].get("verify"), signers[rec.id].get("check")):
                raise RuleViolation(
                    "批准人不能是该记录的检定员或核验员 / the approver must be neither the verifier "
                    "nor the checker (separation of duties)",
                    rule="separation_of_duties",
                )
        contents, hashes = _contents_and_hashes(uow, recs)
        insert_rows(
            conn,
            signoffs,
            [
                {
                    "record_id": r.id,
                    "step": "approve",
                    "user_id": actor.user_id,
                    "signed_at": now,
                    "content_hash": hashes[r.id],
                }
                for r in recs
            ],
        )
        _set_where_in(conn, verification_records, [r.id for r in recs], status="approved")
        _set_task_states(conn, [r.task_id for r in recs], "issued", now)
        _update_instruments(conn, recs)
        numbers = issue_for_records(uow, actor, recs, contents, hashes)
        for rec, number in zip(recs, numbers, strict=True):
            record_event(
                uow,
                actor.user_id,
                "verification.approved",
                "verification_record",
                rec.id,
                {"status": "checked"},
                {"status": "approved", "certificate": number, "content_hash": hashes[rec.id]},
                rec.institution_id,
            )
        uow.commit()
        return numbers


def approve_record(uow: UnitOfWork, confirmation: Confirmation, record_id: int) -> str:
    return approve_records(uow, confirmation, [record_id])[0]


def _update_instruments(conn: Connection, recs: Sequence[Any]) -> None:
    """Keep each instrument's latest verification current in the same transaction (dashboards read it)."""
    verified = [r for r in recs if r.kind == "verification"]
    calibrated = [r for r in recs if r.kind != "verification"]
    if verified:
        conn.execute(
            update(instruments)
            .where(instruments.c.id == bindparam("iid"))
            .values(
                last_verified_on=bindparam("on"),
                last_conclusion=bindparam("verdict"),
                barred=bindparam("failed"),
                # a first-only instrument keeps its replace-by date through later (failed) checks
                valid_until=bindparam("until"),
                replace_by=func.coalesce(bindparam("rb"), instruments.c.replace_by),
            ),
            [
                {
                    "iid": r.instrument_id,
                    "on": r.performed_on,
                    "verdict": r.verdict,
                    "failed": r.verdict == "fail",
                    "until": None if r.verdict == "fail" else r.valid_until,
                    "rb": r.replace_by,
                }
                for r in verified
            ],
        )
    if calibrated:
        conn.execute(
            update(instruments)
            .where(instruments.c.id == bindparam("iid"))
            .values(last_verified_on=bindparam("on"), last_conclusion="calibrated"),
            [{"iid": r.instrument_id, "on": r.performed_on} for r in calibrated],
        )
