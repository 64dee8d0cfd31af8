"""Conformity decisions for verification readings: each point's error against the MPE of the edition
in force, its expanded uncertainty from the edition's budget, and the verdict under the edition's
decision rule (decision.py); indications rounded per GB/T 8170 (round half even)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal

from jiliang.measurement.decision import Decision, decide
from jiliang.measurement.point_uncertainty import PointUncertainty, point_uncertainty
from jiliang.measurement.procedure import STAGES, Edition, MeasurementPoint, MpeRule, Procedure

__all__ = [
    "Evaluation",
    "PointReading",
    "PointResult",
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
    reference: Decimal
    indication: Decimal


@dataclass(frozen=True)
class PointResult:
    point_id: str
    reference: Decimal
    indication: Decimal  # rounded to the resolution
    error: Decimal  # indication − reference, in the point's unit
    relative_error_percent: Decimal | None
    mpe_lower: Decimal | None  # in mpe_unit, the unit the comparison is made in
    mpe_upper: Decimal | None
    mpe_unit: str | None
    rule_id: str | None
    conforms: bool | None  # None: no rule, or the undetermined zone of the decision rule
    advisory: bool  # the rule is not confirmed against the printed regulation
    uncertainty: PointUncertainty | None = None  # U of the error, in mpe_unit
    uncertainty_problem: str | None = None  # why U could not be evaluated
    decision: Decision | None = None  # the decision rule applied and its numbers


@dataclass(frozen=True)
class Evaluation:
    points: tuple[PointResult, ...]
    verdict: Verdict
    advisory: bool
    decision_rule: str
    decision_rule_zh: str
    regulation: str


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
) -> MpeRule | None:
    e = params.get("e")
    for rule in edition.rules:
        at = rule.applies_to
        if not rule.matches_stage(stage):
            continue
        if rule.accuracy_class is not None and params.get("accuracy_class") != rule.accuracy_class:
            continue
        if any(params.get(name) != value for name, value in rule.conditions):
            continue
        if at.points is not None and point.id not in at.points:
            continue
        if at.zones is not None and point.zone not in at.zones:
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


def _judge(
    edition: Edition,
    reading: PointReading,
    point: MeasurementPoint,
    rule: MpeRule | None,
    params: Mapping[str, str | Decimal],
    resolution: Decimal,
    confirmed_rule_ids: frozenset[str],
    context: Mapping[str, Any],
) -> PointResult:
    reference = Decimal(reading.reference)
    indication = round_to_resolution(Decimal(reading.indication), resolution)
    error = indication - reference
    relative = error / reference * 100 if reference != 0 else None
    u, problem = uncertainty_at(edition, point.id, budget_values(params, context, reference, indication))
    if rule is None:
        return PointResult(
            point.id, reference, indication, error, relative, None, None, None, None, None, False, u, problem
        )
    if rule.kind == "multiple_of_e":
        e = params["e"]
        assert isinstance(e, Decimal)
        lower, upper, unit, value = rule.mpe_lower * e, rule.mpe_upper * e, point.unit, error
    elif rule.kind == "relative_percent":
        if relative is None:
            raise ReadingError(f"point '{point.id}': relative error needs a non-zero reference value")
        lower, upper, unit, value = rule.mpe_lower, rule.mpe_upper, "%", relative
    else:
        lower, upper, unit, value = rule.mpe_lower, rule.mpe_upper, rule.unit, error
    advisory = not rule.confirmed and rule.id not in confirmed_rule_ids
    decision = decide(edition.decision_rule, value, lower, upper, u.expanded if u else None)
    return PointResult(
        point.id,
        reference,
        indication,
        error,
        relative,
        lower,
        upper,
        unit,
        rule.id,
        decision.conforms,
        advisory,
        u,
        problem,
        decision,
    )


def _verdict(results: Sequence[PointResult]) -> Verdict:
    if any(r.conforms is False for r in results):
        return "fail"
    if any(r.conforms is None for r in results):
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
    """Judge readings against the MPE rules of the edition in force on `on` for the given stage, with
    the uncertainty of each error where the edition has a budget (`context`: see budget_values)."""
    if stage not in STAGES:
        raise ReadingError(f"unknown verification stage '{stage}' (expected one of {list(STAGES)})")
    edition = procedure.edition_on(on)
    params = parse_parameters(procedure, parameters)
    resolution = params.get("resolution", params.get("e"))
    if not isinstance(resolution, Decimal):
        raise ReadingError(f"{procedure.name_zh}: missing instrument parameter 'resolution'")
    if not readings:
        raise ReadingError("no readings to evaluate")
    results = []
    for reading in readings:
        point = edition.point(reading.point_id)
        if point is None:
            known = ", ".join(p.id for p in edition.points)
            raise ReadingError(
                f"unknown measurement point '{reading.point_id}' for {edition.regulation} (points: {known})"
            )
        rule = _rule_for(edition, stage, params, point, Decimal(reading.reference))
        results.append(_judge(edition, reading, point, rule, params, resolution, confirmed_rule_ids, context or {}))
    res_param = procedure.parameter("resolution" if "resolution" in params else "e")
    unit = (res_param.unit if res_param else None) or edition.points[0].unit
    stage_en, stage_zh = _STAGE_TEXT[stage]
    rule_zh, rule_en = edition.decision_rule.text
    return Evaluation(
        points=tuple(results),
        verdict=_verdict(results),
        advisory=any(r.advisory for r in results),
        decision_rule=(
            f"{rule_en}; readings rounded to resolution {resolution} {unit} (GB/T 8170 round half even), "
            f"{edition.regulation} {stage_en}"
        ),
        decision_rule_zh=(
            f"{rule_zh}；示值按分辨力 {resolution} {unit} 修约（GB/T 8170 四舍六入五成双），"
            f"{edition.regulation} {stage_zh}"
        ),
        regulation=edition.regulation,
    )
