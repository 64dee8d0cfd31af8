"""Budget format 2: explicit input distributions (normal, Student t by scale or by standard deviation),
format 1 keeping its meaning, equations that use other equations, correlated inputs with finite ν,
and least-squares lines. Expected numbers are analytic facts computed here (t moments, textbook
least-squares formulas), never the engine's own output.

A Student t with ν degrees of freedom and scale s has standard deviation s·√(ν/(ν − 2)) and kurtosis
3 + 6/(ν − 4); the Monte Carlo tolerances are five standard errors of the sample standard deviation,
SE(s) ≈ σ·√((κ − 1)/(4M)) (see test_uncertainty_mcm.py).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from jiliang.measurement.uncertainty import (
    Budget,
    BudgetError,
    evaluate_gum,
    evaluate_mcm,
    evaluate_report,
    parse_budget,
)

M = 1_000_000
SEEDS = range(3)
FORMAT_1 = "jiliang.uncertainty-budget/1"
FORMAT_2 = "jiliang.uncertainty-budget/2"


def _data(*inputs: dict[str, Any], expression: str = "X", fmt: str = FORMAT_2, **extra: Any) -> dict[str, Any]:
    return {
        "format": fmt,
        "title": "format 2 test",
        "inputs": list(inputs),
        "measurands": [{"symbol": "Y", "expression": expression}],
        **extra,
    }


def _budget(*inputs: dict[str, Any], **extra: Any) -> Budget:
    return parse_budget(_data(*inputs, **extra))


def _error(data: dict[str, Any], parameters: dict[str, Any] | None = None) -> BudgetError:
    with pytest.raises(BudgetError) as info:
        evaluate_report(parse_budget(data, parameters), "both", trials=10_000, seed=0)
    return info.value


def _t_sd_tolerance(sigma: float, nu: float) -> float:
    kurtosis = 3 + 6 / (nu - 4)
    return 5 * sigma * math.sqrt((kurtosis - 1) / (4 * M))


def _mc_sd(budget: Budget, seed: int) -> float:
    (m,) = evaluate_mcm(budget, trials=M, seed=seed).measurands
    return m.standard_uncertainty


# --- Student t conventions ---------------------------------------------------------------------------

T_BY_SD = {"symbol": "X", "estimate": 0, "distribution": "student_t", "standard_uncertainty": 1.0, "dof": 6}
T_BY_SCALE = {"symbol": "X", "estimate": 0, "distribution": "student_t", "scale": 1.0, "dof": 6}


@pytest.mark.parametrize("seed", SEEDS)
def test_student_t_stated_by_its_standard_deviation_has_that_standard_deviation(seed: int) -> None:
    assert _mc_sd(_budget(T_BY_SD), seed) == pytest.approx(1.0, abs=_t_sd_tolerance(1.0, 6))


@pytest.mark.parametrize("seed", SEEDS)
def test_student_t_stated_by_its_scale_has_the_wider_t_spread(seed: int) -> None:
    sigma = math.sqrt(6 / 4)  # s·√(ν/(ν − 2))
    assert _mc_sd(_budget(T_BY_SCALE), seed) == pytest.approx(sigma, abs=_t_sd_tolerance(sigma, 6))


def test_both_t_conventions_give_the_gum_method_u_and_nu() -> None:
    for raw in (T_BY_SD, T_BY_SCALE):
        (y,) = evaluate_gum(_budget(raw)).measurands
        assert (y.standard_uncertainty, y.dof) == (1.0, 6.0)


def test_report_says_which_convention_each_input_used() -> None:
    report = evaluate_report(
        _budget(T_BY_SD, {**T_BY_SCALE, "symbol": "Z"}, {"symbol": "W", "estimate": 0, "standard_uncertainty": 1}),
        "gum",
    )
    by = {q["symbol"]: q for q in report["inputs"]}
    assert by["X"]["t_convention"] == "standard_deviation" and "NIST TN1900" in by["X"]["monte_carlo_draw"]
    assert by["Z"]["t_convention"] == "scale" and "JCGM 101 §6.4.9" in by["Z"]["monte_carlo_draw"]
    assert by["W"]["t_convention"] is None and by["W"]["monte_carlo_draw"].startswith("normal")


@pytest.mark.parametrize("nu", [1, 2, 1.5])
def test_t_with_a_standard_deviation_and_nu_at_most_two_is_refused_by_name(nu: float) -> None:
    error = _error(_data({**T_BY_SD, "dof": nu}))
    assert error.field == "inputs[0].dof"
    assert "'X'" in error.message and "scale" in error.message


def test_t_with_a_scale_and_nu_two_is_accepted() -> None:
    report = evaluate_report(_budget({**T_BY_SCALE, "dof": 2}), "both", trials=10_000, seed=0)
    assert report["gum"]["measurands"][0]["dof"] == 2.0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"symbol": "X", "estimate": 0, "distribution": "student_t", "scale": 1.0}, "inputs[0].dof"),
        ({"symbol": "X", "estimate": 0, "scale": 1.0}, "inputs[0].scale"),
        ({"symbol": "X", "readings": [1, 2, 3], "distribution": "rectangular"}, "inputs[0].distribution"),
        ({"symbol": "X", "readings": [1, 2, 3], "dof": 9}, "inputs[0].dof"),
        (
            {"symbol": "X", "estimate": 0, "distribution": "student_t", "half_width": 1, "dof": 4},
            "inputs[0].distribution",
        ),
    ],
)
def test_misstated_student_t_is_a_field_error(raw: dict[str, Any], field: str) -> None:
    assert _error(_data(raw)).field == field


@pytest.mark.parametrize("seed", SEEDS)
def test_normal_input_with_finite_nu_is_drawn_normal_in_format_2(seed: int) -> None:
    budget = _budget({"symbol": "X", "estimate": 0, "standard_uncertainty": 1.0, "dof": 3})
    assert evaluate_gum(budget).measurands[0].dof == 3.0  # ν still feeds ν_eff
    assert _mc_sd(budget, seed) == pytest.approx(1.0, abs=5 * math.sqrt(2 / (4 * M)))  # normal: κ = 3


@pytest.mark.parametrize("seed", SEEDS)
def test_format_1_normal_input_with_finite_nu_keeps_its_t_meaning(seed: int) -> None:
    budget = _budget({"symbol": "X", "estimate": 0, "standard_uncertainty": 1.0, "dof": 6}, fmt=FORMAT_1)
    (q,) = budget.inputs
    assert (q.t_convention, q.t_scale) == ("scale", 1.0)
    sigma = math.sqrt(6 / 4)
    assert _mc_sd(budget, seed) == pytest.approx(sigma, abs=_t_sd_tolerance(sigma, 6))


@pytest.mark.parametrize("seed", SEEDS)
def test_readings_are_a_t_with_scale_s_over_root_n_unless_declared_normal(seed: int) -> None:
    readings = [10.0, 10.2, 9.9, 10.1, 10.3, 9.8, 10.0, 10.1]  # n = 8, ν = 7
    s = math.sqrt(sum((r - sum(readings) / 8) ** 2 for r in readings) / 7)
    u = s / math.sqrt(8)
    t_input = _budget({"symbol": "X", "readings": readings})
    assert t_input.inputs[0].t_convention == "scale"
    sigma = u * math.sqrt(7 / 5)
    assert _mc_sd(t_input, seed) == pytest.approx(sigma, abs=_t_sd_tolerance(sigma, 7))
    normal = _budget({"symbol": "X", "readings": readings, "distribution": "normal"})
    assert _mc_sd(normal, seed) == pytest.approx(u, abs=5 * u * math.sqrt(2 / (4 * M)))


# --- equations using equations ------------------------------------------------------------------------


def test_measurand_may_use_an_earlier_or_a_later_measurand() -> None:
    data = _data(
        {"symbol": "X", "estimate": 2.0, "standard_uncertainty": 0.1},
        measurands=[
            {"symbol": "A", "expression": "B * 3"},
            {"symbol": "B", "expression": "X ** 2"},
            {"symbol": "C", "expression": "A + B"},
        ],
    )
    report = evaluate_report(parse_budget(data), "both", trials=100_000, seed=1)
    gum = {m["symbol"]: m for m in report["gum"]["measurands"]}
    # B = X² = 4, u = 2X·u = 0.4; A = 3B = 12, u = 1.2; C = 4B = 16, u = 1.6 (fully correlated)
    assert [gum[s]["value"] for s in "ABC"] == pytest.approx([12.0, 4.0, 16.0])
    assert [gum[s]["standard_uncertainty"] for s in "ABC"] == pytest.approx([1.2, 0.4, 1.6])
    assert {c["symbol"] for c in gum["C"]["via"]} == {"A", "B"}
    mcm = {m["symbol"]: m for m in report["mcm"]["measurands"]}
    assert mcm["C"]["value"] == pytest.approx(16.04, abs=0.02)  # E[4X²] = 4(x² + u²)
    matrix = report["gum"]["correlation"]["matrix"]
    assert report["gum"]["correlation"]["symbols"] == ["A", "B", "C"]
    assert matrix[0][1] == pytest.approx(1.0) and matrix[1][2] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("equations", "field"),
    [
        ({"measurands": [{"symbol": "A", "expression": "B"}, {"symbol": "B", "expression": "A + X"}]}, "measurands[0]"),
        ({"measurands": [{"symbol": "A", "expression": "A + X"}]}, "measurands[0]"),
        (
            {
                "intermediates": [{"symbol": "I", "expression": "Y * 2"}],
                "measurands": [{"symbol": "Y", "expression": "I + X"}],
            },
            "intermediates[0]",
        ),
    ],
)
def test_cycle_of_equations_is_a_field_error(equations: dict[str, Any], field: str) -> None:
    data = {**_data({"symbol": "X", "estimate": 1, "standard_uncertainty": 0.1}), **equations}
    with pytest.raises(BudgetError) as info:
        parse_budget(data)
    assert info.value.field == f"{field}.expression"
    assert "cycle" in info.value.message


# --- correlated inputs with finite ν -----------------------------------------------------------------


def _pair(nu_a: float | None, nu_b: float | None, r: float = 0.5, dist: str = "normal") -> dict[str, Any]:
    def one(symbol: str, nu: float | None) -> dict[str, Any]:
        raw: dict[str, Any] = {"symbol": symbol, "estimate": 1.0, "standard_uncertainty": 0.1}
        if nu is not None:
            raw["dof"] = nu
        if dist == "student_t":
            raw["distribution"] = "student_t"
        return raw

    return _data(one("a", nu_a), one("b", nu_b), expression="a + b", correlations=[{"between": ["a", "b"], "r": r}])


def test_correlated_inputs_of_one_sample_keep_its_nu() -> None:
    """An ensemble's members come from one sample of ν = 6: their sum has ν_eff = 6 (Willink 2007)."""
    (y,) = evaluate_gum(parse_budget(_pair(6, 6))).measurands
    assert y.standard_uncertainty == pytest.approx(math.sqrt(0.01 + 0.01 + 2 * 0.5 * 0.01))
    assert y.dof == pytest.approx(6.0)


@pytest.mark.parametrize(("nu_a", "nu_b"), [(4, 6), (4, None)])
def test_correlated_inputs_with_different_nu_are_a_field_error(nu_a: float, nu_b: float | None) -> None:
    error = _error(_pair(nu_a, nu_b))
    assert error.field == "correlations[0]"
    assert "degrees of freedom" in error.message


@pytest.mark.parametrize("seed", SEEDS)
def test_correlated_t_inputs_are_one_multivariate_t(seed: int) -> None:
    budget = parse_budget({**_pair(8, 8, r=0.6, dist="student_t"), "measurands": [{"symbol": "Y", "expression": "a"}]})
    budget_b = parse_budget(
        {**_pair(8, 8, r=0.6, dist="student_t"), "intermediates": [{"symbol": "B", "expression": "b"}]}
    )
    evaluation = evaluate_mcm(budget_b, trials=M, seed=seed)
    (y,) = evaluation.measurands
    assert budget.inputs[0].t_convention == "standard_deviation"
    assert y.value == pytest.approx(2.0, abs=0.001)  # a + b
    sd_sum = 0.1 * math.sqrt(2 + 2 * 0.6)  # both standard deviations 0.1, r = 0.6
    assert y.standard_uncertainty == pytest.approx(sd_sum, abs=_t_sd_tolerance(sd_sum, 8))
    assert evaluation.correlation is not None
    r_b_y = evaluation.correlation.matrix[0][1]  # corr(b, a + b) = (0.6 + 1)/√(2 + 1.2)
    assert r_b_y == pytest.approx(1.6 / math.sqrt(3.2), abs=0.005)


def test_correlated_normal_and_t_inputs_cannot_be_drawn_together() -> None:
    data = _pair(5, 5)
    data["inputs"][1]["distribution"] = "student_t"
    with pytest.raises(BudgetError) as info:
        evaluate_mcm(parse_budget(data), trials=10_000, seed=0)
    assert info.value.field == "correlations[0]"


def test_impossible_correlations_are_a_field_error_for_the_gum_method_too() -> None:
    data = _data(
        *({"symbol": s, "estimate": 0, "standard_uncertainty": 1} for s in "abc"),
        expression="a + b + c",
        correlations=[
            {"between": ["a", "b"], "r": 0.9},
            {"between": ["a", "c"], "r": 0.9},
            {"between": ["b", "c"], "r": -0.9},
        ],
    )
    with pytest.raises(BudgetError) as info:
        parse_budget(data)
    assert info.value.field == "correlations[0]"
    assert "positive semi-definite" in info.value.message


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ([{"symbol": "a", "readings": [1, 2, 3]}, {"symbol": "b", "readings": [1, 2]}], "correlations[0].simultaneous"),
        (
            [{"symbol": "a", "readings": [1, 2, 3]}, {"symbol": "b", "estimate": 1, "standard_uncertainty": 1}],
            "correlations[0].simultaneous",
        ),
        (
            [{"symbol": "a", "readings": [1, 2, 3]}, {"symbol": "b", "readings": [2, 2, 2]}],
            "correlations[0].simultaneous",
        ),
    ],
)
def test_bad_simultaneous_readings_are_a_field_error(inputs: list[dict[str, Any]], field: str) -> None:
    data = _data(*inputs, expression="a + b", correlations=[{"simultaneous": ["a", "b"]}])
    assert _error(data).field == field


# --- least-squares lines -----------------------------------------------------------------------------

LINE = {"x": [0, 1, 2, 3], "y": [0.1, 1.1, 1.9, 3.1], "intercept": "a", "slope": "b"}


def test_weighted_line_has_the_textbook_covariance() -> None:
    """Equal u(y) = σ = 0.1 at x = 0…3: var(b) = σ²/Sxx, var(a) = σ²(1/n + x̄²/Sxx), cov = −σ²x̄/Sxx,
    with Sxx = 5, x̄ = 1.5; ν = ∞."""
    budget = parse_budget(_data(curves=[{**LINE, "u_y": [0.1] * 4}], expression="a", inputs=[]))
    (fit,) = budget.curves
    assert fit.u_b == pytest.approx(math.sqrt(0.01 / 5))
    assert fit.u_a == pytest.approx(math.sqrt(0.01 * (0.25 + 2.25 / 5)))
    assert fit.r * fit.u_a * fit.u_b == pytest.approx(-0.01 * 1.5 / 5)
    assert (fit.dof, fit.weighted) == (math.inf, True)
    assert fit.b == pytest.approx((sum(x * y for x, y in zip(LINE["x"], LINE["y"], strict=True)) - 4 * 1.5 * 1.55) / 5)


def test_line_data_may_come_from_list_parameters_and_an_offset() -> None:
    data = _data(
        {"symbol": "t", "estimate": 5.0, "standard_uncertainty": 0},
        curves=[{"x": "xs", "y": "ys", "x_offset": "x0", "intercept": "a", "slope": "b"}],
        parameters=[{"name": "xs", "list": True}, {"name": "ys", "list": True}, {"name": "x0"}],
        expression="a + b * (t - x0)",
    )
    data["measurands"][0]["expression"] = "a + b * (t - 1)"
    budget = parse_budget(data, {"xs": LINE["x"], "ys": LINE["y"], "x0": 1.0})
    (y,) = evaluate_gum(budget).measurands
    slope = (sum(x * y for x, y in zip(LINE["x"], LINE["y"], strict=True)) - 4 * 1.5 * 1.55) / 5
    assert y.value == pytest.approx(1.55 + slope * (5 - 1.5))  # the line through (x̄, ȳ)
    assert y.dof == 2.0  # n − 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"x": [1, 1, 1, 1]}, "curves[0].x"),
        ({"y": [1, 2, 3]}, "curves[0].y"),
        ({"x": [0, 1], "y": [0, 1]}, "curves[0].x"),
        ({"u_y": [0.1, 0, 0.1, 0.1]}, "curves[0].u_y"),
        ({"u_y": [0.1]}, "curves[0].u_y"),
        ({"y": [0, 1, 2, 3]}, "curves[0]"),
        ({"intercept": "X"}, "curves[0].intercept"),
    ],
)
def test_bad_line_data_is_a_field_error(change: dict[str, Any], field: str) -> None:
    data = _data({"symbol": "X", "estimate": 1, "standard_uncertainty": 0.1}, curves=[{**LINE, **change}])
    with pytest.raises(BudgetError) as info:
        parse_budget(data)
    assert info.value.field == field


def test_value_predicted_from_a_new_reading_adds_the_readings_own_uncertainty() -> None:
    """y(t) = a + b·t at a new reading t = 5 ± 0.2 on the weighted line above: u²(y) = u²(a) + t²u²(b)
    + 2t·cov(a, b) + b²u²(t), with the textbook u(a), u(b), cov(a, b)."""
    data = _data(
        {"symbol": "t", "estimate": 5.0, "standard_uncertainty": 0.2},
        curves=[{**LINE, "u_y": [0.1] * 4}],
        expression="a + b * t",
    )
    (y,) = evaluate_gum(parse_budget(data)).measurands
    slope = (sum(x * y for x, y in zip(LINE["x"], LINE["y"], strict=True)) - 4 * 1.5 * 1.55) / 5
    var_a, var_b, cov = 0.01 * (0.25 + 2.25 / 5), 0.01 / 5, -0.01 * 1.5 / 5
    assert y.value == pytest.approx(1.55 + slope * (5 - 1.5))
    assert y.standard_uncertainty == pytest.approx(math.sqrt(var_a + 25 * var_b + 10 * cov + slope**2 * 0.04))
