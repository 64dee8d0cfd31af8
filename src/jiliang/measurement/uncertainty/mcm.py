"""The Monte Carlo method (JJF 1059.2 / JCGM 101, GUM Supplement 1), vectorised in NumPy: inputs
drawn from their distributions (§6.4), the model evaluated on whole arrays, the estimate and standard
uncertainty as mean and standard deviation (§7.6), probabilistically symmetric and shortest coverage
intervals (§7.7), the adaptive procedure (§7.9) and the validation of the GUM result (§8).
Reproducible: the same seed gives the same numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .budget import Budget, BudgetError, InputQuantity
from .expression import NUMPY_NAMESPACE
from .gum import GumEvaluation, OutputCorrelation

__all__ = ["McmEvaluation", "McmResult", "Validation", "evaluate_mcm", "numerical_tolerance", "validate_gum"]

MAX_TRIALS = 50_000_000  # the adaptive procedure gives up here rather than run without end


@dataclass(frozen=True)
class McmResult:
    symbol: str
    unit: str
    value: float  # y, the mean of the model values (§7.6)
    standard_uncertainty: float  # u(y), their standard deviation
    probability: float
    symmetric: tuple[float, float]  # probabilistically symmetric coverage interval (§7.7.2)
    shortest: tuple[float, float]  # shortest coverage interval (§7.7.3)


@dataclass(frozen=True)
class McmEvaluation:
    budget: Budget
    trials: int
    adaptive: bool
    converged: bool  # adaptive: every result stable to the numerical tolerance (fixed M: True)
    seed: int | None
    measurands: tuple[McmResult, ...]
    correlation: OutputCorrelation | None = None  # between intermediates and measurands, from the samples


@dataclass(frozen=True)
class Validation:
    """JCGM 101 §8.2: the GUM interval y ± U_p against the Monte Carlo (symmetric) interval."""

    symbol: str
    d_low: float  # |y − U_p − y_low|
    d_high: float  # |y + U_p − y_high|
    tolerance: float  # δ from the Monte Carlo u(y) to the budget's significant digits
    passed: bool


def numerical_tolerance(u: float, significant_digits: int) -> float:
    """δ = ½·10^l where u = c·10^l and c has `significant_digits` digits (JCGM 101 §7.9.2)."""
    if u <= 0 or not math.isfinite(u):
        return 0.0
    exponent = math.floor(math.log10(u)) - (significant_digits - 1)
    return 0.5 * 10.0**exponent


def _draw(q: InputQuantity, rng: np.random.Generator, m: int) -> np.ndarray:
    x, u = q.estimate, q.standard_uncertainty
    if q.t_scale is not None:  # scaled and shifted t (§6.4.9), by scale or by standard deviation
        return x + q.t_scale * rng.standard_t(q.dof, m)
    if q.distribution == "normal":
        return rng.normal(x, u, m)
    a = q.half_width
    assert a is not None
    if q.distribution == "rectangular":
        return rng.uniform(x - a, x + a, m)
    if q.distribution == "triangular":
        return x + a * (rng.random(m) - rng.random(m))  # the difference of two uniforms is triangular
    if q.distribution == "arcsine":
        return x + a * np.sin(2 * np.pi * rng.random(m))  # §6.4.6
    d = q.half_width_uncertainty or 0.0  # curvilinear trapezoid, §6.4.3.4
    low = x - a - d + 2 * d * rng.random(m)
    return low + 2 * (x - low) * rng.random(m)


def _correlated(budget: Budget, rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    """Each set of correlated inputs drawn together: a multivariate Gaussian (§6.4.8) when all are
    normal, a multivariate t with their shared ν (as in JCGM 102: one χ² draw scales the whole vector,
    so each marginal is its own t_ν) when all are Student t; other shapes cannot be correlated here."""
    by_symbol = {q.symbol: q for q in budget.inputs}
    out: dict[str, np.ndarray] = {}
    for group in budget.correlated:
        members = [by_symbol[s] for s in group.symbols]
        t = [q.t_scale is not None for q in members]
        if not (all(t) or (not any(t) and all(q.distribution == "normal" for q in members))):
            kinds = ", ".join(f"{q.symbol}: {q.draw}" for q in members)
            raise BudgetError(
                group.field,
                f"Monte Carlo draws correlated inputs together, as all normal or all Student t ({kinds})",
            )
        scale = np.array([q.t_scale if q.t_scale is not None else q.standard_uncertainty for q in members])
        values, vectors = np.linalg.eigh(group.matrix)  # the matrix may be singular: no Cholesky
        root = vectors * np.sqrt(np.clip(values, 0, None))
        z = root @ rng.standard_normal((len(members), m))
        if all(t):
            z = z / np.sqrt(rng.chisquare(group.dof, m) / group.dof)
        for i, q in enumerate(members):
            out[q.symbol] = q.estimate + scale[i] * z[i]
    return out


def _model_values(budget: Budget, rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    """The values of every intermediate and measurand, M of each."""
    space: dict[str, Any] = dict(NUMPY_NAMESPACE)
    space.update(_correlated(budget, rng, m) if budget.correlated else {})
    for q in budget.inputs:
        if q.symbol not in space:
            space[q.symbol] = _draw(q, rng, m)
    out = {}
    with np.errstate(all="ignore"):
        for eq in budget.order or (*budget.intermediates, *budget.measurands):
            value = eq.expression.evaluate(space)
            space[eq.symbol] = out[eq.symbol] = np.broadcast_to(np.asarray(value, float), (m,))
    for eq in budget.measurands:
        if not np.isfinite(out[eq.symbol]).all():
            raise BudgetError(
                "measurands", f"Monte Carlo: the model of '{eq.symbol}' is undefined for some drawn input values"
            )
    return out


def _least_trials(p: float) -> int:
    """M ≥ 100/(1 − p) trials, so that the coverage interval leaves about 100 values outside it."""
    return math.ceil(100 / (1 - p))


def _interval_size(m: int, p: float) -> tuple[int, int]:
    """q and r of §7.7.2 (1-based r): q = pM, rounded half up when pM is not an integer."""
    q = round(p * m) if float(p * m).is_integer() else int(p * m + 0.5)
    r = (m - q) // 2 if (m - q) % 2 == 0 else (m - q + 1) // 2
    return q, max(r, 1)


def _symmetric(values: np.ndarray, p: float) -> tuple[float, float]:
    q, r = _interval_size(values.size, p)
    part = np.partition(values, (r - 1, r - 1 + q))
    return float(part[r - 1]), float(part[r - 1 + q])


def _summarise(symbol: str, unit: str, values: np.ndarray, p: float) -> McmResult:
    ordered = np.sort(values)
    q, r = _interval_size(ordered.size, p)
    widths = ordered[q:] - ordered[: ordered.size - q]
    best = int(np.argmin(widths))
    with np.errstate(all="ignore"):
        mean, sd = float(values.mean()), float(values.std(ddof=1))
    result = McmResult(
        symbol,
        unit,
        mean,
        sd,
        p,
        (float(ordered[r - 1]), float(ordered[r - 1 + q])),
        (float(ordered[best]), float(ordered[best + q])),
    )
    if not (math.isfinite(mean) and math.isfinite(sd) and math.isfinite(float(widths[best]))):
        raise BudgetError("measurands", f"Monte Carlo: the values of '{symbol}' are beyond the range of numbers")
    return result


def evaluate_mcm(
    budget: Budget, trials: int | None = None, seed: int | None = None, max_trials: int = MAX_TRIALS
) -> McmEvaluation:
    """M trials when given (or in the budget), otherwise the adaptive procedure of §7.9, which stops
    unconverged at `max_trials`."""
    trials = trials or budget.monte_carlo.trials
    if trials is not None and trials > max_trials:
        raise BudgetError("monte_carlo.trials", f"at most {max_trials:,} trials here")
    least = _least_trials(budget.probability)
    if (trials or max_trials) < least:
        raise BudgetError(
            "monte_carlo.trials",
            f"a {100 * budget.probability:g} % coverage interval needs at least {least:,} trials, "
            "M ≥ 100/(1 − p) (JCGM 101 §7.2.2)",
        )
    seed = budget.monte_carlo.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    if trials is not None:
        return _evaluation(budget, _model_values(budget, rng, trials), trials, False, True, seed)
    return _adaptive(budget, rng, seed, max_trials)


def _evaluation(
    budget: Budget, values: dict[str, np.ndarray], trials: int, adaptive: bool, converged: bool, seed: int | None
) -> McmEvaluation:
    p = budget.probability
    results = tuple(_summarise(eq.symbol, eq.unit, values[eq.symbol], p) for eq in budget.measurands)
    equations = (*budget.intermediates, *budget.measurands)
    correlation = None
    if len(equations) > 1:
        samples = np.array([values[eq.symbol] for eq in equations])
        with np.errstate(all="ignore"):  # a constant equation has no correlation: 0, as in the GUM report
            matrix = np.nan_to_num(np.corrcoef(samples), nan=0.0)
        np.fill_diagonal(matrix, 1.0)
        correlation = OutputCorrelation(tuple(eq.symbol for eq in equations), tuple(map(tuple, matrix.tolist())))
    return McmEvaluation(budget, trials, adaptive, converged, seed, results, correlation)


def _adaptive(budget: Budget, rng: np.random.Generator, seed: int | None, max_trials: int) -> McmEvaluation:
    """§7.9.4: batches of M = max(100/(1 − p), 10⁴); stop once twice the standard deviation of the
    batch averages of y, u(y), y_low and y_high is at most δ for every measurand (h ≥ 2)."""
    p = budget.probability
    batch = max(_least_trials(p), 10_000)
    batches: list[dict[str, np.ndarray]] = []
    stats: list[list[tuple[float, float, float, float]]] = []  # per batch, per measurand
    converged = False
    while len(batches) * batch < max_trials:
        values = _model_values(budget, rng, batch)
        batches.append(values)
        stats.append(
            [(v.mean(), v.std(ddof=1), *_symmetric(v, p)) for v in (values[eq.symbol] for eq in budget.measurands)]
        )
        h = len(batches)
        if h < 2:
            continue
        summary = np.array(stats)  # h × measurands × 4
        spread = 2 * summary.std(axis=0, ddof=1) / math.sqrt(h)
        u_all = summary[:, :, 1].mean(axis=0)
        delta = np.array([numerical_tolerance(u, budget.monte_carlo.significant_digits) for u in u_all])
        if (spread <= delta[:, None]).all():
            converged = True
            break
    joined = {symbol: np.concatenate([b[symbol] for b in batches]) for symbol in batches[0]}
    return _evaluation(budget, joined, len(batches) * batch, True, converged, seed)


def validate_gum(gum: GumEvaluation, mcm: McmEvaluation) -> tuple[Validation, ...]:
    """Is the GUM uncertainty framework valid here? §8.2 with δ from the Monte Carlo u(y)."""
    digits = gum.budget.monte_carlo.significant_digits
    out = []
    for g, m in zip(gum.measurands, mcm.measurands, strict=True):
        delta = numerical_tolerance(m.standard_uncertainty, digits)
        d_low = abs(g.value - g.expanded - m.symmetric[0])
        d_high = abs(g.value + g.expanded - m.symmetric[1])
        out.append(Validation(g.symbol, d_low, d_high, delta, d_low <= delta and d_high <= delta))
    return tuple(out)
