"""The GUM method (JJF 1059.1 / JCGM 100) through GTC, the GUM Tree Calculator: combined standard
uncertainty by the law of propagation (§4.4, with correlations), ν_eff by Welch–Satterthwaite (§4.4.7;
GTC applies Willink's extension when inputs are correlated), k from Student's t (coverage.py),
U = k·u_c (or a fixed k the budget states), and the budget table of sensitivity coefficients c_i
and contributions c_i·u(x_i)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import GTC
from GTC import reporting

from .budget import Budget, BudgetError, InputQuantity
from .coverage import coverage_factor
from .expression import GTC_NAMESPACE

__all__ = ["Contribution", "GumEvaluation", "GumResult", "evaluate_gum"]


class Contribution(NamedTuple):  # a tuple: one is made per input per evaluation
    symbol: str
    sensitivity: float  # c_i = ∂f/∂x_i at the estimates
    contribution: float  # u_i(y) = c_i·u(x_i), signed
    share: float  # u_i(y)² / u_c(y)², ignoring correlation terms (0 when u_c = 0)


class GumResult(NamedTuple):
    symbol: str
    unit: str
    value: float  # y
    standard_uncertainty: float  # u_c(y)
    dof: float  # ν_eff (∞ as math.inf)
    coverage_factor: float  # k = t_p(floor ν_eff)
    expanded: float  # U = k·u_c
    probability: float
    contributions: tuple[Contribution, ...]  # one per input quantity, in budget order
    via: tuple[Contribution, ...] = ()  # contributions of the intermediates (e.g. d, θ in GUM H.1)


@dataclass(frozen=True)
class GumEvaluation:
    budget: Budget
    intermediates: tuple[GumResult, ...]
    measurands: tuple[GumResult, ...]


def _ureal(q: InputQuantity, independent: bool) -> Any:
    df = GTC.inf if math.isinf(q.dof) else q.dof
    return GTC.ureal(q.estimate, q.standard_uncertainty, df, q.symbol, independent=independent)


Influences = list[tuple[str, Any, float]]  # (symbol, uncertain number, its standard uncertainty)


def _result(
    symbol: str, unit: str, y: Any, p: float, fixed_k: float | None, inputs: Influences, via: Influences
) -> GumResult:
    u = float(y.u)
    dof = float(y.df)
    if math.isnan(dof):  # GTC gives nan when u_c = 0
        dof = math.inf
    k = fixed_k or coverage_factor(dof, p)

    def contributions(of: Influences) -> tuple[Contribution, ...]:
        out = []
        for sym, x, ux in of:
            ui = float(reporting.u_component(y, x))
            c = ui / ux if ux > 0 else float(reporting.sensitivity(y, x))  # c_i = u_i(y)/u(x_i)
            out.append(Contribution(sym, c, ui, ui * ui / (u * u) if u > 0 else 0.0))
        return tuple(out)

    return GumResult(symbol, unit, float(y.x), u, dof, k, k * u, p, contributions(inputs), contributions(via))


def evaluate_gum(budget: Budget) -> GumEvaluation:
    """Propagate the budget's inputs through its equations; first order unless the model uses mul2."""
    correlated = {s for c in budget.correlations for s in (c.a, c.b)}
    space: dict[str, Any] = dict(GTC_NAMESPACE)
    inputs = []
    for q in budget.inputs:
        x = _ureal(q, q.symbol not in correlated)
        space[q.symbol] = x
        inputs.append((q.symbol, x, q.standard_uncertainty))
    for c in budget.correlations:
        GTC.set_correlation(c.r, space[c.a], space[c.b])
    p = budget.probability
    via: Influences = []
    intermediates = []
    try:
        for eq in budget.intermediates:
            y = GTC.result(_as_ureal(eq.expression.evaluate(space)), label=eq.symbol)
            space[eq.symbol] = y
            via.append((eq.symbol, y, float(y.u)))
            intermediates.append(_result(eq.symbol, eq.unit, y, p, budget.coverage_factor, inputs, []))
        measurands = tuple(
            _result(
                eq.symbol, eq.unit, _as_ureal(eq.expression.evaluate(space)), p, budget.coverage_factor, inputs, via
            )
            for eq in budget.measurands
        )
    except (ArithmeticError, ValueError) as exc:
        raise BudgetError("measurands", f"the model cannot be evaluated at the estimates: {exc}") from None
    except RuntimeError as exc:  # GTC's mul2 refuses correlated or shared influences
        raise BudgetError("measurands", str(exc)) from None
    return GumEvaluation(budget, tuple(intermediates), measurands)


def _as_ureal(value: Any) -> Any:
    """A model that does not depend on any input gives a plain number: a constant with u = 0."""
    return value if hasattr(value, "u") else GTC.constant(float(value))
