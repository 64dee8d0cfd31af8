"""One evaluation report for the CLI (`jiliang uncertainty evaluate`) and the API: the budget table,
the GUM result, the Monte Carlo result and, with both, the JCGM 101 §8 validation; as plain JSON."""

from __future__ import annotations

import math
from typing import Any, Literal

from .budget import Budget
from .curves import CurveFit
from .gum import Contribution, GumResult, OutputCorrelation, evaluate_gum
from .mcm import MAX_TRIALS, McmResult, evaluate_mcm, validate_gum

__all__ = ["METHODS", "Method", "evaluate_report"]

Method = Literal["gum", "mcm", "both"]
METHODS: tuple[str, ...] = ("gum", "mcm", "both")


def _num(value: float) -> float | str | None:
    """JSON has no infinity: ν = ∞ is written "inf"."""
    if math.isinf(value):
        return "inf"
    return None if math.isnan(value) else value


def _contribution(c: Contribution) -> dict[str, Any]:
    return {"symbol": c.symbol, "sensitivity": c.sensitivity, "contribution": c.contribution, "share": c.share}


def _gum(r: GumResult) -> dict[str, Any]:
    return {
        "symbol": r.symbol,
        "unit": r.unit,
        "value": r.value,
        "standard_uncertainty": r.standard_uncertainty,
        "dof": r.dof,
        "coverage_factor": r.coverage_factor,
        "expanded": r.expanded,
        "probability": r.probability,
        "contributions": [_contribution(c) for c in r.contributions],
        "via": [_contribution(c) for c in r.via],
    }


def _mcm(r: McmResult) -> dict[str, Any]:
    return {
        "symbol": r.symbol,
        "unit": r.unit,
        "value": r.value,
        "standard_uncertainty": r.standard_uncertainty,
        "probability": r.probability,
        "symmetric_interval": list(r.symmetric),
        "shortest_interval": list(r.shortest),
    }


def _inputs(budget: Budget) -> list[dict[str, Any]]:
    return [
        {
            "symbol": q.symbol,
            "description": q.description,
            "unit": q.unit,
            "estimate": q.estimate,
            "standard_uncertainty": q.standard_uncertainty,
            "dof": q.dof,
            "distribution": q.distribution,
            "evaluation": q.evaluation,
            "how": q.how,
            "monte_carlo_draw": q.draw,
            "t_convention": q.t_convention,
        }
        for q in budget.inputs
    ]


def _matrix(c: OutputCorrelation | None) -> dict[str, Any] | None:
    return None if c is None else {"symbols": list(c.symbols), "matrix": [list(row) for row in c.matrix]}


def _curve(f: CurveFit) -> dict[str, Any]:
    return {
        "description": f.description,
        "model": f"y = {f.intercept} + {f.slope}·(x − {f.x_offset:g})",
        "x_offset": f.x_offset,
        "points": f.n,
        "weighted": f.weighted,
        "intercept": {"symbol": f.intercept, "value": f.a, "standard_uncertainty": f.u_a},
        "slope": {"symbol": f.slope, "value": f.b, "standard_uncertainty": f.u_b},
        "correlation": f.r,
        "covariance": f.r * f.u_a * f.u_b,
        "dof": f.dof,
        "residual_standard_deviation": f.residual_sd,
    }


def evaluate_report(
    budget: Budget,
    method: Method = "gum",
    trials: int | None = None,
    seed: int | None = None,
    max_trials: int = MAX_TRIALS,
) -> dict[str, Any]:
    """Evaluate by the chosen method(s) and return the report as JSON-ready data."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    out: dict[str, Any] = {
        "title": budget.title,
        "title_zh": budget.title_zh,
        "source": budget.source,
        "format": budget.format,
        "probability": budget.probability,
        "inputs": _inputs(budget),
        "input_correlations": [{"between": [c.a, c.b], "r": c.r, "from": c.origin} for c in budget.correlations],
        "curves": [_curve(f) for f in budget.curves],
    }
    gum = evaluate_gum(budget) if method in ("gum", "both") else None
    mcm = evaluate_mcm(budget, trials, seed, max_trials) if method in ("mcm", "both") else None
    if gum is not None:
        out["gum"] = {
            "method": "JJF 1059.1 / JCGM 100 law of propagation (GTC), Welch–Satterthwaite ν_eff, k = t_p(⌊ν_eff⌋)",
            "intermediates": [_gum(r) for r in gum.intermediates],
            "measurands": [_gum(r) for r in gum.measurands],
            "correlation": _matrix(gum.correlation),
        }
    if mcm is not None:
        out["mcm"] = {
            "method": "JJF 1059.2 / JCGM 101 Monte Carlo" + (" (adaptive, §7.9)" if mcm.adaptive else ""),
            "trials": mcm.trials,
            "adaptive": mcm.adaptive,
            "converged": mcm.converged,
            "seed": mcm.seed,
            "measurands": [_mcm(r) for r in mcm.measurands],
            "correlation": _matrix(mcm.correlation),
        }
    if gum is not None and mcm is not None:
        out["validation"] = [
            {"symbol": v.symbol, "d_low": v.d_low, "d_high": v.d_high, "tolerance": v.tolerance, "passed": v.passed}
            for v in validate_gum(gum, mcm)
        ]
    return _strict(out)


def _strict(value: Any) -> Any:
    """Strict JSON has no NaN or infinity: ∞ (an infinite ν) is written "inf", an undefined number
    (e.g. the sensitivity to an input of zero uncertainty where the model has no derivative) null."""
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value
