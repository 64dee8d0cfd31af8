"""The verifier's results form before anything is saved: the procedure edition in force, which
standards may be used on the date (and why the others may not), and the readings judged live by the
same rules `record_results` applies (readings.judge_readings). Nothing here writes."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from ..auth import Actor
from ..errors import JiliangError, NotFound
from ..measurement.changeover import applies as changeover_applies
from ..measurement.conformity import Evaluation, PointReading, PointResult
from ..measurement.point_uncertainty import PointUncertainty
from ..measurement.procedure import Edition, MeasurementPoint, MpeRule, NoEditionInForce, Position, Procedure
from ..measurement.procedure_checks import environment_parameters
from ..measurement.procedure_model import EnvironmentQuantity
from ..registry.calibrations import calibrations_by_standard
from ..registry.tables import rule_confirmations, standard_items, standards
from .model import standard_problem
from .queries import task_detail
from .readings import ReadingInput, budget_context_for, judge_readings, parse_reading, uncertainties
from .tables import applications, verification_records

__all__ = ["StandardChoice", "ResultsForm", "RowPreview", "Preview", "results_form", "preview_results"]


@dataclass(frozen=True)
class StandardChoice:
    id: int
    name: str
    examination_certificate_no: str
    items: tuple[str, ...]
    problem: str | None  # why it may not be used on the date ("中文 / English"); None: usable
    rule: str | None = None  # the problem's rule (model.standard_problem), to count standards by reason


@dataclass(frozen=True)
class ResultsForm:
    task: dict[str, Any]  # queries.task_detail: the task and its instrument
    procedure: Procedure | None
    edition: Edition | None  # in force on the date
    edition_problem: str | None
    wants_statement: bool  # verification, or a calibration asking for a verdict
    confirmed: frozenset[str]  # rule ids confirmed against the printed regulation
    open_record_id: int | None  # a record awaiting its check or approval
    standards: tuple[StandardChoice, ...]
    calibrations: Mapping[int, Sequence[Mapping[str, Any]]]  # of the institution's standards, by standard id

    @property
    def unusable_standards(self) -> tuple[StandardChoice, ...]:
        return tuple(s for s in self.standards if s.problem is not None)

    @property
    def unusable_reasons(self) -> dict[str, int]:
        """How many standards may not be used for each reason (its rule), the most frequent first."""
        return dict(Counter(s.rule or "" for s in self.unusable_standards).most_common())

    @property
    def calibration(self) -> bool:
        return self.task["kind"] == "calibration"

    @property
    def accepts_results(self) -> bool:
        return self.task["state"] == "assigned" and self.open_record_id is None

    @property
    def budget(self) -> bool:
        """The edition in force evaluates the uncertainty of (some of) its points."""
        return bool(self.edition and self.edition.uncertainty)

    @property
    def environment_parameters(self) -> list[EnvironmentQuantity]:
        """The budget's parameters the verifier types with the environment (e.g. a bath's uniformity),
        as the procedure names them."""
        if self.edition is None or self.procedure is None:
            return []
        wanted = environment_parameters(self.procedure, self.edition)
        return [q for q in self.procedure.environment if q.name in wanted]

    @property
    def regulation_tests(self) -> bool:
        """The edition lists its tests (e.g. JJG 539): the form asks for ΔL, positions and discrimination."""
        return bool(self.edition and self.edition.declared_tests)

    @property
    def positions(self) -> list[Position]:
        tests = self.edition.tests if self.edition else ()
        return [p for t in tests for p in t.positions]

    @property
    def changeover(self) -> bool:
        """The changeover-point method applies: a test asks for it and the instrument's d equals e."""
        params = self.task["instrument"]["parameters"] or {}
        uses = any(t.method == "changeover" for t in (self.edition.tests if self.edition else ()))
        try:
            e, d = (Decimal(str(params[k])) if params.get(k) else None for k in ("e", "resolution"))
        except ArithmeticError:  # a malformed parameter: the evaluation will say so
            return False
        return uses and changeover_applies(e, d)

    @property
    def advisory_rules(self) -> list[MpeRule]:
        """Rules whose verdicts are advisory: not confirmed against the printed regulation."""
        rules = self.edition.rules if self.edition else ()
        return [r for r in rules if not r.confirmed and r.id not in self.confirmed]

    @property
    def advisory_points(self) -> list[MeasurementPoint]:
        """The points judged by an advisory rule, each once: what the verifier should check by hand."""
        points = self.edition.points if self.edition else ()
        return [p for p in points if any(r.applies_to.covers(p.id, p.zone) for r in self.advisory_rules)]


@dataclass(frozen=True)
class RowPreview:
    reading: ReadingInput
    result: PointResult | None  # judged against the rules
    error: Decimal | None  # indication − reference (also when no verdict is asked for)
    problem: str | None  # this row cannot be judged ("中文 / English")
    uncertainty: PointUncertainty | None = None  # U of the error from the edition's budget
    uncertainty_problem: str | None = None  # why U could not be evaluated

    @property
    def blank(self) -> bool:
        return not (self.reading.reference.strip() or self.reading.indication.strip())


@dataclass(frozen=True)
class Preview:
    rows: tuple[RowPreview, ...]
    evaluation: Evaluation | None  # all filled-in rows together, as record_results would judge them
    problem: str | None
    statement: bool  # a verdict is asked for (False: a calibration reporting results only)
    budget: bool = False  # the edition in force evaluates each point's uncertainty


def _own_task(conn: Connection, actor: Actor, task_id: int) -> dict[str, Any]:
    task = task_detail(conn, actor, task_id)
    if task["institution_id"] != actor.institution_id:  # owners and administrators see it elsewhere
        raise NotFound(f"本机构没有任务 {task_id} / no task {task_id} at your institution")
    return task


def _standards(
    conn: Connection, institution_id: int, item_code: str | None, on: date
) -> tuple[tuple[StandardChoice, ...], dict[int, list[Any]]]:
    rows = conn.execute(select(standards).where(standards.c.institution_id == institution_id).order_by(standards.c.id))
    found = [dict(r._mapping) for r in rows]
    ids = [s["id"] for s in found]
    serves: dict[int, set[str]] = defaultdict(set)
    calibrations: dict[int, list[Any]] = calibrations_by_standard(conn, ids)
    if ids:
        for sid, item in conn.execute(select(standard_items).where(standard_items.c.standard_id.in_(ids))):
            serves[sid].add(item)
    out = []
    for s in found:
        problem = standard_problem(s, serves[s["id"]], calibrations[s["id"]], item_code, on)
        out.append(
            StandardChoice(
                s["id"],
                s["name"],
                s["examination_certificate_no"],
                tuple(sorted(serves[s["id"]])),
                problem and problem[1],
                problem and problem[0],
            )
        )
    return tuple(out), calibrations


def results_form(
    conn: Connection, procedures: Mapping[str, Procedure], actor: Actor, task_id: int, on: date
) -> ResultsForm:
    """What the verifier needs to fill in the results of a task of the actor's institution on `on`."""
    task = _own_task(conn, actor, task_id)
    inst = task["instrument"]
    procedure = procedures.get(inst["procedure_code"]) if inst["procedure_code"] else None
    edition, edition_problem = None, None
    if procedure is not None:
        try:
            edition = procedure.edition_on(on)
        except NoEditionInForce as exc:
            edition_problem = f"{on} 没有有效的规程版本 / {exc}"
    wants = task["kind"] == "verification" or bool(
        conn.execute(
            select(applications.c.conformity_statement).where(applications.c.id == task["application_id"])
        ).scalar_one()
    )
    confirmed = frozenset(
        conn.execute(
            select(rule_confirmations.c.rule_id).where(rule_confirmations.c.procedure_code == inst["procedure_code"])
        ).scalars()
    )
    open_record = conn.execute(
        select(verification_records.c.id).where(
            verification_records.c.task_id == task_id, verification_records.c.status.in_(("recorded", "checked"))
        )
    ).scalar()
    choices, calibrations = _standards(conn, task["institution_id"], inst["item_code"], on)
    return ResultsForm(task, procedure, edition, edition_problem, wants, confirmed, open_record, choices, calibrations)


def _judge(
    form: ResultsForm, stage: str | None, on: date, readings: Sequence[Any], context: Mapping[str, float]
) -> Evaluation | None:
    inst = form.task["instrument"]
    return judge_readings(
        form.procedure,
        inst["procedure_code"],
        form.task["kind"],
        form.wants_statement,
        stage,
        on,
        inst["parameters"] or {},
        readings,
        form.confirmed,
        context,
    )


def _row(
    form: ResultsForm, r: ReadingInput, point: PointReading, stage: str | None, on: date, context: Mapping[str, float]
) -> RowPreview:
    ev = _judge(form, stage, on, [point], context)
    if ev is not None:
        result = ev.points[0]
        return RowPreview(r, result, result.error, None, result.uncertainty, result.uncertainty_problem)
    params = form.task["instrument"]["parameters"] or {}
    (u, why), *_ = uncertainties(form.procedure, on, params, [point], context)
    return RowPreview(r, None, point.indication - point.reference, None, u, why)


def preview_results(
    conn: Connection,
    procedures: Mapping[str, Procedure],
    actor: Actor,
    task_id: int,
    on: date,
    stage: str | None,
    readings: Sequence[ReadingInput],
    standard_ids: Sequence[int] = (),
    environment: Mapping[str, str] | None = None,
) -> Preview:
    """Each filled-in row judged on its own (so one bad row does not hide the others), then all of
    them together for the overall verdict. Blank rows are left out, as the form leaves them out.
    The chosen standards and the environment feed the uncertainty budget, as they will on signing."""
    actor.require("verifier")
    form = results_form(conn, procedures, actor, task_id, on)
    chosen = [s.id for s in form.standards if s.id in set(standard_ids)]
    context = budget_context_for(form.procedure, on, chosen, form.calibrations, environment or {})
    rows: list[RowPreview] = []
    parsed: list[tuple[int, PointReading]] = []
    for i, r in enumerate(readings):
        row = RowPreview(r, None, None, None)
        if not row.blank:
            try:
                parsed.append((i, parse_reading(r)))
            except JiliangError as exc:
                row = RowPreview(r, None, None, exc.message)
        rows.append(row)
    evaluation, problem = None, None
    if parsed:
        try:  # the readable rows together: the error at zero E0 and the tests need every reading
            evaluation = _judge(form, stage, on, [p for _, p in parsed], context)
        except JiliangError as exc:
            problem = exc.message
    if evaluation is not None:
        for (i, _), result in zip(parsed, evaluation.points, strict=True):
            rows[i] = RowPreview(
                rows[i].reading, result, result.error, None, result.uncertainty, result.uncertainty_problem
            )
    else:  # judged row by row, so that the row at fault is named
        for i, point in parsed:
            try:
                rows[i] = _row(form, rows[i].reading, point, stage, on, context)
            except JiliangError as exc:
                rows[i] = RowPreview(rows[i].reading, None, None, exc.message)
    if any(row.problem for row in rows):  # no overall verdict while a row is wrong
        evaluation, problem = None, "请先改正标出的行 / correct the marked rows first"
    return Preview(tuple(rows), evaluation, problem, form.wants_statement, form.budget)
