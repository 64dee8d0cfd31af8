"""Readings as typed and the conformity judgement of a task's readings: one implementation shared by
recording (`results.record_results`) and the results form's live preview (`preview.preview_results`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from ..errors import InvalidInput, RuleViolation
from ..measurement.conformity import (
    Evaluation,
    PointReading,
    PointResult,
    ReadingError,
    budget_values,
    evaluate,
    parse_parameters,
    uncertainty_at,
)
from ..measurement.decision import Decision
from ..measurement.point_uncertainty import PointUncertainty
from ..measurement.procedure import NoEditionInForce, Procedure
from .model import budget_context

__all__ = [
    "ReadingInput",
    "point_fields",
    "tests_fields",
    "assessment_fields",
    "budget_context_for",
    "judge_readings",
    "parse_reading",
    "reading_decimal",
    "uncertainties",
]


@dataclass(frozen=True)
class ReadingInput:
    point_id: str
    reference: str
    indication: str
    expanded_uncertainty: str | None = None  # calibration: U entered by the laboratory
    coverage_factor: str | None = None
    added_load: str | None = None  # ΔL of the changeover-point method
    position: str | None = None  # eccentricity: where the load stands
    indication_after: str | None = None  # discrimination: the indication after the extra load


def reading_decimal(text: str, what: str, point: str | None = None) -> Decimal:
    """A reading as typed: at most 15 significant digits, magnitude within 1e-12 … 1e12 (no instrument
    reads beyond that, and it keeps every computed error exact and short). `what` (after the `point`
    it belongs to, when given) names it in the error."""
    value = _typed_decimal(str(text).strip())
    if type(value) is Decimal:
        return value
    what = what if point is None else f"{point} {what}"
    if value == "nan":
        raise InvalidInput(f"{what} 不是数字：{text!r} / {what} is not a number")
    if value == "infinite":
        raise InvalidInput(f"{what} 不是有限数 / {what} must be finite")
    raise InvalidInput(
        f"{what} 超出可记录范围：{text!r} / {what} is out of the recordable range "
        "(at most 15 significant digits, 1e-12 to 1e12)"
    )


@lru_cache(maxsize=8192)
def _typed_decimal(typed: str) -> Decimal | str:
    """The Decimal of a reading's text, or why it is refused: "nan", "infinite" or "range". Remembered:
    a batch's readings are multiples of the resolution near the same loads, so few texts recur."""
    try:
        value = Decimal(typed)
    except InvalidOperation:
        return "nan"
    if not value.is_finite():
        return "infinite"
    if len(typed) <= 15 and "e" not in typed and "E" not in typed:
        digits, exponent = 15, 0  # at most 15 digits and 14 decimals, as typed: only the magnitude to check
    else:
        parts = value.as_tuple()  # its exponent is an int for a finite value
        digits, exponent = len(parts.digits), int(parts.exponent)
    if value and (digits > 15 or not -12 <= value.adjusted() <= 12 or exponent < -15):
        return "range"
    return value


def _given(text: str | None) -> str | None:
    """The text as typed, None when left blank."""
    if text is None:
        return None
    typed = str(text).strip()
    return typed or None


def parse_reading(r: ReadingInput) -> PointReading:
    """One reading as decimals; a calibration's U (≥ 0) and k (> 0), when given, must be numbers too
    (JJF 1059.1 §5: U = k·u_c)."""
    pid = r.point_id
    if r.expanded_uncertainty is not None:
        u = reading_decimal(r.expanded_uncertainty, "扩展不确定度 U", pid)
        if u < 0:
            raise InvalidInput(f"{pid} 扩展不确定度 U 不能为负 / U must not be negative")
    if r.coverage_factor is not None:
        k = reading_decimal(r.coverage_factor, "包含因子 k", pid)
        if k <= 0:
            raise InvalidInput(f"{pid} 包含因子 k 必须为正 / k must be positive")
    added, after = _given(r.added_load), _given(r.indication_after)
    return PointReading(
        pid,
        reading_decimal(r.reference, "标准值 reference", pid),
        reading_decimal(r.indication, "示值 indication", pid),
        None if added is None else reading_decimal(added, "附加砝码 ΔL", pid),
        _given(r.position),
        None if after is None else reading_decimal(after, "加载后示值 indication after", pid),
    )


def judge_readings(
    procedure: Procedure | None,
    procedure_code: str | None,
    kind: str,
    wants_statement: bool,
    stage: str | None,
    on: date,
    parameters: Mapping[str, Any],
    readings: Sequence[PointReading],
    confirmed_rule_ids: frozenset[str],
    context: Mapping[str, Any] | None = None,
) -> Evaluation | None:
    """The verdict of a task's readings by the procedure edition in force on `on`; None for a
    calibration without a statement of conformity (results and uncertainty only, `uncertainties`).
    `context`: the standard's U and the numeric environment (model.budget_context)."""
    verification = kind == "verification"
    if verification and procedure is None:
        raise RuleViolation(
            f"器具没有可用的检定规程（{procedure_code}）/ no procedure for this instrument", rule="no_procedure"
        )
    if verification and stage is None:
        raise InvalidInput("请注明检定类别（首次/后续/使用中）/ give the verification stage")
    if not (verification or wants_statement):
        return None
    if procedure is None:
        raise RuleViolation(
            "没有规程无法给出符合性结论 / no procedure, so no conformity statement is possible", rule="no_procedure"
        )
    try:
        return evaluate(procedure, on, stage or "subsequent", parameters, readings, confirmed_rule_ids, context)
    except (ReadingError, NoEditionInForce) as exc:
        raise InvalidInput(str(exc), rule="readings") from exc


def uncertainties(
    procedure: Procedure | None,
    on: date,
    parameters: Mapping[str, Any],
    readings: Sequence[PointReading],
    context: Mapping[str, Any],
) -> list[tuple[PointUncertainty | None, str | None]]:
    """Each reading's (U, why not) by the budget of the edition in force, for results reported
    without a verdict (a calibration); (None, None) throughout when there is no budget."""
    if procedure is None:
        return [(None, None)] * len(readings)
    try:
        edition = procedure.edition_on(on)
        params = parse_parameters(procedure, parameters)
    except (ReadingError, NoEditionInForce) as exc:
        raise InvalidInput(str(exc), rule="readings") from exc
    return [
        uncertainty_at(edition, r.point_id, budget_values(params, context, r.reference, r.indication)) for r in readings
    ]


def budget_context_for(
    procedure: Procedure | None,
    on: date,
    standard_ids: Sequence[int],
    calibrations: Mapping[int, Sequence[Mapping[str, Any]]],
    environment: Mapping[str, str],
) -> dict[str, Any]:
    """model.budget_context with the standard unit the edition in force asks for (and the unit of its
    budget's reference value, against which a certificate's ranges are read)."""
    unit = reference_unit = None
    if procedure is not None:
        try:
            model = procedure.edition_on(on).uncertainty
        except NoEditionInForce:
            model = None
        unit = model.standard_unit if model else None
        if model is not None:
            parameters = model.template.data.get("parameters") or ()
            reference_unit = next((p.get("unit") for p in parameters if p.get("name") == "reference"), None)
    return budget_context(standard_ids, calibrations, unit, on, environment, reference_unit)


def _g(value: float) -> str:
    return "inf" if value == float("inf") else f"{value:.6g}"


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def point_fields(p: PointResult, row: dict[str, Any]) -> dict[str, Any]:
    """A judged point's stored columns (as exact text), with its rule's standing, set on `row`."""
    rule = p.rule
    row["indication"] = str(p.indication)
    row["error"] = str(p.error)
    row["mpe_unit"] = p.mpe_unit
    row["rule_id"] = p.rule_id
    row["relative_error_percent"] = _opt(p.relative_error_percent)
    row["mpe_lower"] = _opt(p.mpe_lower)
    row["mpe_upper"] = _opt(p.mpe_upper)
    row["conforms"] = p.conforms
    row["advisory"] = p.advisory
    row["added_load"] = _opt(p.added_load)
    row["corrected_error"] = _opt(p.corrected_error)
    row["position"] = p.position
    row["indication_after"] = _opt(p.indication_after)
    row["rule_source"] = None if rule is None else rule.source
    row["rule_confidence"] = None if rule is None else rule.confidence
    return row


def tests_fields(ev: Evaluation) -> list[dict[str, Any]]:
    """The record's tests as stored and signed: each test done (or missing) with its verdict and numbers."""
    return [
        {
            "id": t.test.id,
            "name_zh": t.test.name_zh,
            "name_en": t.test.name_en,
            "verdict": t.verdict,
            "seqs": [str(i) for i in t.seqs],
            "value": _opt(t.value),
            "limit": _opt(t.limit),
            "unit": t.unit,
            "problem": t.problem,
            "source": t.test.source,
            "confidence": t.test.confidence,
        }
        for t in ev.tests
        if t.seqs or t.problem
    ]


def _ratio_text(ratio: Decimal | None) -> str | None:
    return None if ratio is None else f"{ratio:.3g}"


def assessment_fields(u: PointUncertainty | None, problem: str | None, decision: Decision | None) -> dict[str, Any]:
    """A point's stored U and k (when evaluated), its uncertainty and its decision, as text."""
    out: dict[str, Any] = {}
    if u is not None:
        out["expanded_uncertainty"] = str(u.expanded)
        out["coverage_factor"] = str(u.coverage_factor)
        out["uncertainty"] = {
            "U": str(u.expanded),
            "k": str(u.coverage_factor),
            "p": _g(u.probability),
            "dof": _g(u.dof),
            "u_c": _g(u.standard_uncertainty),
            "unit": u.unit,
            "largest": u.largest,
        }
        if u.note:  # the standard's U taken outside the ranges its certificate gives
            out["uncertainty"]["note"] = u.note
    elif problem is not None:
        out["uncertainty"] = {"problem": problem}
    if decision is not None and (decision.rule != "simple" or decision.expanded_uncertainty is not None):
        lower, upper = decision.acceptance
        out["decision"] = {
            "rule": decision.rule,
            "zone": decision.zone,
            "acceptance_lower": str(lower),
            "acceptance_upper": str(upper),
            "guard_band": None if decision.guard_band is None else str(decision.guard_band),
            "ratio": None if decision.ratio is None else f"{decision.ratio:.3g}",
            # each limit on its own side (asymmetric limits): U/|limit| and the guard band there
            "ratio_lower": _ratio_text(decision.ratios[0]),
            "ratio_upper": _ratio_text(decision.ratios[1]),
            "guard_band_lower": None if decision.guard_bands is None else str(decision.guard_bands[0]),
            "guard_band_upper": None if decision.guard_bands is None else str(decision.guard_bands[1]),
            "note": decision.note,
        }
    return out
