"""The expanded uncertainty of one measurement point, from the budget a procedure edition attaches to
its points: the budget's parameters are filled in from the reading, the instrument's parameters, the
standard's calibration certificate and the recorded environment, and evaluated by the GUM method.
U is reported with two significant digits, rounded up (JJF 1059.1 §5.4, JCGM 100 §7.2.6)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

from .uncertainty import BudgetError, BudgetTemplate, evaluate_gum

__all__ = ["GIVEN_NAMES", "PointUncertainty", "UncertaintyModel", "point_uncertainty", "report_uncertainty"]


# the budget parameters every point's reading and standard supply
GIVEN_NAMES = {
    "reference": ("标准值", "the reference value"),
    "indication": ("示值", "the indication"),
    "standard_U": (
        "计量标准校准证书给出的扩展不确定度 U",
        "the expanded uncertainty U of the standard's calibration certificate",
    ),
    "standard_k": ("其包含因子 k", "its coverage factor k"),
}


@dataclass(frozen=True)
class UncertaintyModel:
    """An edition's budget for the error at a point; its measurand is the error in the comparison unit."""

    template: BudgetTemplate
    source: str
    standard_unit: str | None  # the unit the standard's U must be recorded in ("%" = relative)
    points: tuple[str, ...] | None = None  # the points it covers; None: all
    # the budget's parameters as people name them (Chinese, English): the procedure's instrument
    # parameters and environment quantities; the reading's and the standard's are GIVEN_NAMES
    names: Mapping[str, tuple[str, str]] = field(default_factory=dict, compare=False)

    def named(self, parameter: str) -> tuple[str, str]:
        return self.names.get(parameter) or GIVEN_NAMES.get(parameter) or (parameter, parameter)

    def covers(self, point_id: str) -> bool:
        return self.points is None or point_id in self.points

    @property
    def unit(self) -> str:
        return self.template.measurands[0].unit

    @property
    def probability(self) -> float:
        return float(self.template.data.get("probability", 0.95))


@dataclass(frozen=True)
class PointUncertainty:
    expanded: Decimal  # U, two significant digits rounded up
    coverage_factor: Decimal  # k, two decimals
    standard_uncertainty: float  # u_c
    dof: float  # ν_eff
    probability: float
    unit: str
    largest: str  # the input contributing most, e.g. "standard_U"
    note: str | None = None  # how an input was chosen, e.g. the standard's U outside its ranges


def report_uncertainty(value: float) -> Decimal:
    """Two significant digits, rounded up; float noise below 12 digits is dropped first."""
    if value <= 0 or not math.isfinite(value):
        return Decimal(0)
    d = Decimal(f"{value:.12g}")
    return d.quantize(Decimal(1).scaleb(d.adjusted() - 1), rounding=ROUND_CEILING)


def point_uncertainty(model: UncertaintyModel, values: Mapping[str, Any]) -> PointUncertainty | str:
    """U at one point, or why it cannot be evaluated ("中文 / English")."""
    missing = [model.named(p) for p in model.template.parameters if p not in values]
    if missing:
        zh, en = "、".join(m[0] for m in missing), ", ".join(m[1] for m in missing)
        return f"不确定度缺少数据：{zh} / uncertainty needs {en}"
    try:
        result = evaluate_gum(model.template.bind(values)).measurands[0]
    except BudgetError as exc:
        return f"不确定度无法评定 / uncertainty cannot be evaluated: {exc}"
    largest = max(result.contributions, key=lambda c: abs(c.contribution)).symbol if result.contributions else ""
    return PointUncertainty(
        expanded=report_uncertainty(result.expanded),
        coverage_factor=Decimal(f"{result.coverage_factor:.6f}").quantize(Decimal("0.01"), ROUND_HALF_EVEN),
        standard_uncertainty=result.standard_uncertainty,
        dof=result.dof,
        probability=result.probability,
        unit=result.unit,
        largest=largest,
    )
