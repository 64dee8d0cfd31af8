"""Any budget, however wrong, either evaluates or is refused with a BudgetError naming a field: the
API turns that into a 422 and the CLI into exit code 2, so no other exception may escape. Hypothesis
generates budgets of both formats with odd numbers (zero, negative, huge, NaN and ∞, which Python's
JSON reader accepts), every distribution and way of stating u, correlations (stated, impossible,
from readings), least-squares lines and equations that divide by zero, overflow, call functions
outside their domain or depend on each other."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiliang.measurement.uncertainty import BudgetError, evaluate_report, parse_budget

SYMBOLS = ("a", "b", "c", "d")
EQUATIONS = ("P", "Q", "R")

numbers = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 2.0, 0.5, 1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan, 3]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
small_lists = st.lists(numbers, min_size=0, max_size=6)


def expressions(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    leaves = st.one_of(st.sampled_from(names), numbers.map(lambda v: repr(v) if math.isfinite(v) else "1e999"))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(st.sampled_from(["sqrt", "exp", "log", "log10", "sin", "asin", "acos", "tan", "abs"]), inner).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(st.sampled_from(["atan2", "pow", "mul2"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            inner.map(lambda e: f"-{e}"),
        )

    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def inputs(draw: st.DrawFn, symbol: str) -> dict[str, Any]:
    raw: dict[str, Any] = {"symbol": symbol}
    kind = draw(st.sampled_from(["u", "half", "expanded", "scale", "readings", "none"]))
    if kind == "readings":
        raw["readings"] = draw(small_lists)
    elif kind != "none":
        raw["estimate"] = draw(numbers)
        if kind == "u":
            raw["standard_uncertainty"] = draw(numbers)
        elif kind == "half":
            raw["half_width"] = draw(numbers)
            if draw(st.booleans()):
                raw["half_width_uncertainty"] = draw(numbers)
        elif kind == "scale":
            raw["scale"] = draw(numbers)
        else:
            raw["expanded"] = draw(numbers)
            if draw(st.booleans()):
                raw["coverage_factor"] = draw(numbers)
            else:
                raw["level"] = draw(st.sampled_from([0.5, 0.95, 0.9999999]))
    if draw(st.booleans()):
        raw["distribution"] = draw(
            st.sampled_from(["normal", "student_t", "rectangular", "triangular", "arcsine", "curvilinear_trapezoid"])
        )
    if draw(st.booleans()):
        raw["dof"] = draw(st.sampled_from([0.5, 1, 2, 2.5, 3, 10, 1e9, 0, -1, math.inf, math.nan]))
    if draw(st.integers(0, 4)) == 0:
        raw["relative"] = True
    return raw


@st.composite
def budgets(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, len(SYMBOLS)))
    symbols = SYMBOLS[:n]
    data: dict[str, Any] = {
        "format": draw(st.sampled_from(["jiliang.uncertainty-budget/2", "jiliang.uncertainty-budget/1"])),
        "title": "fuzz",
        "inputs": [draw(inputs(s)) for s in symbols],
    }
    names: tuple[str, ...] = symbols
    if draw(st.booleans()):
        data["curves"] = [
            {
                "x": draw(small_lists),
                "y": draw(small_lists),
                "intercept": "k0",
                "slope": "k1",
                "x_offset": draw(numbers),
            }
        ]
        if draw(st.booleans()):
            data["curves"][0]["u_y"] = draw(small_lists)
        names += ("k0", "k1")
    if n > 1 and draw(st.booleans()):
        pairs = st.tuples(st.sampled_from(symbols), st.sampled_from(symbols))
        data["correlations"] = [
            {"between": list(pair), "r": draw(st.floats(-1.2, 1.2))} for pair in draw(st.lists(pairs, max_size=3))
        ]
        if draw(st.booleans()):
            data["correlations"].append({"simultaneous": list(symbols)})
    equations = EQUATIONS[: draw(st.integers(1, len(EQUATIONS)))]
    formulas = expressions(names + equations)
    data["measurands"] = [{"symbol": s, "expression": draw(formulas)} for s in equations]
    if draw(st.booleans()):
        data["probability"] = draw(st.sampled_from([0.5, 0.95, 0.999999]))
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(budgets())
def test_a_budget_evaluates_or_is_refused_with_a_field_error(data: dict[str, Any]) -> None:
    try:
        budget = parse_budget(data)
        report = evaluate_report(budget, "both", trials=10_000, seed=0)
    except BudgetError as exc:
        assert exc.field or exc.message  # a message the user can act on
        return
    assert len(report["gum"]["measurands"]) == len(data["measurands"])
    json.dumps(report, allow_nan=False)  # what the API sends: strict JSON, no NaN or Infinity
