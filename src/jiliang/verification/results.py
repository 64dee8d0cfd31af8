"""The verifier's step: readings recorded and signed, conformity decided by the procedure in force
on the date, valid-until (or replace-by) from the catalogue period. One implementation for one
record or a batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from ..audit import record_event
from ..auth import Actor, Confirmation
from ..bulk import among, insert_rows, insert_with_ids
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound, RuleViolation
from ..ledger.append import track, track_children
from ..measurement.conformity import Evaluation, PointReading
from ..measurement.correction_curve import fit_correction_curve
from ..platform import shanghai_today
from ..registry.calibrations import calibrations_by_standard
from ..registry.periods import Period, replace_by, valid_until
from ..registry.tables import (
    catalogue_types,
    instruments,
    qualifications,
    rule_confirmations,
    standard_items,
    standards,
)
from ..types import utcnow
from .model import STAGES, content_hash, qualified, record_content, standard_problem
from .readings import (
    ReadingInput,
    assessment_fields,
    budget_context_for,
    judge_readings,
    parse_reading,
    point_fields,
    tests_fields,
    uncertainties,
)
from .store import by_id, signed_contents
from .tables import applications, measurement_points, record_standards, signoffs, tasks, verification_records

__all__ = ["ReadingInput", "ResultsInput", "record_results", "record_results_batch"]

LARGE_BATCH = 100  # records from which a batch pauses the cyclic garbage collector (db.UnitOfWork)


@dataclass(frozen=True)
class ResultsInput:
    performed_on: date
    standard_ids: list[int]
    readings: list[ReadingInput]
    stage: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    institution_valid_until: date | None = None


class _Context:
    """Everything the verifier's batch needs, loaded with one query per table."""

    def __init__(self, conn: Connection, actor: Actor, entries: Sequence[tuple[int, ResultsInput]]) -> None:
        self.tasks = by_id(conn, tasks, [t for t, _ in entries])
        # a task whose record awaits its check or approval cannot take a second one
        self.in_progress = set(
            conn.execute(
                select(verification_records.c.task_id).where(
                    among(conn, verification_records.c.task_id, list(self.tasks)),
                    verification_records.c.status.in_(("recorded", "checked")),
                )
            ).scalars()
        )
        ids = list({t.instrument_id for t in self.tasks.values()})
        used = [instruments.c[k] for k in ("id", "item_code", "type_id", "procedure_code", "parameters", "replace_by")]
        self.instruments = {r.id: r for r in conn.execute(select(*used).where(among(conn, instruments.c.id, ids)))}
        self.qualifications: list[Any] = [
            q._mapping for q in conn.execute(select(qualifications).where(qualifications.c.user_id == actor.user_id))
        ]
        std_ids = {s for _, r in entries for s in r.standard_ids}
        self.standards = by_id(conn, standards, list(std_ids))
        self.serves: dict[int, set[str]] = defaultdict(set)
        self.calibrations: dict[int, list[Any]] = calibrations_by_standard(conn, std_ids)
        if std_ids:
            for sid, item in conn.execute(select(standard_items).where(standard_items.c.standard_id.in_(std_ids))):
                self.serves[sid].add(item)
        self.types = by_id(conn, catalogue_types, [i.type_id for i in self.instruments.values() if i.type_id])
        self.confirmed: dict[str, set[str]] = defaultdict(set)
        for r in conn.execute(select(rule_confirmations.c.procedure_code, rule_confirmations.c.rule_id)):
            self.confirmed[r.procedure_code].add(r.rule_id)
        self._contexts: dict[tuple[Any, ...], dict[str, Any]] = {}
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

    def budget_context(self, procedure_code: str | None, procedure: Any, res: ResultsInput) -> dict[str, Any]:
        """readings.budget_context_for, worked out once for the batch's entries that share the procedure,
        date, standards and environment (a day's work at one bench). Read, never changed, by its users."""
        key = (procedure_code, res.performed_on, tuple(res.standard_ids), tuple(res.environment.items()))
        found = self._contexts.get(key)
        if found is None:
            found = self._contexts[key] = budget_context_for(
                procedure, res.performed_on, res.standard_ids, self.calibrations, res.environment
            )
        return found

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
    if task.state != "assigned" or task_id in ctx.in_progress:
        state = "recorded" if task_id in ctx.in_progress else task.state
        raise RuleViolation(f"任务 {task_id} 状态为 {state}，不能录入结果 / task is {state}", rule="state")
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
) -> tuple[Evaluation | None, list[dict[str, Any]]]:
    """The verdict (None without a statement of conformity) and each point's U and decision."""
    procedure = uow.platform.procedures.get(inst.procedure_code) if inst.procedure_code else None
    context = ctx.budget_context(inst.procedure_code, procedure, res)
    ev = judge_readings(
        procedure,
        inst.procedure_code,
        task.kind,
        bool(ctx.statement.get(task.application_id)),
        res.stage,
        res.performed_on,
        inst.parameters or {},
        readings,
        frozenset(ctx.confirmed[procedure.item_code]) if procedure else frozenset(),
        context,
    )
    if ev is not None:
        return ev, [assessment_fields(p.uncertainty, p.uncertainty_problem, p.decision) for p in ev.points]
    found = uncertainties(procedure, res.performed_on, inst.parameters or {}, readings, context)
    return None, [assessment_fields(u, problem, None) for u, problem in found]


def _correction_curve(procedure: Any, on: date, readings: Sequence[PointReading]) -> dict[str, Any] | None:
    """The least-squares correction line the edition asks for, through the recorded points."""
    edition = procedure.edition_on(on) if procedure else None
    if edition is None or edition.correction_curve is None:
        return None
    return fit_correction_curve(edition.correction_curve, [(r.reference, r.indication) for r in readings])


def _dates(ctx: _Context, inst: Any, res: ResultsInput, verdict: str | None, kind: str) -> tuple[Any, Any, str]:
    """Valid-until (or replace-by) of a passed verification; unknown periods stay unknown."""
    if kind != "verification" or verdict != "pass":
        return None, None, ""
    if res.stage == "in_service":  # a supervisory check: the period runs from the last verification
        return None, None, "使用中检查不更新有效期 / an in-service inspection does not renew the validity"
    period = ctx.period(inst)
    if period.mode == "first_only_limited_use":
        rb = inst.replace_by or replace_by(res.performed_on, period)
        return None, rb, "" if rb else "使用年限未知 / service life unknown"
    until = valid_until(res.performed_on, period, res.institution_valid_until)
    if period.mode == "first_only_scrap":
        return until, None, "首次强制检定，失准报废 / verified once; scrapped when inaccurate"
    return until, None, "" if until else "检定周期未知 / verification period unknown"


def _points(
    raw: Sequence[ReadingInput],
    readings: Sequence[PointReading],
    ev: Evaluation | None,
    assessed: Sequence[dict[str, Any]],
) -> list[dict]:
    rows = []
    for i, (src, rd, extra) in enumerate(zip(raw, readings, assessed, strict=True)):
        # a budget's U and k (in `extra`) replace any typed in
        given = {"expanded_uncertainty": src.expanded_uncertainty, "coverage_factor": src.coverage_factor}
        if ev is not None:  # the judged point gives every other column
            row = {"seq": i, "point_id": rd.point_id, "unit": "", "reference": str(rd.reference), **given}
            row.update(_UNASSESSED)
            row.update(extra)
            rows.append(point_fields(ev.points[i], row))
            continue
        rows.append(
            {
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
                **given,
                **_UNASSESSED,
                "corrected_error": None,
                "rule_source": None,
                "rule_confidence": None,
                **extra,
                "added_load": src.added_load,
                "position": src.position,
                "indication_after": src.indication_after,
            }
        )
    return rows


_UNASSESSED = {"uncertainty": None, "decision": None}


def record_results_batch(
    uow: UnitOfWork, confirmation: Confirmation, entries: Sequence[tuple[int, ResultsInput]]
) -> list[int]:
    """The verifier records readings; conformity comes from the procedure in force on the date."""
    actor = confirmation.actor
    actor.require("verifier")
    with uow:
        if len(entries) >= LARGE_BATCH:
            uow.hold_collector()  # until the batch's transaction ends, with its check and approval
        conn, now, today = uow.conn, utcnow(), shanghai_today()
        ctx = _Context(conn, actor, entries)
        records, all_points, stds = [], [], []
        for task_id, res in entries:
            task, inst = _check_entry(ctx, actor, task_id, res, today)
            readings = [parse_reading(r) for r in res.readings]
            ev, assessed = _evaluate(uow, ctx, task, inst, res, readings)
            if ev is not None and ev.problems:  # the record must hold the regulation's whole test
                zh, en = zip(*(problem.split(" / ", 1) for problem in ev.problems), strict=True)
                raise InvalidInput(
                    f"记录不完整：{'；'.join(zh)} / the record is incomplete: {'; '.join(en)}", rule="tests_incomplete"
                )
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
                    "tests": tests_fields(ev) if ev is not None else None,
                    "correction_curve": _correction_curve(procedure, res.performed_on, readings),
                }
            )
            all_points.append(_points(res.readings, readings, ev, assessed))
            stds.append(sorted(set(res.standard_ids)))
        written = insert_with_ids(conn, verification_records, records)
        ids = [r["id"] for r in written]
        track(uow, "verification_record", ids, new=True, rows=written)
        point_rows, std_rows, sign_rows = [], [], []
        for rid, rec, pts, sids in zip(ids, records, all_points, stds, strict=True):
            for p in pts:  # built above for this record alone
                p["record_id"] = rid
            point_rows += pts
            std_rows += [{"record_id": rid, "standard_id": s} for s in sids]
            content = record_content(rec, pts, sids)
            digest = content_hash(content)
            signed_contents(uow)[rid] = (content, digest)
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
        insert_rows(conn, record_standards, std_rows)
        track_children(uow, "verification_record", "standards", std_rows)
        for table, name, rows in ((measurement_points, "points", point_rows), (signoffs, "signoffs", sign_rows)):
            track_children(uow, "verification_record", name, insert_with_ids(conn, table, rows))
        uow.commit()
        return [int(i) for i in ids]


def record_results(uow: UnitOfWork, confirmation: Confirmation, task_id: int, results: ResultsInput) -> int:
    return record_results_batch(uow, confirmation, [(task_id, results)])[0]
