"""Calibration curves by least squares (JCGM 100 Annex H.3, JJF 1059.1 §4.3.2.3): a straight line
y = a + b·(x − x₀) fitted through GTC, ordinary (the scatter of the residuals gives the uncertainty,
ν = n − 2) or weighted by stated u(y_k) (ν = ∞). The intercept and slope then enter the budget as two
correlated input quantities, so a measurand can predict from a new reading, e.g. b(30 °C) = a + b·(30 − 20)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import GTC
from GTC import type_a

from .errors import BudgetError

__all__ = ["CurveFit", "fit_line"]


@dataclass(frozen=True)
class CurveFit:
    intercept: str  # symbols the budget gives a and b
    slope: str
    x_offset: float  # x₀
    n: int
    weighted: bool
    a: float
    b: float
    u_a: float
    u_b: float
    r: float  # r(a, b)
    dof: float  # n − 2, or ∞ when weighted by stated u(y)
    residual_sd: float  # s = √(Σ residual² / (n − 2)); for a weighted fit, of the weighted residuals
    description: str = ""
    unit: str = ""


def fit_line(
    x: Sequence[float],
    y: Sequence[float],
    u_y: Sequence[float] | None,
    x_offset: float,
    symbols: tuple[str, str],
    field: str,
    description: str = "",
    unit: str = "",
) -> CurveFit:
    n = len(x)
    if len(y) != n:
        raise BudgetError(f"{field}.y", f"needs one value per x ({n}), got {len(y)}")
    if u_y is not None and len(u_y) != n:
        raise BudgetError(f"{field}.u_y", f"needs one value per x ({n}), got {len(u_y)}")
    if u_y is not None and min(u_y) <= 0:
        raise BudgetError(f"{field}.u_y", "every u(y) must be positive: it weights the fit")
    if n < (2 if u_y is not None else 3):
        raise BudgetError(f"{field}.x", "a straight line needs three points (two when weighted by u(y))")
    shifted = [xi - x_offset for xi in x]
    if max(shifted) - min(shifted) <= 1e-12 * max(1.0, max(map(abs, shifted))):
        raise BudgetError(f"{field}.x", "the x values must not all be equal")
    try:
        fit = type_a.line_fit(shifted, list(y)) if u_y is None else type_a.line_fit_wls(shifted, list(y), list(u_y))
        a, b = fit.a_b
        if u_y is None and (fit.ssr == 0 or a.u == 0 or b.u == 0):
            raise BudgetError(field, "the points lie exactly on a line: the residuals give no uncertainty (give u_y)")
        r = float(GTC.get_correlation(a, b))
    except (ArithmeticError, ValueError) as exc:
        if isinstance(exc, BudgetError):
            raise
        raise BudgetError(field, f"the line cannot be fitted: {exc}") from None
    values = (float(a.x), float(b.x), float(a.u), float(b.u), r)
    if not all(math.isfinite(v) for v in values):
        raise BudgetError(field, "the line cannot be fitted: the data are out of range")
    dof = float(n - 2) if u_y is None else math.inf
    s = math.sqrt(fit.ssr / (n - 2)) if n > 2 else math.nan
    return CurveFit(symbols[0], symbols[1], x_offset, n, u_y is not None, *values, dof, s, description, unit)
