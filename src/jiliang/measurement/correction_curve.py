"""A calibration's correction curve (JCGM 100 Annex H.3, JJF 1059.1 §4.3.2.3): the corrections
b_k = reference − indication at the calibrated points, fitted by least squares as a straight line
b(t) = b₀ + b₁·(t − t₀) over the indication t. The record and its certificate state b₀, b₁, their
standard uncertainties, their correlation, the residual standard deviation and ν = n − 2, from which
a user corrects any reading t in the range: u²(b(t)) = u²(b₀) + (t − t₀)²·u²(b₁) + 2(t − t₀)·r·u(b₀)·u(b₁)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .uncertainty import BudgetError
from .uncertainty.curves import fit_line

__all__ = ["CorrectionCurveSpec", "fit_correction_curve"]


@dataclass(frozen=True)
class CorrectionCurveSpec:
    x_offset: float  # t₀
    unit: str
    source: str


def _digits(u: float) -> int:
    """Decimals that show u with two significant digits (and its value to the same place)."""
    return max(0, 1 - math.floor(math.log10(u))) if u > 0 else 6


def _two_digits(u: float) -> str:
    return f"{u:.{_digits(u)}f}"


def _with_u(value: float, u: float) -> tuple[str, str]:
    return f"{value:.{_digits(u)}f}", _two_digits(u)


MIN_POINTS = 3  # a line and the scatter about it: ν = n − 2 ≥ 1


def fit_correction_curve(spec: CorrectionCurveSpec, points: Sequence[tuple[Decimal, Decimal]]) -> dict[str, Any] | None:
    """The curve through (indication, reference − indication) as stored with the record (text values),
    why it cannot be fitted ("中文 / English"), or None with fewer than three points, where the
    certificate states each point's correction alone."""
    if len(points) < MIN_POINTS:
        return None
    x = [float(indication) for _, indication in points]
    y = [float(reference - indication) for reference, indication in points]
    try:
        fit = fit_line(x, y, None, spec.x_offset, ("b0", "b1"), "correction_curve")
    except BudgetError as exc:
        return {"problem": f"修正值曲线无法拟合 / the correction curve cannot be fitted: {exc.message}"}
    b0, u_b0 = _with_u(fit.a, fit.u_a)
    b1, u_b1 = _with_u(fit.b, fit.u_b)
    return {
        "x_offset": f"{spec.x_offset:g}",
        "unit": spec.unit,
        "points": str(fit.n),
        "b0": b0,
        "u_b0": u_b0,
        "b1": b1,
        "u_b1": u_b1,
        "r": f"{fit.r:.3f}",
        "residual_sd": _two_digits(fit.residual_sd),
        "dof": str(int(fit.dof)),
        "source": spec.source,
    }
