"""What an edition's MPE rules say about one reading: the rule that applies to it (point, test, stage,
class, conditions, load band), its limits in the unit of comparison, and the uncertainty its budget gives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from jiliang.measurement.point_uncertainty import PointUncertainty, point_uncertainty
from jiliang.measurement.procedure import Edition, MeasurementPoint, MpeRule
from jiliang.measurement.reading import ReadingError
from jiliang.measurement.standard_u import STANDARD_NOTE, STANDARD_RANGES, StandardRanges

__all__ = ["budget_values", "compared_error", "limits_of", "rule_for", "uncertainty_at"]


def rule_for(
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
    which a context entry of the same name cannot replace. Where the standard's certificate states U
    per range (STANDARD_RANGES), standard_U and standard_k are those at the reference value, with a
    note (STANDARD_NOTE) when no range holds it."""
    values: dict[str, Any] = dict(context)
    ranges = values.pop(STANDARD_RANGES, None)
    if isinstance(ranges, StandardRanges) and ranges.ranges:
        u, k, note = ranges.at(reference)
        values["standard_U"], values["standard_k"] = float(u), float(k)
        if note:
            values[STANDARD_NOTE] = note
    values.update({k: float(v) for k, v in params.items() if isinstance(v, Decimal)})
    values["reference"], values["indication"] = float(reference), float(indication)
    return values


def uncertainty_at(
    edition: Edition, point_id: str, values: Mapping[str, Any]
) -> tuple[PointUncertainty | None, str | None]:
    """(U, None), (None, why not) or (None, None) when the edition has no budget for the point."""
    if edition.uncertainty is None or not edition.uncertainty.covers(point_id):
        return None, None
    note = values.get(STANDARD_NOTE)
    if note is not None:
        values = {k: v for k, v in values.items() if k != STANDARD_NOTE}
    found = point_uncertainty(edition.uncertainty, values)
    if isinstance(found, str):
        return None, found
    if note is not None and "standard_U" in edition.uncertainty.template.parameters:
        found = replace(found, note=str(note))
    return found, None


def limits_of(
    rule: MpeRule, params: Mapping[str, str | Decimal], point: MeasurementPoint
) -> tuple[Decimal, Decimal, str]:
    """The rule's limits in the unit the error is compared in."""
    if rule.kind == "percent_of_full_scale":  # ±5 %FS: a share of the instrument's full scale, in its unit
        full_scale = params["full_scale"]
        assert isinstance(full_scale, Decimal)
        return rule.mpe_lower * full_scale / 100, rule.mpe_upper * full_scale / 100, point.unit
    if rule.kind == "multiple_of_e":
        e = params["e"]
        assert isinstance(e, Decimal)
        return rule.mpe_lower * e, rule.mpe_upper * e, point.unit
    if rule.kind == "relative_percent":
        return rule.mpe_lower, rule.mpe_upper, "%"
    return rule.mpe_lower, rule.mpe_upper, rule.unit


def compared_error(rule: MpeRule, point: MeasurementPoint, error: Decimal, reference: Decimal) -> Decimal:
    """The error in the rule's comparison unit (relative errors need a non-zero reference)."""
    if rule.kind != "relative_percent":
        return error
    if reference == 0:
        raise ReadingError(f"point '{point.id}': relative error needs a non-zero reference value")
    return error / reference * 100
