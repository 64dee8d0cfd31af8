"""Monte Carlo (JCGM 101) behaviour against analytic facts computed here: the spread and the coverage
intervals each input distribution must produce, correlated inputs, the shortest interval of a skewed
output, reproducibility, the adaptive procedure (§7.9) and the validation of the GUM result (§8).

Every statistical check runs for several seeds (none chosen to pass) with a tolerance that a correct
implementation meets for any seed: at least five standard errors of the estimator concerned.

Standard error of a sample standard deviation s of M draws from a distribution with standard
deviation σ and kurtosis κ = E[(X−μ)⁴]/σ⁴: var(s²) ≈ σ⁴(κ − 1)/M, so SE(s) ≈ σ·√((κ − 1)/(4M)).
Standard error of the sample p-quantile: √(p(1 − p)/M) / f(x_p), f the density there.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
from scipy import optimize, stats

from jiliang.measurement.uncertainty import (
    Budget,
    BudgetError,
    McmResult,
    evaluate_gum,
    evaluate_mcm,
    load_budget,
    numerical_tolerance,
    parse_budget,
    validate_gum,
)

M = 1_000_000
SEEDS = range(5)
N_SE = 5  # tolerances are five standard errors


def _budget(*inputs: dict[str, Any], expression: str = "X", probability: float = 0.95, **extra: Any) -> Budget:
    data: dict[str, Any] = {
        "format": "jiliang.uncertainty-budget/1",
        "title": "Monte Carlo test",
        "probability": probability,
        "inputs": list(inputs),
        "measurands": [{"symbol": "Y", "expression": expression}],
        **extra,
    }
    return parse_budget(data)


def _run(budget: Budget, seed: int, trials: int = M) -> McmResult:
    evaluation = evaluate_mcm(budget, trials=trials, seed=seed)
    assert (evaluation.trials, evaluation.seed, evaluation.adaptive) == (trials, seed, False)
    (result,) = evaluation.measurands
    return result


def _sd_tolerance(sigma: float, kurtosis: float, m: int = M) -> float:
    return N_SE * sigma * math.sqrt((kurtosis - 1) / (4 * m))


def _quantile_tolerance(p: float, density: float, m: int = M) -> float:
    return N_SE * math.sqrt(p * (1 - p) / m) / density


def _check_mean_and_sd(result: McmResult, mean: float, sigma: float, kurtosis: float) -> None:
    assert result.value == pytest.approx(mean, abs=N_SE * sigma / math.sqrt(M))
    assert result.standard_uncertainty == pytest.approx(sigma, abs=_sd_tolerance(sigma, kurtosis))


# --- each input distribution sampled with the right spread --------------------------------------------

X0, A = 3.0, 0.5  # estimate and half-width used below


@pytest.mark.parametrize("seed", SEEDS)
def test_normal_input_is_sampled_with_sd_equal_to_u(seed: int) -> None:
    result = _run(_budget({"symbol": "X", "estimate": X0, "standard_uncertainty": 0.2}), seed)
    _check_mean_and_sd(result, X0, 0.2, kurtosis=3.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_rectangular_input_is_sampled_with_sd_equal_to_half_width_over_root_three(seed: int) -> None:
    result = _run(_budget({"symbol": "X", "estimate": X0, "distribution": "rectangular", "half_width": A}), seed)
    _check_mean_and_sd(result, X0, A / math.sqrt(3), kurtosis=9 / 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_triangular_input_is_sampled_with_sd_equal_to_half_width_over_root_six(seed: int) -> None:
    result = _run(_budget({"symbol": "X", "estimate": X0, "distribution": "triangular", "half_width": A}), seed)
    _check_mean_and_sd(result, X0, A / math.sqrt(6), kurtosis=12 / 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_arcsine_input_is_sampled_with_sd_equal_to_half_width_over_root_two(seed: int) -> None:
    result = _run(_budget({"symbol": "X", "estimate": X0, "distribution": "arcsine", "half_width": A}), seed)
    _check_mean_and_sd(result, X0, A / math.sqrt(2), kurtosis=3 / 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_curvilinear_trapezoid_is_sampled_with_sd_root_of_a2_over_3_plus_d2_over_9(seed: int) -> None:
    """JCGM 101 6.4.3: a rectangular distribution whose half-width w is itself rectangular on [a−d, a+d],
    so E[X²] = E[w²]/3 = a²/3 + d²/9 and E[X⁴] = E[w⁴]/5, which gives the kurtosis."""
    a, d = A, 0.2

    def w_moment(k: int) -> float:
        return ((a + d) ** (k + 1) - (a - d) ** (k + 1)) / ((k + 1) * 2 * d)

    variance = a**2 / 3 + d**2 / 9
    assert w_moment(2) / 3 == pytest.approx(variance)
    kurtosis = (w_moment(4) / 5) / variance**2
    raw = {"estimate": X0, "distribution": "curvilinear_trapezoid", "half_width": a, "half_width_uncertainty": d}
    result = _run(_budget({"symbol": "X", **raw}), seed)
    _check_mean_and_sd(result, X0, math.sqrt(variance), kurtosis)


@pytest.mark.parametrize("seed", SEEDS)
def test_normal_input_with_finite_dof_is_sampled_as_scaled_t_with_variance_u2_nu_over_nu_minus_2(seed: int) -> None:
    # JCGM 101 6.4.9: x + u·t_ν, whose variance is u²·ν/(ν − 2); kurtosis of t_ν is 3 + 6/(ν − 4)
    u, nu = 0.2, 10
    result = _run(_budget({"symbol": "X", "estimate": X0, "standard_uncertainty": u, "dof": nu}), seed)
    _check_mean_and_sd(result, X0, u * math.sqrt(nu / (nu - 2)), kurtosis=3 + 6 / (nu - 4))
    # and it is not the plain normal: u·√1.25 is 0.0236 above u, far more than the tolerance
    assert result.standard_uncertainty - u > 10 * _sd_tolerance(u, 4.0)


# --- coverage intervals of single inputs ----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_symmetric_95_percent_interval_of_a_rectangular_input_is_x_plus_minus_0_95_a(seed: int) -> None:
    x, a = 10.0, 2.0
    result = _run(_budget({"symbol": "X", "estimate": x, "distribution": "rectangular", "half_width": a}), seed)
    tolerance = _quantile_tolerance(0.025, 1 / (2 * a))
    assert result.symmetric[0] == pytest.approx(x - 0.95 * a, abs=tolerance)
    assert result.symmetric[1] == pytest.approx(x + 0.95 * a, abs=tolerance)


@pytest.mark.parametrize("seed", SEEDS)
def test_symmetric_95_percent_interval_of_a_triangular_input_is_x_plus_minus_a_times_1_minus_root_0_05(
    seed: int,
) -> None:
    # F(x − a + t) = t²/(2a²) = 0.025 → t = a√0.05; density there t/a²
    x, a = 10.0, 2.0
    result = _run(_budget({"symbol": "X", "estimate": x, "distribution": "triangular", "half_width": a}), seed)
    t = a * math.sqrt(0.05)
    tolerance = _quantile_tolerance(0.025, t / a**2)
    assert result.symmetric[0] == pytest.approx(x - a + t, abs=tolerance)
    assert result.symmetric[1] == pytest.approx(x + a - t, abs=tolerance)


@pytest.mark.parametrize("seed", SEEDS)
def test_symmetric_95_percent_interval_of_an_arcsine_input_is_x_plus_minus_a_sin_0_475_pi(seed: int) -> None:
    # F(ξ) = 1/2 + arcsin((ξ − x)/a)/π = 0.975 → ξ = x + a·sin(0.475π); density 1/(π√(a² − (ξ − x)²))
    x, a = 10.0, 2.0
    result = _run(_budget({"symbol": "X", "estimate": x, "distribution": "arcsine", "half_width": a}), seed)
    half = a * math.sin(0.475 * math.pi)
    tolerance = _quantile_tolerance(0.025, 1 / (math.pi * math.sqrt(a**2 - half**2)))
    assert result.symmetric[0] == pytest.approx(x - half, abs=tolerance)
    assert result.symmetric[1] == pytest.approx(x + half, abs=tolerance)


# --- correlated inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("r", [0.6, -0.8])
@pytest.mark.parametrize("seed", SEEDS)
def test_sum_of_correlated_normal_inputs_has_u2_equal_u1_2_plus_u2_2_plus_2_r_u1_u2(seed: int, r: float) -> None:
    u1, u2 = 0.3, 0.4
    budget = _budget(
        {"symbol": "X1", "estimate": 1.0, "standard_uncertainty": u1},
        {"symbol": "X2", "estimate": 2.0, "standard_uncertainty": u2},
        expression="X1 + X2",
        correlations=[{"between": ["X1", "X2"], "r": r}],
    )
    sigma = math.sqrt(u1**2 + u2**2 + 2 * r * u1 * u2)
    _check_mean_and_sd(_run(budget, seed), 3.0, sigma, kurtosis=3.0)  # the sum is normal


@pytest.mark.parametrize("seed", SEEDS)
def test_difference_of_correlated_normal_inputs_has_u2_with_minus_the_covariance(seed: int) -> None:
    u1, u2, r = 0.3, 0.4, 0.6
    budget = _budget(
        {"symbol": "X1", "estimate": 1.0, "standard_uncertainty": u1},
        {"symbol": "X2", "estimate": 2.0, "standard_uncertainty": u2},
        {"symbol": "X3", "estimate": 0.0, "distribution": "rectangular", "half_width": 0.1},
        expression="X1 - X2 + 0 * X3",
        correlations=[{"between": ["X2", "X1"], "r": r}],
    )
    sigma = math.sqrt(u1**2 + u2**2 - 2 * r * u1 * u2)
    _check_mean_and_sd(_run(budget, seed), -1.0, sigma, kurtosis=3.0)


def test_correlated_non_normal_input_is_a_budget_error_in_monte_carlo() -> None:
    budget = _budget(
        {"symbol": "X1", "estimate": 1.0, "standard_uncertainty": 0.3},
        {"symbol": "X2", "estimate": 2.0, "distribution": "rectangular", "half_width": 0.4},
        expression="X1 + X2",
        correlations=[{"between": ["X1", "X2"], "r": 0.5}],
    )
    with pytest.raises(BudgetError) as info:
        evaluate_mcm(budget, trials=10_000, seed=0)
    assert info.value.field == "correlations[0]"


# --- the shortest interval of a skewed output -------------------------------------------------------------

SIGMA_LN = 0.5  # Y = exp(X), X ~ N(0, 0.5²): Y is lognormal


def _true_shortest_lognormal(p: float = 0.95) -> tuple[float, float]:
    """Shortest interval of probability p of the lognormal, found independently of the engine by
    minimising the width F⁻¹(α + p) − F⁻¹(α) over the lower tail probability α."""
    dist = stats.lognorm(SIGMA_LN)
    best = optimize.minimize_scalar(
        lambda alpha: dist.ppf(alpha + p) - dist.ppf(alpha),
        bounds=(1e-12, 1 - p - 1e-12),
        method="bounded",
        options={"xatol": 1e-12},
    )
    low, high = float(dist.ppf(best.x)), float(dist.ppf(best.x + p))
    assert dist.pdf(low) == pytest.approx(dist.pdf(high), rel=1e-3)  # equal densities at the ends
    return low, high


@pytest.mark.parametrize("seed", SEEDS)
def test_shortest_interval_of_a_skewed_output_is_shorter_than_the_symmetric_and_matches_the_true_one(
    seed: int,
) -> None:
    """Tolerance 0.02 on the ends: an independent NumPy simulation (200 runs of 10^6) gave standard
    deviations 0.0032 and 0.0038 for the shortest-interval ends, so 0.02 is more than 5 of them; the
    symmetric ends have SE √(pq/M)/f = 0.0005 and 0.0035 (f = lognormal density at 0.375 and 2.664)."""
    budget = _budget({"symbol": "X", "estimate": 0.0, "standard_uncertainty": SIGMA_LN}, expression="exp(X)")
    result = _run(budget, seed)
    low, high = _true_shortest_lognormal()
    dist = stats.lognorm(SIGMA_LN)
    sym_low, sym_high = float(dist.ppf(0.025)), float(dist.ppf(0.975))
    assert high - low < sym_high - sym_low - 0.2  # a true difference of 0.23, so the case is discriminating
    assert result.symmetric[0] == pytest.approx(sym_low, abs=0.02)
    assert result.symmetric[1] == pytest.approx(sym_high, abs=0.02)
    assert result.shortest[0] == pytest.approx(low, abs=0.02)
    assert result.shortest[1] == pytest.approx(high, abs=0.02)
    assert result.shortest[1] - result.shortest[0] < result.symmetric[1] - result.symmetric[0]
    # lognormal mean exp(σ²/2), standard deviation √((exp(σ²) − 1)·exp(σ²)); kurtosis of the lognormal
    mean = math.exp(SIGMA_LN**2 / 2)
    sd = math.sqrt((math.exp(SIGMA_LN**2) - 1) * math.exp(SIGMA_LN**2))
    kurtosis = math.exp(4 * SIGMA_LN**2) + 2 * math.exp(3 * SIGMA_LN**2) + 3 * math.exp(2 * SIGMA_LN**2) - 3
    _check_mean_and_sd(result, mean, sd, kurtosis)


# --- reproducibility --------------------------------------------------------------------------------------

MIXED = (
    {"symbol": "X1", "estimate": 1.0, "standard_uncertainty": 0.1, "dof": 7},
    {"symbol": "X2", "estimate": 2.0, "distribution": "triangular", "half_width": 0.3},
    {
        "symbol": "X3",
        "estimate": 0.5,
        "distribution": "curvilinear_trapezoid",
        "half_width": 0.1,
        "half_width_uncertainty": 0.02,
    },
)


@pytest.mark.parametrize("seed", SEEDS)
def test_same_seed_gives_identical_results(seed: int) -> None:
    budget = _budget(*MIXED, expression="X1 * X2 + X3")
    first = evaluate_mcm(budget, trials=50_000, seed=seed)
    second = evaluate_mcm(budget, trials=50_000, seed=seed)
    assert first.measurands == second.measurands


def test_different_seeds_give_different_results() -> None:
    budget = _budget(*MIXED, expression="X1 * X2 + X3")
    results = [evaluate_mcm(budget, trials=50_000, seed=seed).measurands[0] for seed in SEEDS]
    assert len({r.value for r in results}) == len(SEEDS)
    assert len({r.standard_uncertainty for r in results}) == len(SEEDS)
    assert len({r.symmetric for r in results}) == len(SEEDS)


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_in_the_budget_is_used_when_none_is_given(seed: int) -> None:
    budget = _budget(*MIXED, expression="X1 * X2 + X3", monte_carlo={"trials": 20_000, "seed": seed})
    from_budget = evaluate_mcm(budget)
    assert (from_budget.seed, from_budget.trials) == (seed, 20_000)
    assert from_budget.measurands == evaluate_mcm(budget, trials=20_000, seed=seed).measurands


# --- the adaptive procedure (JCGM 101 §7.9) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("u", "digits", "delta"),
    [
        (2.0, 2, 0.05),  # u = 20 × 10⁻¹ → δ = ½ × 10⁻¹
        (0.00035, 2, 0.000005),  # u = 35 × 10⁻⁵ → δ = ½ × 10⁻⁵
        (1.0, 1, 0.5),  # u = 1 × 10⁰ → δ = ½
        (123.4, 3, 0.5),  # u ≈ 123 × 10⁰ → δ = ½
        (0.0123, 2, 0.0005),  # u ≈ 12 × 10⁻³ → δ = ½ × 10⁻³
    ],
)
def test_numerical_tolerance_is_half_a_unit_in_the_last_significant_digit(u: float, digits: int, delta: float) -> None:
    # JCGM 101 7.9.2: u = c × 10^l with c an integer of n_dig digits, δ = ½ × 10^l
    assert numerical_tolerance(u, digits) == pytest.approx(delta, rel=1e-12)


@pytest.fixture(scope="module")
def s1_adaptive() -> Budget:
    budget = load_budget(Path(__file__).resolve().parents[2] / "docs" / "budgets" / "gum-s1-additive.json")
    return dataclasses.replace(budget, monte_carlo=dataclasses.replace(budget.monte_carlo, trials=None))


@pytest.mark.parametrize("seed", SEEDS)
def test_adaptive_procedure_converges_in_whole_batches_to_the_numerical_tolerance(
    s1_adaptive: Budget, seed: int
) -> None:
    """S1 9.2.2 (Y = X1 + … + X4, Xᵢ ~ N(0, 1); analytically y = 0, u = 2, interval ±1.96·2).
    §7.9.4 stops once twice the standard deviation of the batch means of y, u, y_low and y_high is at
    most δ; that makes each result good to δ only at about 95 %. An independent NumPy implementation
    of §7.9.4 on the same model, run 3000 times, gave at its stopping point largest errors of 0.050 (y),
    0.035 (u) and 0.134 (interval ends) for δ = 0.05: so u is held to δ, y to 2δ and the ends to 3δ."""
    evaluation = evaluate_mcm(s1_adaptive, seed=seed)
    assert evaluation.adaptive and evaluation.converged
    assert evaluation.seed == seed
    # batches of max(100/(1 − p), 10⁴) = 10⁴ trials, at least two of them (§7.9.4 e)
    assert evaluation.trials % 10_000 == 0
    assert evaluation.trials >= 20_000
    (result,) = evaluation.measurands
    delta = numerical_tolerance(result.standard_uncertainty, s1_adaptive.monte_carlo.significant_digits)
    assert delta == 0.05
    assert result.standard_uncertainty == pytest.approx(2.0, abs=delta)
    assert result.value == pytest.approx(0.0, abs=2 * delta)
    half = 2.0 * stats.norm.ppf(0.975)
    assert result.symmetric[0] == pytest.approx(-half, abs=3 * delta)
    assert result.symmetric[1] == pytest.approx(half, abs=3 * delta)


@pytest.mark.parametrize("seed", range(3))
def test_adaptive_procedure_needs_more_trials_for_more_significant_digits(s1_adaptive: Budget, seed: int) -> None:
    three = dataclasses.replace(
        s1_adaptive, monte_carlo=dataclasses.replace(s1_adaptive.monte_carlo, significant_digits=3)
    )
    coarse = evaluate_mcm(s1_adaptive, seed=seed)
    fine = evaluate_mcm(three, seed=seed)
    assert fine.converged and fine.trials % 10_000 == 0
    # the interval ends need 2·SE ≤ 0.005 with SE ≈ 0.0535/√h for batches of 10⁴: h ≈ 460 batches
    assert fine.trials > 10 * coarse.trials
    assert fine.trials >= 2_000_000
    (result,) = fine.measurands
    assert numerical_tolerance(result.standard_uncertainty, 3) == 0.005
    # SE of u at ≥ 2·10⁶ trials is ≤ 2/√(4·10⁶) = 0.001, so δ = 0.005 is at least 5 SE
    assert result.standard_uncertainty == pytest.approx(2.0, abs=0.005)


# --- validation of the GUM result (JCGM 101 §8) ---------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_fails_for_a_product_of_two_zero_estimates(seed: int) -> None:
    """Y = X1·X2 with X1, X2 ~ N(0, 1): every first-order sensitivity is 0, so the GUM framework gives
    u = 0, while Y really has variance E[X1²]E[X2²] = 1 (kurtosis E[X1⁴]E[X2⁴] = 9)."""
    budget = _budget(
        {"symbol": "X1", "estimate": 0.0, "standard_uncertainty": 1.0},
        {"symbol": "X2", "estimate": 0.0, "standard_uncertainty": 1.0},
        expression="X1 * X2",
    )
    gum = evaluate_gum(budget)
    (g,) = gum.measurands
    assert (g.value, g.standard_uncertainty, g.expanded) == (0.0, 0.0, 0.0)
    trials = 100_000
    mcm = evaluate_mcm(budget, trials=trials, seed=seed)
    (m,) = mcm.measurands
    assert m.standard_uncertainty == pytest.approx(1.0, abs=_sd_tolerance(1.0, 9.0, trials))
    (validation,) = validate_gum(gum, mcm)
    assert not validation.passed
    assert validation.d_low > validation.tolerance and validation.d_high > validation.tolerance


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_passes_for_a_linear_model_of_normal_inputs(seed: int) -> None:
    """u(y) = √(4·0.5² + 0.6²) = 1.166, so δ = 0.05 (§7.9.2) while the SE of each interval end is
    √(pq/M)/f = 0.0031: the check has 16 standard errors of room."""
    budget = _budget(
        {"symbol": "X1", "estimate": 1.0, "standard_uncertainty": 0.5},
        {"symbol": "X2", "estimate": 2.0, "standard_uncertainty": 0.6},
        expression="2 * X1 - X2",
    )
    (validation,) = validate_gum(evaluate_gum(budget), evaluate_mcm(budget, trials=M, seed=seed))
    assert validation.passed


@pytest.mark.parametrize("seed", SEEDS)
def test_model_undefined_for_some_draws_is_a_budget_error(seed: int) -> None:
    budget = _budget({"symbol": "X", "estimate": 0.1, "standard_uncertainty": 1.0}, expression="sqrt(X)")
    with pytest.raises(BudgetError) as info:
        evaluate_mcm(budget, trials=10_000, seed=seed)
    assert info.value.field == "measurands"
