"""The uncertainty budget model: each way of stating an input's uncertainty checked against the hand
formula (JCGM 100 / JJF 1059.1, JCGM 101 6.4), parameters bound into equations, BudgetError naming
the offending field, the expression whitelist, and coverage factors against JCGM 100 Table G.2."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from jiliang.measurement.uncertainty import (
    BudgetError,
    BudgetTemplate,
    InputQuantity,
    coverage_factor,
    evaluate_gum,
    evaluate_report,
    parse_budget,
)
from jiliang.measurement.uncertainty.expression import ExpressionError, parse_expression

FORMAT = "jiliang.uncertainty-budget/1"


def _data(*inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A budget whose measurand is the first input (Y = X unless told otherwise)."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "title": "test budget",
        "inputs": list(inputs) or [{"symbol": "X", "estimate": 1.0, "standard_uncertainty": 0.1}],
        "measurands": [{"symbol": "Y", "expression": "X"}],
    }
    data.update(extra)
    return data


def _input(raw: dict[str, Any], values: dict[str, Any] | None = None, **extra: Any) -> InputQuantity:
    """The single input X of a budget built from `raw`, bound with the parameter `values`."""
    (q,) = parse_budget(_data({"symbol": "X", **raw}, **extra), values).inputs
    return q


def _error(data: dict[str, Any], parameters: dict[str, Any] | None = None) -> BudgetError:
    with pytest.raises(BudgetError) as info:
        parse_budget(data, parameters)
    return info.value


# --- standard uncertainty from each way of stating it ------------------------------------------------


def test_normal_input_takes_the_stated_standard_uncertainty() -> None:
    q = _input({"estimate": 5.0, "standard_uncertainty": 0.3})
    assert (q.estimate, q.standard_uncertainty, q.dof, q.evaluation) == (5.0, 0.3, math.inf, "B")


def test_rectangular_input_has_u_equal_half_width_over_root_three() -> None:
    q = _input({"estimate": 2.0, "distribution": "rectangular", "half_width": 0.6})
    assert q.standard_uncertainty == pytest.approx(0.6 / math.sqrt(3), rel=1e-12)
    assert q.half_width == 0.6


def test_triangular_input_has_u_equal_half_width_over_root_six() -> None:
    q = _input({"estimate": 2.0, "distribution": "triangular", "half_width": 0.6})
    assert q.standard_uncertainty == pytest.approx(0.6 / math.sqrt(6), rel=1e-12)


def test_arcsine_input_has_u_equal_half_width_over_root_two() -> None:
    q = _input({"estimate": 2.0, "distribution": "arcsine", "half_width": 0.6})
    assert q.standard_uncertainty == pytest.approx(0.6 / math.sqrt(2), rel=1e-12)


def test_curvilinear_trapezoid_has_u_squared_equal_a2_over_3_plus_d2_over_9() -> None:
    # JCGM 101 6.4.3.3: u² = a²/3 + d²/9 for half-width a known to ± d
    a, d = 0.6, 0.15
    q = _input({"estimate": 2.0, "distribution": "curvilinear_trapezoid", "half_width": a, "half_width_uncertainty": d})
    assert q.standard_uncertainty == pytest.approx(math.sqrt(a**2 / 3 + d**2 / 9), rel=1e-12)
    assert (q.half_width, q.half_width_uncertainty) == (a, d)


def test_curvilinear_trapezoid_without_d_is_rectangular() -> None:
    q = _input({"estimate": 0.0, "distribution": "curvilinear_trapezoid", "half_width": 0.6})
    assert q.standard_uncertainty == pytest.approx(0.6 / math.sqrt(3), rel=1e-12)


def test_bounded_distribution_given_by_u_gets_the_matching_half_width() -> None:
    # a rectangular input given by u has half-width u·√3 (and triangular u·√6, arcsine u·√2)
    for dist, divisor in (("rectangular", math.sqrt(3)), ("triangular", math.sqrt(6)), ("arcsine", math.sqrt(2))):
        q = _input({"estimate": 0.0, "distribution": dist, "standard_uncertainty": 0.2})
        assert q.standard_uncertainty == 0.2
        assert q.half_width == pytest.approx(0.2 * divisor, rel=1e-12)


def test_expanded_uncertainty_with_coverage_factor_gives_u_equal_u_over_k() -> None:
    # GUM H.1 l_s: U = 75 nm with k = 3 → u = 25 nm
    q = _input({"estimate": 50_000_623.6, "expanded": 75, "coverage_factor": 3, "dof": 18})
    assert q.standard_uncertainty == pytest.approx(75 / 3, rel=1e-12)
    assert q.dof == 18


def test_expanded_uncertainty_at_a_level_uses_student_t_for_its_dof() -> None:
    # GUM H.1 d₁: 10 nm at 95 % with ν = 5; JCGM 100 Table G.2 gives t_0.95(5) = 2.57 (two decimals,
    # so the implied k = U/u must be within 0.005 of it)
    q = _input({"estimate": 0.0, "expanded": 10, "level": 0.95, "dof": 5})
    assert 10 / q.standard_uncertainty == pytest.approx(2.57, abs=0.005)
    assert q.dof == 5


def test_expanded_uncertainty_at_a_level_without_dof_uses_the_normal_quantile() -> None:
    # JCGM 100 Table G.2, ν = ∞, p = 95 %: 1.960
    q = _input({"estimate": 0.0, "expanded": 10, "level": 0.95})
    assert 10 / q.standard_uncertainty == pytest.approx(1.960, abs=0.0005)


def test_relative_standard_uncertainty_is_scaled_by_the_estimate_magnitude() -> None:
    q = _input({"estimate": -250.0, "standard_uncertainty": 0.002, "relative": True})
    assert q.standard_uncertainty == pytest.approx(0.002 * 250.0, rel=1e-12)


def test_relative_half_width_scales_u_and_the_half_width() -> None:
    q = _input({"estimate": 40.0, "distribution": "rectangular", "half_width": 0.01, "relative": True})
    assert q.half_width == pytest.approx(0.4, rel=1e-12)
    assert q.standard_uncertainty == pytest.approx(0.4 / math.sqrt(3), rel=1e-12)


def test_relative_expanded_uncertainty_is_scaled_after_dividing_by_k() -> None:
    q = _input({"estimate": 200.0, "expanded": 0.001, "coverage_factor": 2, "relative": True})
    assert q.standard_uncertainty == pytest.approx(0.001 / 2 * 200.0, rel=1e-12)


READINGS = [10.1, 10.3, 9.9, 10.2, 10.0]
# by hand: mean 10.1; deviations 0, 0.2, −0.2, 0.1, −0.1; Σd² = 0.10; s² = 0.10/4 = 0.025;
# u = s/√n = √(0.025/5) = √0.005; ν = n − 1 = 4
READINGS_MEAN, READINGS_U, READINGS_DOF = 10.1, math.sqrt(0.005), 4


def test_type_a_input_has_mean_estimate_u_s_over_root_n_and_n_minus_1_dof() -> None:
    q = _input({"readings": READINGS})
    assert q.estimate == pytest.approx(READINGS_MEAN, rel=1e-12)
    assert q.standard_uncertainty == pytest.approx(READINGS_U, rel=1e-9)
    assert q.dof == READINGS_DOF
    assert q.evaluation == "A"
    assert q.readings == tuple(READINGS)


def test_type_a_readings_may_come_from_a_list_parameter() -> None:
    q = _input({"readings": "r"}, {"r": READINGS}, parameters=[{"name": "r", "list": True}])
    assert q.estimate == pytest.approx(READINGS_MEAN, rel=1e-12)
    assert q.standard_uncertainty == pytest.approx(READINGS_U, rel=1e-9)
    assert q.dof == READINGS_DOF


def test_type_a_uncertainty_of_identical_readings_is_zero() -> None:
    q = _input({"readings": [3.0, 3.0, 3.0]})
    assert (q.estimate, q.standard_uncertainty, q.dof) == (3.0, 0.0, 2)


# --- parameters bound into equations -----------------------------------------------------------------


def test_parameter_equation_gives_the_half_width() -> None:
    data = _data(
        {"symbol": "X", "estimate": "reading", "distribution": "rectangular", "half_width": "resolution / 2"},
        parameters=[{"name": "resolution"}, {"name": "reading"}],
    )
    template = BudgetTemplate(data)
    assert template.parameters == ("resolution", "reading")
    (q,) = template.bind({"resolution": 0.01, "reading": 12.34}).inputs
    assert q.estimate == 12.34
    assert q.half_width == pytest.approx(0.005, rel=1e-12)
    assert q.standard_uncertainty == pytest.approx(0.005 / math.sqrt(3), rel=1e-12)


def test_one_template_binds_to_different_points() -> None:
    data = _data(
        {"symbol": "X", "estimate": 1.0, "expanded": "2 * sqrt(a^2 + b^2)", "coverage_factor": 2},
        parameters=[{"name": "a"}, {"name": "b"}],
    )
    template = BudgetTemplate(data)
    assert template.bind({"a": 3, "b": 4}).inputs[0].standard_uncertainty == pytest.approx(5.0)
    assert template.bind({"a": 5, "b": 12}).inputs[0].standard_uncertainty == pytest.approx(13.0)


def test_parameter_equation_for_dof() -> None:
    q = _input({"estimate": 0.0, "standard_uncertainty": 1.0, "dof": "n - 1"}, {"n": 10}, parameters=[{"name": "n"}])
    assert q.dof == 9


def test_missing_parameter_is_a_budget_error_on_parameters() -> None:
    data = _data({"symbol": "X", "estimate": 0, "standard_uncertainty": "s"}, parameters=[{"name": "s"}])
    assert _error(data, {}).field == "parameters"


def test_undeclared_name_in_a_parameter_equation_names_its_field() -> None:
    data = _data({"symbol": "X", "estimate": 0, "distribution": "rectangular", "half_width": "resolution / 2"})
    assert _error(data).field == "inputs[0].half_width"


# every name in expression.FUNCTIONS and the constants, each with its value computed here (x = 0.5)
WHITELISTED = [
    ("sin(x)", math.sin(0.5)),
    ("cos(x)", math.cos(0.5)),
    ("tan(x)", math.tan(0.5)),
    ("asin(x)", math.asin(0.5)),
    ("acos(x)", math.acos(0.5)),
    ("atan(x)", math.atan(0.5)),
    ("atan2(x, 2)", math.atan2(0.5, 2)),
    ("pow(x, 3)", 0.5**3),
    ("mul2(x, 4)", 2.0),
    ("e * x", math.e * 0.5),
    ("pi * x", math.pi * 0.5),
    (
        "sqrt(x) + exp(x) + log(x) + log10(x) + abs(-x)",
        math.sqrt(0.5) + math.exp(0.5) + math.log(0.5) + math.log10(0.5) + 0.5,
    ),
]


@pytest.mark.parametrize(("text", "expected"), WHITELISTED, ids=[text for text, _ in WHITELISTED])
def test_parameter_equation_may_use_every_whitelisted_function_and_constant(text: str, expected: float) -> None:
    """parse_expression accepts every name in FUNCTIONS and the constants pi and e, so a parameter
    equation using them must evaluate (not raise NameError)."""
    q = _input({"estimate": text, "standard_uncertainty": 1.0}, {"x": 0.5}, parameters=[{"name": "x"}])
    assert q.estimate == pytest.approx(expected, abs=1e-5)


def test_readings_list_parameter_given_a_single_number_is_a_budget_error() -> None:
    data = _data({"symbol": "X", "readings": "r"}, parameters=[{"name": "r", "list": True}])
    assert _error(data, {"r": 5.0}).field == "inputs[0].readings"


def test_readings_list_parameter_with_one_reading_is_a_budget_error() -> None:
    data = _data({"symbol": "X", "readings": "r"}, parameters=[{"name": "r", "list": True}])
    assert _error(data, {"r": [5.0]}).field == "inputs[0].readings"


def test_readings_naming_an_unknown_list_parameter_is_a_budget_error() -> None:
    assert _error(_data({"symbol": "X", "readings": "r"})).field == "inputs[0].readings"


def test_non_numeric_parameter_value_is_a_budget_error() -> None:
    data = _data({"symbol": "X", "estimate": "x", "standard_uncertainty": 1}, parameters=[{"name": "x"}])
    assert _error(data, {"x": "abc"}).field == "inputs[0].estimate"


@pytest.mark.parametrize("text", ["1/0", "sqrt(-1)", "log(0)"])
def test_parameter_equation_that_cannot_be_evaluated_is_a_budget_error(text: str) -> None:
    assert _error(_data({"symbol": "X", "estimate": 0, "standard_uncertainty": text})).field == (
        "inputs[0].standard_uncertainty"
    )


def test_number_too_large_for_a_float_written_as_an_equation_is_a_budget_error() -> None:
    assert _error(_data({"symbol": "X", "estimate": "10**400", "standard_uncertainty": 1})).field == (
        "inputs[0].estimate"
    )


def test_number_too_large_for_a_float_in_the_json_is_a_budget_error() -> None:
    # JSON has arbitrary-size integers: json.loads gives a Python int that no float can hold
    text = json.dumps(_data({"symbol": "X", "estimate": 0, "standard_uncertainty": 1}))
    data = json.loads(text.replace('"estimate": 0', '"estimate": 1' + "0" * 400))
    assert data["inputs"][0]["estimate"] == 10**400
    assert _error(data).field == "inputs[0].estimate"


# --- bad budgets: BudgetError names the field ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "jiliang.uncertainty-budget/9"}, "format"),
        ({"unexpected": 1}, "(top level)"),
        ({"title": ""}, "title"),
        ({"probability": 1.5}, "probability"),
        ({"inputs": []}, "inputs"),
        ({"measurands": []}, "measurands"),
        ({"monte_carlo": {"trials": 10}}, "monte_carlo.trials"),
        ({"inputs": [{"symbol": "1X", "estimate": 1, "standard_uncertainty": 1}]}, "inputs[0].symbol"),
        ({"inputs": [{"symbol": "X", "estimate": [1], "standard_uncertainty": 1}]}, "inputs[0].estimate"),
        (
            {"inputs": [{"symbol": "X", "estimate": 1, "standard_uncertainty": 1, "distribution": "gamma"}]},
            "inputs[0].distribution",
        ),
        ({"inputs": [{"symbol": "X", "estimate": 1, "standard_uncertainty": 1, "colour": "red"}]}, "inputs[0]"),
    ],
)
def test_schema_violation_is_a_budget_error_naming_the_field(change: dict[str, Any], field: str) -> None:
    assert _error({**_data(), **change}).field == field


def test_missing_required_top_level_key_is_a_budget_error() -> None:
    data = _data()
    del data["measurands"]
    assert _error(data).field == "(top level)"


def test_budget_that_is_not_an_object_is_a_budget_error() -> None:
    with pytest.raises(BudgetError):
        BudgetTemplate([1, 2, 3])


def test_unknown_symbol_in_an_equation_is_a_budget_error() -> None:
    data = _data(measurands=[{"symbol": "Y", "expression": "X + Z"}])
    error = _error(data)
    assert error.field == "measurands[0].expression"
    assert "Z" in error.message


def test_intermediate_may_use_one_defined_after_it() -> None:
    data = _data(
        intermediates=[{"symbol": "A", "expression": "B + X"}, {"symbol": "B", "expression": "2 * X"}],
        measurands=[{"symbol": "Y", "expression": "A"}],
    )
    (y,) = evaluate_gum(parse_budget(data)).measurands
    assert y.value == pytest.approx(3.0)  # A = 2X + X with X = 1 ± 0.1
    assert y.standard_uncertainty == pytest.approx(0.3)


def test_duplicate_input_symbol_is_a_budget_error() -> None:
    data = _data(
        {"symbol": "X", "estimate": 1, "standard_uncertainty": 1},
        {"symbol": "X", "estimate": 2, "standard_uncertainty": 1},
    )
    assert _error(data).field == "inputs[1].symbol"


def test_intermediate_redefining_an_input_is_a_budget_error() -> None:
    assert _error(_data(intermediates=[{"symbol": "X", "expression": "2"}])).field == "intermediates[0].symbol"


def test_measurand_redefining_an_input_is_a_budget_error() -> None:
    assert _error(_data(measurands=[{"symbol": "X", "expression": "2"}])).field == "measurands[0].symbol"


@pytest.mark.parametrize("name", ["sqrt", "pi", "e", "mul2"])
def test_symbol_named_like_a_function_or_constant_is_a_budget_error(name: str) -> None:
    data = _data({"symbol": name, "estimate": 1, "standard_uncertainty": 1})
    assert _error(data).field == "inputs[0].symbol"


TWO_INPUTS = (
    {"symbol": "X", "estimate": 1, "standard_uncertainty": 1},
    {"symbol": "Z", "estimate": 1, "standard_uncertainty": 1},
)


def test_correlation_with_an_intermediate_is_a_budget_error() -> None:
    data = _data(
        *TWO_INPUTS,
        intermediates=[{"symbol": "W", "expression": "X + Z"}],
        correlations=[{"between": ["X", "W"], "r": 0.5}],
    )
    assert _error(data).field == "correlations[0].between"


def test_correlation_with_an_unknown_symbol_is_a_budget_error() -> None:
    data = _data(*TWO_INPUTS, correlations=[{"between": ["X", "Q"], "r": 0.5}])
    assert _error(data).field == "correlations[0].between"


def test_input_correlated_with_itself_is_a_budget_error() -> None:
    data = _data(*TWO_INPUTS, correlations=[{"between": ["X", "X"], "r": 0.5}])
    assert _error(data).field == "correlations[0].between"


@pytest.mark.parametrize("r", [1.5, -1.01, "2 * rho"])
def test_correlation_coefficient_beyond_one_is_a_budget_error(r: Any) -> None:
    data = _data(*TWO_INPUTS, correlations=[{"between": ["X", "Z"], "r": r}], parameters=[{"name": "rho"}])
    assert _error(data, {"rho": 0.6}).field == "correlations[0].r"


@pytest.mark.parametrize("r", [-1, 1, "rho"])
def test_correlation_coefficient_of_plus_or_minus_one_is_accepted(r: Any) -> None:
    data = _data(*TWO_INPUTS, correlations=[{"between": ["X", "Z"], "r": r}], parameters=[{"name": "rho"}])
    (c,) = parse_budget(data, {"rho": -1}).correlations
    assert (c.a, c.b, abs(c.r)) == ("X", "Z", 1.0)


def test_two_uncertainty_specifications_on_one_input_is_a_budget_error() -> None:
    raw = {"symbol": "X", "estimate": 1, "standard_uncertainty": 1, "half_width": 1, "distribution": "rectangular"}
    assert _error(_data(raw)).field == "inputs[0]"


def test_input_without_any_uncertainty_is_a_budget_error() -> None:
    assert _error(_data({"symbol": "X", "estimate": 1})).field == "inputs[0]"


def test_input_without_estimate_is_a_budget_error() -> None:
    assert _error(_data({"symbol": "X", "standard_uncertainty": 1})).field == "inputs[0].estimate"


def test_readings_beside_an_estimate_is_a_budget_error() -> None:
    assert _error(_data({"symbol": "X", "readings": [1.0, 2.0], "estimate": 1.5})).field == "inputs[0]"


def test_expanded_uncertainty_needs_exactly_one_of_coverage_factor_and_level() -> None:
    assert _error(_data({"symbol": "X", "estimate": 1, "expanded": 2})).field == "inputs[0]"
    both = {"symbol": "X", "estimate": 1, "expanded": 2, "coverage_factor": 2, "level": 0.95}
    assert _error(_data(both)).field == "inputs[0]"


def test_half_width_with_a_normal_distribution_is_a_budget_error() -> None:
    assert _error(_data({"symbol": "X", "estimate": 1, "half_width": 1})).field == "inputs[0].distribution"


def test_curvilinear_trapezoid_given_by_u_is_a_budget_error() -> None:
    raw = {"symbol": "X", "estimate": 1, "standard_uncertainty": 1, "distribution": "curvilinear_trapezoid"}
    assert _error(_data(raw)).field == "inputs[0].half_width"


def test_curvilinear_trapezoid_with_d_beyond_the_half_width_is_a_budget_error() -> None:
    raw = {
        "symbol": "X",
        "estimate": 1,
        "distribution": "curvilinear_trapezoid",
        "half_width": 1,
        "half_width_uncertainty": 1.5,
    }
    assert _error(_data(raw)).field == "inputs[0].half_width_uncertainty"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"estimate": 1, "standard_uncertainty": -0.1}, "inputs[0].standard_uncertainty"),
        ({"estimate": 1, "distribution": "rectangular", "half_width": -0.1}, "inputs[0].half_width"),
        ({"estimate": 1, "expanded": -0.2, "coverage_factor": 2}, "inputs[0].expanded"),
        ({"estimate": 1, "expanded": 0.2, "coverage_factor": 0}, "inputs[0].coverage_factor"),
        ({"estimate": 1, "standard_uncertainty": 0.1, "dof": -3}, "inputs[0].dof"),
        ({"estimate": 1, "standard_uncertainty": 0.1, "dof": 0}, "inputs[0].dof"),
    ],
)
def test_negative_value_is_a_budget_error(raw: dict[str, Any], field: str) -> None:
    assert _error(_data({"symbol": "X", **raw})).field == field


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"estimate": 1, "standard_uncertainty": "s"}, "inputs[0].standard_uncertainty"),
        ({"estimate": 1, "distribution": "rectangular", "half_width": "s / 2"}, "inputs[0].half_width"),
        ({"estimate": 1, "standard_uncertainty": 0.1, "dof": "s"}, "inputs[0].dof"),
    ],
)
def test_negative_value_from_a_parameter_is_a_budget_error(raw: dict[str, Any], field: str) -> None:
    data = _data({"symbol": "X", **raw}, parameters=[{"name": "s"}])
    assert _error(data, {"s": -1.0}).field == field


def test_single_reading_is_a_budget_error() -> None:
    assert _error(_data({"symbol": "X", "readings": [1.0]})).field == "inputs[0].readings"


# --- the expression whitelist ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "X.real",  # attribute access
        "X.__class__",
        "__import__('os')",  # import through a call
        "__import__('os').system('x')",
        "import os",  # a statement
        "lambda: X",
        "X[0]",  # subscript
        "[x for x in X]",  # comprehensions
        "(x for x in X)",
        "{x: 1 for x in X}",
        "'abc'",  # strings
        "b'abc'",
        "X + 'a'",
        "foo(X)",  # unknown functions
        "eval('1')",
        "open('/etc/passwd')",
        "getattr(X, 'real')",
        "sqrt(x=X)",  # keyword arguments
        "X if X else 1",
        "X < 1",
        "X and 1",
        "(X := 2)",
        "[X, 1]",
        "1j * X",
        "",
    ],
)
def test_expression_whitelist_refuses(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_refused_expression_in_a_budget_is_a_budget_error_on_the_equation() -> None:
    data = _data(measurands=[{"symbol": "Y", "expression": "__import__('os').system('x')"}])
    assert _error(data).field == "measurands[0].expression"


def test_expression_accepts_arithmetic_caret_power_and_whitelisted_functions() -> None:
    expr = parse_expression("-a + b*c/d - e^2 + sqrt(f) + atan2(g, h) + pi")
    assert expr.names == {"a", "b", "c", "d", "f", "g", "h"}  # e and pi are constants
    value = expr.evaluate(
        {
            "sqrt": math.sqrt,
            "atan2": math.atan2,
            "pi": math.pi,
            "e": math.e,
            **dict.fromkeys(("a", "b", "c", "d", "f", "g", "h"), 1.0),
        }
    )
    assert value == pytest.approx(-1 + 1 - math.e**2 + 1 + math.atan2(1, 1) + math.pi)


# --- coverage factors against JCGM 100 Table G.2 -------------------------------------------------------

# (ν, p, t_p(ν)) as printed in JCGM 100:2008 Table G.2 (two decimals; three for ν = ∞)
TABLE_G2 = [
    (1, 0.95, 12.71),
    (2, 0.95, 4.30),
    (2, 0.90, 2.92),
    (5, 0.95, 2.57),
    (8, 0.9973, 4.28),
    (9, 0.99, 3.25),
    (10, 0.95, 2.23),
    (16, 0.99, 2.92),
    (20, 0.95, 2.09),
    (50, 0.95, 2.01),
    (100, 0.99, 2.63),
]
TABLE_G2_INFINITE = [(0.6827, 1.000), (0.90, 1.645), (0.95, 1.960), (0.99, 2.576), (0.9973, 3.000)]


@pytest.mark.parametrize(("dof", "p", "t"), TABLE_G2)
def test_coverage_factor_matches_jcgm_100_table_g2(dof: int, p: float, t: float) -> None:
    assert coverage_factor(dof, p) == pytest.approx(t, abs=0.005)


@pytest.mark.parametrize(("p", "t"), TABLE_G2_INFINITE)
def test_coverage_factor_for_infinite_dof_is_the_normal_quantile(p: float, t: float) -> None:
    assert coverage_factor(math.inf, p) == pytest.approx(t, abs=0.0005)


@pytest.mark.parametrize(("dof", "truncated"), [(16.75, 16), (16.0001, 16), (25.6, 25), (2.9999, 2), (1.5, 1)])
def test_coverage_factor_truncates_non_integer_dof(dof: float, truncated: int) -> None:
    assert coverage_factor(dof, 0.99) == coverage_factor(truncated, 0.99)
    assert coverage_factor(dof, 0.99) != coverage_factor(truncated + 1, 0.99)


def test_coverage_factor_with_dof_16_75_is_the_table_value_for_16() -> None:
    # JCGM 100 Table G.2: t_0.99(16) = 2.92, t_0.99(17) = 2.90
    assert coverage_factor(16.75, 0.99) == pytest.approx(2.92, abs=0.005)


def test_coverage_factor_below_one_dof_uses_one() -> None:
    assert coverage_factor(0.5, 0.95) == pytest.approx(12.71, abs=0.005)  # Table G.2, ν = 1


@pytest.mark.parametrize(("dof", "p"), [(5, 0.0), (5, 1.0), (5, 1.5), (0, 0.95), (-1, 0.95), (math.nan, 0.95)])
def test_coverage_factor_refuses_impossible_arguments(dof: float, p: float) -> None:
    with pytest.raises(ValueError):
        coverage_factor(dof, p)


# --- the budget through GUM and the report --------------------------------------------------------------


def test_gum_sum_of_correlated_inputs_has_u2_with_the_covariance_term() -> None:
    u1, u2, r = 0.3, 0.4, 0.6
    data = _data(
        {"symbol": "X", "estimate": 1, "standard_uncertainty": u1},
        {"symbol": "Z", "estimate": 2, "standard_uncertainty": u2},
        correlations=[{"between": ["X", "Z"], "r": r}],
        measurands=[{"symbol": "Y", "expression": "X + Z"}],
    )
    (result,) = evaluate_gum(parse_budget(data)).measurands
    assert result.standard_uncertainty == pytest.approx(math.sqrt(u1**2 + u2**2 + 2 * r * u1 * u2), rel=1e-12)


def test_gum_of_a_model_without_inputs_is_a_constant() -> None:
    (result,) = evaluate_gum(parse_budget(_data(measurands=[{"symbol": "Y", "expression": "2 * pi"}]))).measurands
    assert (result.value, result.standard_uncertainty) == (pytest.approx(2 * math.pi), 0.0)


def test_gum_model_undefined_at_the_estimates_is_a_budget_error() -> None:
    data = _data(
        {"symbol": "X", "estimate": 0, "standard_uncertainty": 1}, measurands=[{"symbol": "Y", "expression": "log(X)"}]
    )
    with pytest.raises(BudgetError) as info:
        evaluate_gum(parse_budget(data))
    assert info.value.field == "measurands"


@pytest.mark.parametrize("seed", range(3))
def test_report_is_strict_json_with_infinite_dof_written_as_inf(seed: int) -> None:
    data = _data(
        {"symbol": "X", "estimate": 1, "standard_uncertainty": 0.1},
        {"symbol": "Z", "readings": READINGS},
        measurands=[{"symbol": "Y", "expression": "X * Z"}],
    )
    report = evaluate_report(parse_budget(data), "both", trials=10_000, seed=seed)
    text = json.dumps(report, allow_nan=False)  # no NaN or Infinity in the API's JSON
    assert json.loads(text)["inputs"][0]["dof"] == "inf"
    assert report["inputs"][1]["dof"] == READINGS_DOF
    assert report["mcm"]["trials"] == 10_000 and report["mcm"]["seed"] == seed
    assert len(report["validation"]) == 1
