"""Conformity decisions for verification readings, test by test as the regulation prescribes them
(procedure.PrescribedTest): each reading's error against the MPE of the edition in force (by the
changeover-point method where the test asks for it), its expanded uncertainty from the edition's budget
and the verdict under the edition's decision rule (decision.py); the range of repeated readings; the
discrimination test. The record's verdict is the conjunction of its tests' verdicts. Indications are
rounded per GB/T 8170 (round half even)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from jiliang.measurement.changeover import ChangeoverError, error_before_rounding
from jiliang.measurement.changeover import applies as changeover_applies
from jiliang.measurement.decision import Decision, decide
from jiliang.measurement.limits import budget_values, compared_error, limits_of, uncertainty_at
from jiliang.measurement.point_uncertainty import PointUncertainty
from jiliang.measurement.prescribed_tests import (
    STAGE_TEXT,
    PrescribedTestJudge,
    PrescribedTestResult,
    ReadingUnderTest,
    Verdict,
    record_verdict,
)
from jiliang.measurement.procedure import STAGES, Edition, MpeRule, PrescribedTest, Procedure
from jiliang.measurement.reading import PointReading, ReadingError, parse_parameters, round_to_resolution

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


@dataclass(slots=True)
class PointResult:  # not frozen: a frozen dataclass of 21 fields costs twice as much to make, per reading
    point_id: str
    reference: Decimal
    indication: Decimal  # rounded to the resolution
    error: Decimal  # I − L, or E = I + ½e − ΔL − L by the changeover-point method; in the point's unit
    relative_error_percent: Decimal | None
    mpe_lower: Decimal | None = None  # in mpe_unit, the unit the comparison is made in
    mpe_upper: Decimal | None = None
    mpe_unit: str | None = None
    rule_id: str | None = None
    conforms: bool | None = None  # None: no rule, the undetermined zone, or judged by its test as a whole
    advisory: bool = False  # the rule is not confirmed against the printed regulation
    uncertainty: PointUncertainty | None = None  # U of the error, in mpe_unit
    uncertainty_problem: str | None = None  # why U could not be evaluated
    decision: Decision | None = None  # the decision rule applied and its numbers
    corrected_error: Decimal | None = None  # Ec = E − E0 (changeover, corrected tests)
    added_load: Decimal | None = None
    position: str | None = None
    indication_after: Decimal | None = None
    rule: MpeRule | None = None  # the rule matched, with its source and confidence
    judged: bool = True  # False: E0, or a reading judged only with its test (repeatability, discrimination)


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


class _Judge(PrescribedTestJudge):
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
        super().__init__(edition, stage, params, resolution)
        self.confirmed, self.context = confirmed_rule_ids, context
        e = params.get("e")
        self.e = e if isinstance(e, Decimal) else None
        d = params.get("resolution")
        self.d_equals_e = changeover_applies(self.e, d if isinstance(d, Decimal) else None)

    def reading(self, seq: int, raw: PointReading) -> ReadingUnderTest:
        edition = self.edition
        point = edition.point(raw.point_id)
        at = edition.point_tests(raw.point_id)
        if point is None or at is None:
            known = ", ".join(p.id for p in edition.points)
            raise ReadingError(f"unknown measurement point '{raw.point_id}' for {edition.regulation} (points: {known})")
        zh, en = point.label_zh, point.label_en  # each message reads "中文 / English"
        changeover = self.d_equals_e and at.changeover
        indication = round_to_resolution(raw.indication, self.resolution)
        if changeover:
            if raw.added_load is None:
                raise ReadingError(
                    f"{zh}：请填写闪变点附加砝码 ΔL / {en}: give the additional load ΔL "
                    "(changeover-point method, d = e)"
                )
            assert self.e is not None
            try:
                error = error_before_rounding(raw.reference, indication, raw.added_load, self.e)
            except ChangeoverError as exc:
                raise ReadingError(f"{zh}：{exc.zh} / {en}: {exc.en}") from None
        else:
            if raw.added_load is not None:
                raise ReadingError(
                    f"{zh}：此处不用闪变点法，不应填写 ΔL / {en}: ΔL belongs to the changeover-point "
                    "method, used here only when d = e"
                )
            error = indication - raw.reference
        if raw.position is not None and not any(t.position(raw.position) for t in at.positioned):
            raise ReadingError(f"{zh}：没有位置 {raw.position!r} / {en}: no position {raw.position!r}")
        if at.positioned and raw.position is None:
            raise ReadingError(f"{zh}：请注明加载位置 / {en}: name the position of the load")
        if at.discriminating != (raw.indication_after is not None):
            raise ReadingError(
                f"{zh}：鉴别力测试须填写加放附加载荷后的示值，其他测试不填 / {en}: the indication after "
                "the extra load is given for the discrimination test, and only there"
            )
        return ReadingUnderTest(seq, raw, point, at.tests, indication, error, changeover)

    def point_result(self, r: ReadingUnderTest) -> PointResult:
        """A reading's result; judged against its MPE when one of its tests is an error test."""
        raw, point, edition = r.raw, r.point, self.edition
        reference = raw.reference
        relative = r.error / reference * 100 if reference != 0 else None
        error_test = edition.point_tests(point.id).error_test  # type: ignore[union-attr]
        if error_test is None or point.id == edition.zero_point:
            return self._result(r, relative, judged=False)  # E0, or judged only with its test
        model = edition.uncertainty
        u, problem = (
            uncertainty_at(edition, point.id, budget_values(self.params, self.context, reference, r.indication))
            if model is not None and model.covers(point.id)
            else (None, None)  # no budget here: nothing to fill in
        )
        rule = self.rule(point, reference, error_test.id)
        if rule is None:
            return self._result(r, relative, uncertainty=u, uncertainty_problem=problem)  # no rule for it
        lower, upper, unit = limits_of(rule, self.params, point)
        value = compared_error(rule, point, r.judged_error, reference)
        missing_e0 = error_test.corrected and r.changeover and r.corrected is None  # E0 corrects changeover errors
        decision = None if missing_e0 else decide(edition.decision_rule, value, lower, upper, u.expanded if u else None)
        return self._result(
            r,
            relative,
            mpe_lower=lower,
            mpe_upper=upper,
            mpe_unit=unit,
            rule_id=rule.id,
            conforms=None if decision is None else decision.conforms,
            advisory=not rule.confirmed and rule.id not in self.confirmed,
            uncertainty=u,
            uncertainty_problem=problem,
            decision=decision,
            rule=rule,
        )

    @staticmethod
    def _result(r: ReadingUnderTest, relative: Decimal | None, **judged: Any) -> PointResult:
        """A reading's result: what it read, and `judged` — its MPE, rule, U and decision where they apply."""
        raw = r.raw
        return PointResult(
            point_id=r.point.id,
            reference=raw.reference,
            indication=r.indication,
            error=r.error,
            relative_error_percent=relative,
            corrected_error=r.corrected,
            added_load=raw.added_load,
            position=raw.position,
            indication_after=raw.indication_after,
            **judged,
        )


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
    conforms = [r.conforms for r in results]
    own: dict[str, list[ReadingUnderTest]] = {t.id: [] for t in edition.tests}
    for r in parsed:
        for t in r.tests:
            own[t.id].append(r)
    tests = tuple(judge.test_result(t, own[t.id], conforms) for t in edition.tests)
    res_param = procedure.parameter("resolution" if "resolution" in params else "e")
    unit = (res_param.unit if res_param else None) or edition.points[0].unit
    stage_en, stage_zh = STAGE_TEXT[stage]
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
        verdict=record_verdict(tests),
        advisory=any(r.advisory for r in results),
        decision_rule=f"{rule_en}; {how_en}, {edition.regulation} {stage_en}",
        decision_rule_zh=f"{rule_zh}；{how_zh}，{edition.regulation} {stage_zh}",
        regulation=edition.regulation,
        tests=tests,
        zero_error=e0,
    )
