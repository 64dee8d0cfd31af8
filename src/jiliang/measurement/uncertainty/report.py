"""One evaluation report for the CLI (`jiliang uncertainty evaluate`) and the API: the budget table,
the GUM result, the Monte Carlo result and, with both, the JCGM 101 §8 validation; as plain JSON."""

from __future__ import annotations

import math
from typing import Any, Literal

from .budget import Budget
from .gum import Contribution, GumResult, evaluate_gum
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
        "dof": _num(r.dof),
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
            "dof": _num(q.dof),
            "distribution": q.distribution,
            "evaluation": q.evaluation,
            "how": q.how,
        }
        for q in budget.inputs
    ]


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
        "probability": budget.probability,
        "inputs": _inputs(budget),
    }
    gum = evaluate_gum(budget) if method in ("gum", "both") else None
    mcm = evaluate_mcm(budget, trials, seed, max_trials) if method in ("mcm", "both") else None
    if gum is not None:
        out["gum"] = {
            "method": "JJF 1059.1 / JCGM 100 law of propagation (GTC), Welch–Satterthwaite ν_eff, k = t_p(⌊ν_eff⌋)",
            "intermediates": [_gum(r) for r in gum.intermediates],
            "measurands": [_gum(r) for r in gum.measurands],
        }
    if mcm is not None:
        out["mcm"] = {
            "method": "JJF 1059.2 / JCGM 101 Monte Carlo" + (" (adaptive, §7.9)" if mcm.adaptive else ""),
            "trials": mcm.trials,
            "adaptive": mcm.adaptive,
            "converged": mcm.converged,
            "seed": mcm.seed,
            "measurands": [_mcm(r) for r in mcm.measurands],
        }
    if gum is not None and mcm is not None:
        out["validation"] = [
            {"symbol": v.symbol, "d_low": v.d_low, "d_high": v.d_high, "tolerance": v.tolerance, "passed": v.passed}
            for v in validate_gum(gum, mcm)
        ]
    return out
