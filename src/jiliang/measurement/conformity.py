"""Conformity decisions for verification readings, test by test as the regulation prescribes them
(procedure.PrescribedTest): each reading's error against the MPE of the edition in force (by the
changeover-point method where the test asks for it), its expanded uncertainty from the edition's budget
and the verdict under the edition's decision rule (decision.py); the range of repeated readings; the
discrimination test. The record's verdict is the conjunction of its tests' verdicts. Indications are
rounded per GB/T 8170 (round half even)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal

from jiliang.measurement.changeover import ChangeoverError, error_before_rounding
from jiliang.measurement.decision import Decision, decide
from jiliang.measurement.point_uncertainty import PointUncertainty, point_uncertainty
from jiliang.measurement.procedure import (
    STAGES,
    Edition,
    MeasurementPoint,
    MpeRule,
    PrescribedTest,
    Procedure,
)

__all__ = [
    "Evaluation",
    "PointReading",
    "PointResult",
    "PrescribedTestResult",
    "ReadingError",
    "budget_values",
    "evaluate",
    "parse_parameters",
    "round_to_resolution",
    "uncertainty_at",
]

Verdict = Literal["pass", "fail", "unknown"]

_STAGE_TEXT = {
    "initial": ("initial verification", "首次检定"),
    "subsequent": ("subsequent verification", "后续检定"),
    "in_service": ("in-service inspection", "使用中检查"),
}


class ReadingError(ValueError):
    """Readings or parameters cannot be evaluated (unknown point or stage, missing parameter)."""


@dataclass(frozen=True)
class PointReading:
    point_id: str
    reference: Decimal  # the load L or reference value
    indication: Decimal  # I as displayed
    added_load: Decimal | None = None  # ΔL of the changeover-point method
    position: str | None = None  # where on the load receptor (eccentricity)
    indication_after: Decimal | None = None  # discrimination: the indication after the extra load


@dataclass(frozen=True)
class PointResult:
    point_id: str
    reference: Decimal
    indication: Decimal  # rounded to the resolution
    error: Decimal  # I − L, or E = I + ½e − ΔL − L by the changeover-point method; in the point's unit
    relative_error_percent: Decimal | None
    mpe_lower: Decimal | None  # in mpe_unit, the unit the comparison is made in
    mpe_upper: Decimal | None
    mpe_unit: str | None
    rule_id: str | None
    conforms: bool | None  # None: no rule, the undetermined zone, or judged by its test as a whole
    advisory: bool  # the rule is not confirmed against the printed regulation
    uncertainty: PointUncertainty | None = None  # U of the error, in mpe_unit
    uncertainty_problem: str | None = None  # why U could not be evaluated
    decision: Decision | None = None  # the decision rule applied and its numbers
    corrected_error: Decimal | None = None  # Ec = E − E0 (changeover, corrected tests)
    added_load: Decimal | None = None
    position: str | None = None
    indication_after: Decimal | None = None
    tests: tuple[str, ...] = ()  # the ids of the tests this reading belongs to
    rule: MpeRule | None = None  # the rule matched, with its source and confidence
    judged: bool = True  # False: E0, or a reading judged only with its test (repeatability, discrimination)

    @property
    def judged_error(self) -> Decimal:
        """The error compared with the limits: Ec where the test corrects by E0, else E."""
        return self.error if self.corrected_error is None else self.corrected_error


@dataclass(frozen=True)
class PrescribedTestResult:
    test: PrescribedTest
    verdict: Verdict
    seqs: tuple[int, ...]  # the positions of its readings in the record
    value: Decimal | None = None  # range: the largest range of a series; discrimination: the smallest change
    limit: Decimal | None = None  # range: |MPE| of the series' rule; discrimination: d
    unit: str | None = None
    problem: str | None = None  # why the test is incomplete ("中文 / English")


@dataclass(frozen=True)
class Evaluation:
    points: tuple[PointResult, ...]
    verdict: Verdict
    advisory: bool
    decision_rule: str
    decision_rule_zh: str
    regulation: str
    tests: tuple[PrescribedTestResult, ...] = ()
    zero_error: Decimal | None = None  # E0, where a test corrects by it

    @property
    def problems(self) -> list[str]:
        """Why the record is not yet the regulation's whole test (missing tests, readings, positions)."""
        return [t.problem for t in self.tests if t.problem]

    @property
    def failed_tests(self) -> list[PrescribedTest]:
        return [t.test for t in self.tests if t.verdict == "fail"]


def round_to_resolution(value: Decimal, resolution: Decimal) -> Decimal:
    """Round to an integer multiple of the resolution, half to even (GB/T 8170 §3.3)."""
    return (value / resolution).to_integral_value(rounding=ROUND_HALF_EVEN) * resolution


def parse_parameters(procedure: Procedure, given: Mapping[str, str | Decimal]) -> dict[str, str | Decimal]:
    values: dict[str, str | Decimal] = {}
    for param in procedure.instrument_parameters:
        raw = given.get(param.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if param.required:
                raise ReadingError(
                    f"{procedure.name_zh}: missing instrument parameter '{param.name}' ({param.label_zh})"
                )
            continue
        if param.kind == "number":
            try:
                number = Decimal(str(raw).strip())
            except InvalidOperation:
                raise ReadingError(f"parameter '{param.name}' must be a number, got {raw!r}") from None
            if not number.is_finite() or number <= 0:
                raise ReadingError(f"parameter '{param.name}' must be a positive number, got {raw!r}")
            values[param.name] = number
        else:
            text = str(raw).strip()
            if param.choices is not None and text not in param.choices:
                raise ReadingError(f"parameter '{param.name}' must be one of {list(param.choices)}, got {text!r}")
            values[param.name] = text
    return values


def _rule_for(
    edition: Edition,
    stage: str,
    params: Mapping[str, str | Decimal],
    point: MeasurementPoint,
    reference: Decimal,
    test_id: str | None = None,
) -> MpeRule | None:
    e = params.get("e")
    cls = params.get("accuracy_class")
    for rule in edition.rules_at(point.id, test_id):  # those whose points, zones and tests fit
        at = rule.applies_to
        if not rule.matches_stage(stage):
            continue
        if rule.accuracy_class is not None and cls != rule.accuracy_class:
            continue
        if rule.conditions and any(params.get(name) != value for name, value in rule.conditions):
            continue
        if at.load_e is not None and not (isinstance(e, Decimal) and at.band_contains(reference / e)):
            continue
        return rule
    return None


def budget_values(
    params: Mapping[str, str | Decimal], context: Mapping[str, Any], reference: Decimal, indication: Decimal
) -> dict[str, Any]:
    """What a point's budget may name: the context (the standard's standard_U and standard_k, the
    record's numeric environment entries), then the numeric instrument parameters and the reading,
    which a context entry of the same name cannot replace."""
    values: dict[str, Any] = dict(context)
    values.update({k: float(v) for k, v in params.items() if isinstance(v, Decimal)})
    values["reference"], values["indication"] = float(reference), float(indication)
    return values


def uncertainty_at(
    edition: Edition, point_id: str, values: Mapping[str, Any]
) -> tuple[PointUncertainty | None, str | None]:
    """(U, None), (None, why not) or (None, None) when the edition has no budget for the point."""
    if edition.uncertainty is None or not edition.uncertainty.covers(point_id):
        return None, None
    found = point_uncertainty(edition.uncertainty, values)
    return (None, found) if isinstance(found, str) else (found, None)


def _limits(
    rule: MpeRule, params: Mapping[str, str | Decimal], point: MeasurementPoint
) -> tuple[Decimal, Decimal, str]:
    """The rule's limits in the unit the error is compared in."""
    if rule.kind == "multiple_of_e":
        e = params["e"]
        assert isinstance(e, Decimal)
        return rule.mpe_lower * e, rule.mpe_upper * e, point.unit
    if rule.kind == "relative_percent":
        return rule.mpe_lower, rule.mpe_upper, "%"
    return rule.mpe_lower, rule.mpe_upper, rule.unit


def _compared(rule: MpeRule, point: MeasurementPoint, error: Decimal, reference: Decimal) -> Decimal:
    """The error in the rule's comparison unit (relative errors need a non-zero reference)."""
    if rule.kind != "relative_percent":
        return error
    if reference == 0:
        raise ReadingError(f"point '{point.id}': relative error needs a non-zero reference value")
    return error / reference * 100


@dataclass
class _Reading:
    """One reading on its way through the tests."""

    seq: int
    raw: PointReading
    point: MeasurementPoint
    tests: tuple[PrescribedTest, ...]
    indication: Decimal
    error: Decimal
    changeover: bool
    corrected: Decimal | None = None


class _Judge:
    """Evaluates one record's readings against one edition for one stage."""

    def __init__(
        self,
        edition: Edition,
        stage: str,
        params: Mapping[str, str | Decimal],
        resolution: Decimal,
        confirmed_rule_ids: frozenset[str],
        context: Mapping[str, Any],
    ) -> None:
        self.edition, self.stage, self.params = edition, stage, params
        self.resolution, self.confirmed, self.context = resolution, confirmed_rule_ids, context
        e = params.get("e")
        self.e = e if isinstance(e, Decimal) else None
        # JJG 539 / R 76-1: the changeover-point method where the display does not resolve better than e
        self.d_equals_e = self.e is not None and resolution == self.e

    def reading(self, seq: int, raw: PointReading) -> _Reading:
        edition = self.edition
        point = edition.point(raw.point_id)
        if point is None:
            known = ", ".join(p.id for p in edition.points)
            raise ReadingError(f"unknown measurement point '{raw.point_id}' for {edition.regulation} (points: {known})")
        tests = edition.tests_of(point.id)
        label = f"{point.label_zh} / {point.label_en}"
        changeover = self.d_equals_e and any(t.method == "changeover" for t in tests)
        indication = round_to_resolution(Decimal(raw.indication), self.resolution)
        reference = Decimal(raw.reference)
        if changeover:
            if raw.added_load is None:
                raise ReadingError(
                    f"{label}：请填写闪变点附加砝码 ΔL / {label}: give the additional load ΔL "
                    "(changeover-point method, d = e)"
                )
            assert self.e is not None
            try:
                error = error_before_rounding(reference, indication, Decimal(raw.added_load), self.e)
            except ChangeoverError as exc:
                raise ReadingError(f"{label}: {exc}") from None
        else:
            if raw.added_load is not None:
                raise ReadingError(
                    f"{label}：此处不用闪变点法，不应填写 ΔL / {label}: ΔL belongs to the changeover-point "
                    "method, used here only when d = e"
                )
            error = indication - reference
        positioned = [t for t in tests if t.positions]
        if raw.position is not None and not any(t.position(raw.position) for t in positioned):
            raise ReadingError(f"{label}：没有位置 {raw.position!r} / {label}: no position {raw.position!r}")
        if positioned and raw.position is None:
            raise ReadingError(f"{label}：请注明加载位置 / {label}: name the position of the load")
        discriminating = any(t.criterion == "discrimination" for t in tests)
        if discriminating != (raw.indication_after is not None):
            raise ReadingError(
                f"{label}：鉴别力测试须填写加放附加载荷后的示值，其他测试不填 / {label}: the indication after "
                "the extra load is given for the discrimination test, and only there"
            )
        return _Reading(seq, raw, point, tests, indication, error, changeover)

    def point_result(self, r: _Reading) -> PointResult:
        """A reading's result; judged against its MPE when one of its tests is an error test."""
        reference, point = Decimal(r.raw.reference), r.point
        relative = r.error / reference * 100 if reference != 0 else None
        common: dict[str, Any] = {
            "corrected_error": r.corrected,
            "added_load": r.raw.added_load,
            "position": r.raw.position,
            "indication_after": r.raw.indication_after,
            "tests": tuple(t.id for t in r.tests),
        }
        error_test = next((t for t in r.tests if t.criterion == "error"), None)
        judged = error_test is not None and point.id != self.edition.zero_point
        if not judged:
            return PointResult(
                point.id,
                reference,
                r.indication,
                r.error,
                relative,
                None,
                None,
                None,
                None,
                None,
                False,
                judged=False,
                **common,
            )
        assert error_test is not None
        judged_error = r.error if r.corrected is None else r.corrected
        u, problem = uncertainty_at(
            self.edition, point.id, budget_values(self.params, self.context, reference, r.indication)
        )
        rule = _rule_for(self.edition, self.stage, self.params, point, reference, error_test.id)
        if rule is None:
            return PointResult(
                point.id,
                reference,
                r.indication,
                r.error,
                relative,
                None,
                None,
                None,
                None,
                None,
                False,
                u,
                problem,
                **common,
            )
        lower, upper, unit = _limits(rule, self.params, point)
        value = _compared(rule, point, judged_error, reference)
        missing_e0 = error_test.corrected and r.changeover and r.corrected is None  # E0 corrects changeover errors
        decision = (
            None if missing_e0 else decide(self.edition.decision_rule, value, lower, upper, u.expanded if u else None)
        )
        return PointResult(
            point.id,
            reference,
            r.indication,
            r.error,
            relative,
            lower,
            upper,
            unit,
            rule.id,
            None if decision is None else decision.conforms,
            not rule.confirmed and rule.id not in self.confirmed,
            u,
            problem,
            decision,
            rule=rule,
            **common,
        )

    def test_result(
        self, test: PrescribedTest, readings: Sequence[_Reading], results: Sequence[PointResult]
    ) -> PrescribedTestResult:
        mine = [
            (r, results[r.seq]) for r in readings if any(t is test for t in r.tests)
        ]  # identity: cheaper than comparing fields
        seqs = tuple(r.seq for r, _ in mine)
        if not mine:
            if self.stage in test.required_in:
                stage_en, stage_zh = _STAGE_TEXT[self.stage]
                return PrescribedTestResult(
                    test,
                    "unknown",
                    seqs,
                    problem=f"{stage_zh}须做「{test.name_zh}」，记录中没有 / {stage_en} requires the "
                    f"{test.name_en}, which the record lacks",
                )
            return PrescribedTestResult(test, "unknown", seqs)  # not done; left out of the verdict
        problem = self._incomplete(test, [r for r, _ in mine])
        if test.criterion == "range":
            return self._range(test, mine, seqs, problem)
        if test.criterion == "discrimination":
            return self._discrimination(test, mine, seqs, problem)
        judged = [p for r, p in mine if r.point.id != self.edition.zero_point]
        if (
            problem is None
            and test.corrected
            and any(r.changeover and r.corrected is None for r, _ in mine if r.point.id != self.edition.zero_point)
        ):
            problem = "未测零点误差 E0 / the error at zero E0 is not measured"
        return PrescribedTestResult(test, _verdict([p.conforms for p in judged], problem), seqs, problem=problem)

    def _incomplete(self, test: PrescribedTest, mine: Sequence[_Reading]) -> str | None:
        counts: dict[str, int] = defaultdict(int)
        for r in mine:
            counts[r.point.id] += 1
        for point_id in test.points:
            if point_id == test.zero_point:
                continue
            # a declared test needs every one of its points; the implicit one only those measured
            needed = counts[point_id] > 0 or any(t is test for t in self.edition.declared_tests)
            if needed and counts[point_id] < test.min_readings:
                point = self.edition.point(point_id)
                assert point is not None
                return (
                    f"「{test.name_zh}」{point.label_zh}至少需要 {test.min_readings} 次读数 / the {test.name_en} needs "
                    f"at least {test.min_readings} readings at {point.label_en}"
                )
        if test.positions:
            seen: set[str] = set()
            for r in mine:
                if r.raw.position in seen:
                    return f"位置 {r.raw.position} 重复 / position {r.raw.position} is given twice"
                seen.add(r.raw.position or "")
            missing = [p for p in test.positions if p.id not in seen]
            if missing:
                return (
                    f"「{test.name_zh}」缺少位置：{'、'.join(p.label_zh for p in missing)} / the {test.name_en} lacks "
                    f"the positions {', '.join(p.label_en for p in missing)}"
                )
        return None

    def _range(
        self,
        test: PrescribedTest,
        mine: Sequence[tuple[_Reading, PointResult]],
        seqs: tuple[int, ...],
        problem: str | None,
    ) -> PrescribedTestResult:
        """OIML R 76-1 3.6.1: the difference between results of several weighings of the same load is at
        most |MPE| at that load (JJG 443: the range of the relative errors at most the repeatability limit)."""
        series: dict[str, list[_Reading]] = defaultdict(list)
        for r, _ in mine:
            series[r.point.id].append(r)
        worst: tuple[Decimal, Decimal, str] | None = None
        verdicts: list[bool | None] = []
        for group in series.values():
            first = group[0]
            load = Decimal(first.raw.reference)
            if any(Decimal(r.raw.reference) != load for r in group):
                problem = problem or (
                    f"「{test.name_zh}」同一组读数的载荷须相同 / the {test.name_en} repeats one load: the reference "
                    "values of a series must be equal"
                )
            rule = _rule_for(self.edition, self.stage, self.params, first.point, load, test.id)
            if rule is None:
                verdicts.append(None)
                continue
            lower, upper, unit = _limits(rule, self.params, first.point)
            values = [
                _compared(rule, r.point, r.corrected if r.corrected is not None else r.error, load) for r in group
            ]
            spread, limit = max(values) - min(values), max(abs(lower), abs(upper))
            verdicts.append(spread <= limit)
            if worst is None or spread - limit > worst[0] - worst[1]:
                worst = (spread, limit, unit)
        verdict = _verdict(verdicts, problem)
        if worst is None:
            return PrescribedTestResult(test, verdict, seqs, problem=problem)
        return PrescribedTestResult(test, verdict, seqs, worst[0], worst[1], worst[2], problem)

    def _discrimination(
        self,
        test: PrescribedTest,
        mine: Sequence[tuple[_Reading, PointResult]],
        seqs: tuple[int, ...],
        problem: str | None,
    ) -> PrescribedTestResult:
        """OIML R 76-1 3.8 / A.4.12: an extra load of 1.4 d changes the indication by at least d."""
        d = self.resolution
        changes = []
        for r, _ in mine:
            assert r.raw.indication_after is not None
            changes.append(round_to_resolution(Decimal(r.raw.indication_after), d) - r.indication)
        smallest = min(changes)
        verdict = _verdict([c >= d for c in changes], problem)
        unit = mine[0][0].point.unit
        return PrescribedTestResult(test, verdict, seqs, smallest, d, unit, problem)


def _verdict(conforms: Sequence[bool | None], problem: str | None = None) -> Verdict:
    if any(c is False for c in conforms):
        return "fail"
    if problem is not None or any(c is None for c in conforms):
        return "unknown"
    return "pass"


def _record_verdict(tests: Sequence[PrescribedTestResult]) -> Verdict:
    done = [t for t in tests if t.seqs or t.problem]
    if any(t.verdict == "fail" for t in done):
        return "fail"
    if not done or any(t.verdict == "unknown" for t in done):
        return "unknown"
    return "pass"


def evaluate(
    procedure: Procedure,
    on: date,
    stage: str,
    parameters: Mapping[str, str | Decimal],
    readings: Sequence[PointReading],
    confirmed_rule_ids: frozenset[str] = frozenset(),
    context: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Judge readings test by test against the edition in force on `on` for the given stage, with the
    uncertainty of each error where the edition has a budget (`context`: see budget_values)."""
    if stage not in STAGES:
        raise ReadingError(f"unknown verification stage '{stage}' (expected one of {list(STAGES)})")
    edition = procedure.edition_on(on)
    params = parse_parameters(procedure, parameters)
    resolution = params.get("resolution", params.get("e"))
    if not isinstance(resolution, Decimal):
        raise ReadingError(f"{procedure.name_zh}: missing instrument parameter 'resolution'")
    if not readings:
        raise ReadingError("no readings to evaluate")
    judge = _Judge(edition, stage, params, resolution, confirmed_rule_ids, context or {})
    parsed = [judge.reading(i, r) for i, r in enumerate(readings)]
    zero = next((r for r in parsed if r.point.id == edition.zero_point and r.changeover), None)
    e0 = zero.error if zero is not None else None
    if e0 is not None:
        for r in parsed:
            if r.changeover and r is not zero and any(t.corrected for t in r.tests):
                r.corrected = r.error - e0
    results = [judge.point_result(r) for r in parsed]
    tests = tuple(judge.test_result(t, parsed, results) for t in edition.tests)
    res_param = procedure.parameter("resolution" if "resolution" in params else "e")
    unit = (res_param.unit if res_param else None) or edition.points[0].unit
    stage_en, stage_zh = _STAGE_TEXT[stage]
    rule_zh, rule_en = edition.decision_rule.text
    changeover = any(r.changeover for r in parsed)
    how_en = (
        f"errors before rounding by the changeover-point method (OIML R 76-1 A.4.4.3, e = {judge.e} {unit})"
        if changeover
        else f"readings rounded to resolution {resolution} {unit} (GB/T 8170 round half even)"
    )
    how_zh = (
        f"按闪变点法求化整前误差（OIML R 76-1 A.4.4.3，e = {judge.e} {unit}）"
        if changeover
        else f"示值按分辨力 {resolution} {unit} 修约（GB/T 8170 四舍六入五成双）"
    )
    return Evaluation(
        points=tuple(results),
        verdict=_record_verdict(tests),
        advisory=any(r.advisory for r in results),
        decision_rule=f"{rule_en}; {how_en}, {edition.regulation} {stage_en}",
        decision_rule_zh=f"{rule_zh}；{how_zh}，{edition.regulation} {stage_zh}",
        regulation=edition.regulation,
        tests=tests,
        zero_error=e0,
    )
