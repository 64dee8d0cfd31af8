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
from GTC import reporting, type_a

from .budget import Budget, BudgetError, InputQuantity
from .coverage import coverage_factor
from .expression import GTC_NAMESPACE

__all__ = ["Contribution", "GumEvaluation", "GumResult", "OutputCorrelation", "evaluate_gum"]


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
    correlation: OutputCorrelation | None = None  # between intermediates and measurands, when two or more


@dataclass(frozen=True)
class OutputCorrelation:
    symbols: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]


def _ureal(q: InputQuantity, independent: bool) -> Any:
    df = GTC.inf if math.isinf(q.dof) else q.dof
    return GTC.ureal(q.estimate, q.standard_uncertainty, df, q.symbol, independent=independent)


Influences = list[tuple[str, Any, float]]  # (symbol, uncertain number, its standard uncertainty)


def _result(
    symbol: str, unit: str, y: Any, p: float, fixed_k: float | None, inputs: Influences, via: Influences
) -> GumResult:
    u = float(y.u)
    if not (math.isfinite(u) and math.isfinite(float(y.x))):
        raise BudgetError("measurands", f"'{symbol}' or its uncertainty is beyond the range of numbers")
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


def _input_space(budget: Budget) -> tuple[dict[str, Any], Influences]:
    """Each input as an uncertain number; a correlated set with finite ν is declared one ensemble, so
    that ν_eff follows Willink's extension of Welch–Satterthwaite."""
    correlated = {s for group in budget.correlated for s in group.symbols}
    space: dict[str, Any] = dict(GTC_NAMESPACE)
    inputs = []
    for q in budget.inputs:
        x = _ureal(q, q.symbol not in correlated)
        space[q.symbol] = x
        inputs.append((q.symbol, x, q.standard_uncertainty))
    for group in budget.correlated:
        if not math.isinf(group.dof):
            type_a.real_ensemble([space[s] for s in group.symbols], group.dof)
    for c in budget.correlations:
        GTC.set_correlation(c.r, space[c.a], space[c.b])
    return space, inputs


def evaluate_gum(budget: Budget) -> GumEvaluation:
    """Propagate the budget's inputs through its equations; first order unless the model uses mul2."""
    space, inputs = _input_space(budget)
    p, k, reused, uses = budget.probability, budget.coverage_factor, budget.reused, budget.uses or {}
    results: dict[str, GumResult] = {}
    try:
        for eq in budget.order or (*budget.intermediates, *budget.measurands):
            symbol = eq.symbol
            y = _as_ureal(eq.expression.evaluate(space))
            if symbol in reused and not (y.is_elementary or y.is_intermediate):
                y = GTC.result(y, label=symbol)  # so that the equations using it report it as a contribution
            space[symbol] = y
            deps = uses.get(symbol)
            via = [(s, space[s], float(space[s].u)) for s in deps] if deps else []
            results[symbol] = _result(symbol, eq.unit, y, p, k, inputs, via)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise BudgetError("measurands", f"the model cannot be evaluated at the estimates: {exc}") from None
    except RuntimeError as exc:  # GTC's mul2 refuses correlated or shared influences
        raise BudgetError("measurands", str(exc)) from None
    measurands = tuple([results[eq.symbol] for eq in budget.measurands])
    if not budget.intermediates and len(measurands) == 1:  # a procedure's point budget: nothing to correlate
        return GumEvaluation(budget, (), measurands)
    equations = (*budget.intermediates, *budget.measurands)
    values = [space[eq.symbol] for eq in equations]
    matrix = tuple(tuple(_correlation(a, b) for b in values) for a in values)
    return GumEvaluation(
        budget,
        tuple([results[eq.symbol] for eq in budget.intermediates]),
        measurands,
        OutputCorrelation(tuple(eq.symbol for eq in equations), matrix),
    )


def _correlation(a: Any, b: Any) -> float:
    """r(a, b); 1 on the diagonal, 0 when either has no uncertainty (GTC would divide by zero)."""
    if a is b:
        return 1.0
    if a.u == 0 or b.u == 0:
        return 0.0
    try:
        return float(GTC.get_correlation(a, b))
    except ArithmeticError:  # variances below the smallest float: undefined here (null in the report)
        return math.nan


def _as_ureal(value: Any) -> Any:
    """A model that does not depend on any input gives a plain number: a constant with u = 0."""
    return value if hasattr(value, "u") else GTC.constant(float(value))
