"""Benchmark: the uncertainty engine — Monte Carlo at a million trials, the adaptive procedure, and GUM
budget evaluations per second — each beside the bare library doing the same work.

    .venv/bin/python benchmarks/uncertainty.py [--trials 1000000] [--runs 7] [--seeds 5]
        [--gum-n 500] [--rounds 20] [--profile]

The model of figures 1 and 3 is y = x1·x2/(x3 + x4) + x5 with x1, x2 normal and x3, x4, x5 rectangular
(given by half-width), as a budget template whose estimates are parameters (e1 … e5). Every run binds
it with different estimates (±10 % around 10, 5, 2, 3, 1; not timed in figure 1).

1. Monte Carlo, `--trials` trials: `evaluate_mcm` on the bound budget with a different seed per run —
   drawing the inputs, evaluating the model, mean and standard deviation, and both 95 % coverage
   intervals (probabilistically symmetric and shortest: a full sort of the model values). Beside it
   bare NumPy: the same draws (same generator, seed and order, so the same numbers), the model, mean
   and standard deviation — no intervals. Goal (issue): ≤ 0.2 s.
2. The adaptive procedure (JCGM 101 §7.9) on GUM-S1's additive example (docs/budgets/gum-s1-additive.json
   with its fixed trials removed): time and number of trials for `--seeds` seeds.
3. GUM budgets per second: `evaluate_gum` over `--gum-n` budgets with different estimates (bound
   from the template beforehand, as budget files would arrive), and again with `BudgetTemplate.bind`
   inside the timing (the path a procedure takes at every point). The normal inputs have ν = 12 and
   30, so ν_eff is finite and k comes from Student's t. Beside them a bare GTC loop producing what
   the engine returns: the five ureals (type_b.uniform for the half-widths), y, y.x, y.u, y.df,
   k = stdtrit(floor ν_eff, (1 + p)/2) (ndtri for ν = ∞) computed every time, U = k·u, and per input
   reporting.sensitivity and reporting.u_component. A minimal bare loop (ureals, y, y.u) is printed
   for context. `--rounds` rounds, interleaved; medians reported.
   Goal (issue): evaluate_gum at ≥ 80 % of the fair bare loop's rate.

`--profile` runs the engine's GUM loop once more under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import GTC
import numpy as np
from GTC import reporting, type_b
from scipy.special import ndtri, stdtrit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jiliang.measurement.uncertainty import BudgetTemplate, evaluate_gum, evaluate_mcm  # noqa: E402

CENTRE = (10.0, 5.0, 2.0, 3.0, 1.0)  # x1 … x5
U_NORMAL = (0.1, 0.05)  # u(x1), u(x2)
HALF = (0.1, 0.1, 0.05)  # a of x3, x4, x5
DOF_GUM = (12, 30)  # ν of x1, x2 in figure 3
P = 0.95
MCM_GOAL_S = 0.2
GUM_GOAL = 0.80


def model_budget(dof: tuple[float, float] | None) -> dict[str, Any]:
    """The budget dict of y = x1·x2/(x3 + x4) + x5; estimates are the parameters e1 … e5."""
    inputs: list[dict[str, Any]] = []
    for i in range(2):
        q: dict[str, Any] = {"symbol": f"x{i + 1}", "estimate": f"e{i + 1}", "standard_uncertainty": U_NORMAL[i]}
        if dof is not None:
            q["dof"] = dof[i]
        inputs.append(q)
    for i in range(3):
        inputs.append(
            {"symbol": f"x{i + 3}", "estimate": f"e{i + 3}", "distribution": "rectangular", "half_width": HALF[i]}
        )
    return {
        "format": "jiliang.uncertainty-budget/1",
        "title": "benchmark: y = x1·x2/(x3 + x4) + x5",
        "probability": P,
        "parameters": [{"name": f"e{i + 1}"} for i in range(5)],
        "inputs": inputs,
        "measurands": [{"symbol": "y", "expression": "x1 * x2 / (x3 + x4) + x5"}],
    }


def estimate_sets(n: int, seed: int) -> list[tuple[float, ...]]:
    rng = np.random.default_rng(seed)
    return [tuple(float(c * f) for c, f in zip(CENTRE, row, strict=True)) for row in rng.uniform(0.9, 1.1, (n, 5))]


def as_params(e: tuple[float, ...]) -> dict[str, float]:
    return {f"e{i + 1}": v for i, v in enumerate(e)}


# --- figure 1: Monte Carlo at 10^6 trials -------------------------------------------------------


def bare_mcm(e: tuple[float, ...], m: int, seed: int) -> tuple[float, float]:
    """Draw, model, mean, std — the engine's draws in the engine's order, nothing else."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(e[0], U_NORMAL[0], m)
    x2 = rng.normal(e[1], U_NORMAL[1], m)
    x3 = rng.uniform(e[2] - HALF[0], e[2] + HALF[0], m)
    x4 = rng.uniform(e[3] - HALF[1], e[3] + HALF[1], m)
    x5 = rng.uniform(e[4] - HALF[2], e[4] + HALF[2], m)
    y = x1 * x2 / (x3 + x4) + x5
    return float(y.mean()), float(y.std(ddof=1))


def figure_mcm(trials: int, runs: int) -> None:
    template = BudgetTemplate(model_budget(None))
    sets = estimate_sets(runs + 1, seed=1)
    # warm-up (imports, first allocation of the big arrays), not reported
    evaluate_mcm(template.bind(as_params(sets[-1])), trials=trials, seed=999)
    bare_mcm(sets[-1], trials, 999)
    engine, bare = [], []
    for run in range(runs):
        budget = template.bind(as_params(sets[run]))  # not timed
        seed = 1000 + run
        t = time.perf_counter()
        result = evaluate_mcm(budget, trials=trials, seed=seed)
        engine.append(time.perf_counter() - t)
        t = time.perf_counter()
        mean, std = bare_mcm(sets[run], trials, seed)
        bare.append(time.perf_counter() - t)
        y = result.measurands[0]
        # same generator, seed and draw order: the same model values
        assert math.isclose(y.value, mean, rel_tol=1e-12) and math.isclose(y.standard_uncertainty, std, rel_tol=1e-9)
        assert result.trials == trials
    med, med_bare = statistics.median(engine), statistics.median(bare)
    verdict = "PASS" if med <= MCM_GOAL_S else "FAIL"
    print(
        f"mcm[{trials:,} trials, 2 normal + 3 rectangular, evaluate_mcm]: median {med:.3f} s "
        f"(min {min(engine):.3f}, max {max(engine):.3f}) over {runs} runs, different estimates and seeds — "
        f"draws + model + mean/std + symmetric and shortest 95 % intervals (full sort) — "
        f"goal <= {MCM_GOAL_S} s {verdict}",
        flush=True,
    )
    print(
        f"mcm[{trials:,} trials, bare NumPy]: median {med_bare:.3f} s (min {min(bare):.3f}, max {max(bare):.3f}) — "
        f"the same draws + model + mean/std only, no intervals; engine = {med / med_bare:.1f}x bare "
        f"(+{(med - med_bare) * 1000:.0f} ms)",
        flush=True,
    )


# --- figure 2: the adaptive procedure on GUM-S1 9.2.2 ---------------------------------------------


def figure_adaptive(seeds: int) -> None:
    data = json.loads((ROOT / "docs" / "budgets" / "gum-s1-additive.json").read_text(encoding="utf-8"))
    data["monte_carlo"].pop("trials", None)  # → adaptive (JCGM 101 §7.9)
    budget = BudgetTemplate(data).bind()
    evaluate_mcm(budget, seed=0)  # warm-up
    times, trials, converged = [], [], 0
    for seed in range(1, seeds + 1):
        t = time.perf_counter()
        result = evaluate_mcm(budget, seed=seed)
        times.append(time.perf_counter() - t)
        assert result.adaptive
        trials.append(result.trials)
        converged += result.converged
    runs = ", ".join(f"{s:.3f} s/{m:,}" for s, m in zip(times, trials, strict=True))
    print(
        f"adaptive[gum-s1-additive, p = {budget.probability}, "
        f"{budget.monte_carlo.significant_digits} significant digits]: median {statistics.median(times):.3f} s, "
        f"median {int(statistics.median(trials)):,} trials over {seeds} seeds, {converged}/{seeds} converged "
        f"(runs: {runs})",
        flush=True,
    )


# --- figure 3: GUM budgets per second -------------------------------------------------------------


def engine_gum(template: BudgetTemplate, params: list[dict[str, float]]) -> list[Any]:
    return [evaluate_gum(template.bind(v)).measurands[0] for v in params]


def bare_gum_fair(sets: list[tuple[float, ...]]) -> list[Any]:
    """What evaluate_gum returns, by hand: value, u_c, ν_eff, k, U, and c_i, u_i(y) per input."""
    ureal, inf = GTC.ureal, GTC.inf
    q = (1 + P) / 2
    (u1, u2), (a3, a4, a5), (df1, df2) = U_NORMAL, HALF, DOF_GUM
    out = []
    for e in sets:
        x1 = ureal(e[0], u1, df1, "x1")
        x2 = ureal(e[1], u2, df2, "x2")
        x3 = ureal(e[2], type_b.uniform(a3), inf, "x3")
        x4 = ureal(e[3], type_b.uniform(a4), inf, "x4")
        x5 = ureal(e[4], type_b.uniform(a5), inf, "x5")
        y = x1 * x2 / (x3 + x4) + x5
        u = float(y.u)
        df = float(y.df)
        if math.isnan(df):
            df = math.inf
        nu = math.inf if math.isinf(df) or df > 1e7 else float(max(1, math.floor(df)))
        k = float(ndtri(q)) if math.isinf(nu) else float(stdtrit(nu, q))
        parts = [(float(reporting.sensitivity(y, x)), float(reporting.u_component(y, x))) for x in (x1, x2, x3, x4, x5)]
        out.append((float(y.x), u, df, k, k * u, parts))
    return out


def bare_gum_minimal(sets: list[tuple[float, ...]]) -> list[float]:
    ureal = GTC.ureal
    (u1, u2), (a3, a4, a5) = U_NORMAL, HALF
    out = []
    for e in sets:
        x1 = ureal(e[0], u1)
        x2 = ureal(e[1], u2)
        x3 = ureal(e[2], type_b.uniform(a3))
        x4 = ureal(e[3], type_b.uniform(a4))
        x5 = ureal(e[4], type_b.uniform(a5))
        y = x1 * x2 / (x3 + x4) + x5
        out.append(y.u)
    return out


def check_same(engine: list[Any], bare: list[Any]) -> None:
    for g, (x, u, df, k, big_u, parts) in zip(engine, bare, strict=True):
        assert math.isclose(g.value, x) and math.isclose(g.standard_uncertainty, u)
        assert math.isclose(g.dof, df) and math.isclose(g.coverage_factor, k) and math.isclose(g.expanded, big_u)
        for c, (ci, ui) in zip(g.contributions, parts, strict=True):
            assert math.isclose(c.sensitivity, ci) and math.isclose(c.contribution, ui)


def rate(fn: Any, *args: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn(*args)
    return len(args[-1]) / (time.perf_counter() - t), out


def evaluate_all(budgets: list[Any]) -> list[Any]:
    return [evaluate_gum(b).measurands[0] for b in budgets]


def figure_gum(n: int, rounds: int, profile: bool) -> None:
    template = BudgetTemplate(model_budget(DOF_GUM))
    warm = estimate_sets(200, seed=7)
    engine_gum(template, [as_params(e) for e in warm])
    bare_gum_fair(warm)
    bare_gum_minimal(warm)
    r_eval, r_engine, r_fair, r_min = [], [], [], []
    for r in range(rounds):
        sets = estimate_sets(n, seed=100 + r)
        params = [as_params(e) for e in sets]
        budgets = [template.bind(v) for v in params]  # budgets of different values, as files would give
        rate_v, got = rate(evaluate_all, budgets)
        rate_e, _ = rate(engine_gum, template, params)
        rate_f, want = rate(bare_gum_fair, sets)
        rate_m, _ = rate(bare_gum_minimal, sets)
        check_same(got, want)
        r_eval.append(rate_v)
        r_engine.append(rate_e)
        r_fair.append(rate_f)
        r_min.append(rate_m)
    evaluated, engine = statistics.median(r_eval), statistics.median(r_engine)
    fair, minimal = statistics.median(r_fair), statistics.median(r_min)
    ratios = [e / f for e, f in zip(r_eval, r_fair, strict=True)]  # within a round: same load
    ratio = statistics.median(ratios)
    bound = statistics.median([e / f for e, f in zip(r_engine, r_fair, strict=True)])
    verdict = "PASS" if ratio >= GUM_GOAL else "FAIL"
    print(
        f"gum[y = x1·x2/(x3 + x4) + x5, evaluate_gum on {n:,} budgets of different values]: {evaluated:,.0f} "
        f"budgets/s = {ratio:.0%} of fair bare GTC {fair:,.0f}/s (goal >= {GUM_GOAL:.0%}) {verdict}; "
        f"per round {min(ratios):.0%}–{max(ratios):.0%}",
        flush=True,
    )
    print(
        f"gum[the same, binding a template's parameters first (a procedure's path, per point)]: {engine:,.0f} "
        f"budgets/s = {bound:.0%} of fair bare; per budget: bind {1e6 / engine - 1e6 / evaluated:.0f} µs + "
        f"evaluate_gum {1e6 / evaluated:.0f} µs, fair bare {1e6 / fair:.0f} µs",
        flush=True,
    )
    print(
        f"gum[minimal bare GTC: ureals + y + y.u]: {minimal:,.0f}/s; all rates are medians of {rounds} "
        f"interleaved rounds (evaluate_gum {min(r_eval):,.0f}–{max(r_eval):,.0f}/s, "
        f"fair bare {min(r_fair):,.0f}–{max(r_fair):,.0f}/s)",
        flush=True,
    )
    if profile:
        params = [as_params(e) for e in estimate_sets(2000, seed=99)]
        prof = cProfile.Profile()
        prof.enable()
        engine_gum(template, params)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        print(f"\n--- cProfile of {len(params):,} engine GUM evaluations (bind + evaluate_gum), by own time ---")
        print(buf.getvalue())
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
        print("--- the same, by cumulative time ---")
        print(buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7, help="Monte Carlo runs (figure 1)")
    ap.add_argument("--seeds", type=int, default=5, help="adaptive runs (figure 2)")
    ap.add_argument("--gum-n", type=int, default=500, help="GUM budgets per round (figure 3)")
    ap.add_argument("--rounds", type=int, default=20, help="GUM rounds (figure 3)")
    ap.add_argument("--profile", action="store_true", help="profile the engine's GUM loop")
    a = ap.parse_args()
    figure_mcm(a.trials, a.runs)
    figure_adaptive(a.seeds)
    figure_gum(a.gum_n, a.rounds, a.profile)


if __name__ == "__main__":
    main()
