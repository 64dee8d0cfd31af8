"""Decision rules against their texts, with limits and uncertainties chosen by hand: simple
acceptance, ILAC-G8:09/2019 §4.2.2 guarded acceptance (w = r·U, binary), and JJF 1094-2002 §5.3
(U95 ≤ MPEV/3: the error alone; otherwise |Δ| ≤ MPEV − U95 conforms, |Δ| ≥ MPEV + U95 does not,
and between them no conclusion)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from jiliang.measurement.decision import DecisionRule, decide

SIMPLE, GUARDED, JJF1094 = DecisionRule("simple"), DecisionRule("guarded"), DecisionRule("jjf1094")
HALF_GUARD = DecisionRule("guarded", D("0.5"))
LOW, HIGH = D("-1.0"), D("1.0")  # ±1.0 % (an EV charger of class 1)


@pytest.mark.parametrize(
    ("error", "expected"),
    [("1.0", True), ("-1.0", True), ("1.01", False), ("0", True), ("-1.01", False)],
)
def test_simple_acceptance_conforms_within_the_limits_inclusive(error, expected) -> None:
    d = decide(SIMPLE, D(error), LOW, HIGH, D("0.9"))  # U is recorded but does not decide
    assert d.conforms is expected and d.zone == ("accept" if expected else "reject")
    assert d.acceptance == (LOW, HIGH) and d.expanded_uncertainty == D("0.9")


@pytest.mark.parametrize(
    ("rule", "error", "expected"),
    [
        (GUARDED, "0.7", True),  # w = U = 0.3: acceptance zone ±0.7
        (GUARDED, "0.71", False),  # binary: outside the acceptance zone fails, even within the MPE
        (GUARDED, "-0.7", True),
        (HALF_GUARD, "0.85", True),  # w = 0.5·U = 0.15: acceptance zone ±0.85
        (HALF_GUARD, "0.86", False),
    ],
)
def test_guarded_acceptance_narrows_the_limits_by_the_guard_band(rule, error, expected) -> None:
    d = decide(rule, D(error), LOW, HIGH, D("0.3"))
    assert d.conforms is expected
    w = rule.guard_band * D("0.3")
    assert d.guard_band == w and d.acceptance == (LOW + w, HIGH - w)


def test_jjf1094_lets_the_error_alone_decide_when_u95_is_at_most_a_third_of_mpev() -> None:
    at_third = decide(JJF1094, D("0.99"), LOW, HIGH, D("0.33"))  # 0.33 ≤ 1.0/3
    assert at_third.conforms is True and at_third.guard_band == 0 and at_third.ratio == D("0.33")
    beyond = decide(JJF1094, D("1.01"), LOW, HIGH, D("0.33"))
    assert beyond.conforms is False and beyond.zone == "reject"


@pytest.mark.parametrize(
    ("error", "zone", "conforms"),
    [
        ("0.5", "accept", True),  # |Δ| = MPEV − U95 exactly: conforms
        ("0.51", "undetermined", None),
        ("1.49", "undetermined", None),
        ("1.5", "reject", False),  # |Δ| = MPEV + U95 exactly: does not conform
        ("-1.5", "reject", False),
        ("-0.5", "accept", True),
    ],
)
def test_jjf1094_with_u95_above_a_third_of_mpev_has_an_undetermined_zone(error, zone, conforms) -> None:
    d = decide(JJF1094, D(error), LOW, HIGH, D("0.5"))  # U95 = 0.5 > 1.0/3
    assert (d.zone, d.conforms) == (zone, conforms)
    assert d.acceptance == (D("-0.5"), D("0.5"))


# JJF 1094-2002 §5.3.1: "当 U95 ≤ MPEV/3 时 … 可不考虑测量不确定度的影响" and §5.3.2: the undetermined zone is
# MPEV − U95 < |error| < MPEV + U95. With asymmetric limits each limit has its own MPEV, so each side is
# judged on its own: a taximeter's −4 %/+1 % with U95 = 0.5 % has U95/MPEV = 0.125 at −4 % (error
# alone decides there) and 0.5 at +1 % (undetermined between +0.5 % and +1.5 %).
TAXI_LOW, TAXI_HIGH, TAXI_U = D("-4.0"), D("1.0"), D("0.5")


def test_asymmetric_limits_are_judged_per_side_under_jjf1094() -> None:
    d = decide(JJF1094, D("-3.6"), TAXI_LOW, TAXI_HIGH, TAXI_U)
    assert (d.zone, d.conforms) == ("accept", True)
    assert d.ratios == (D("0.125"), D("0.5")) and d.guard_bands == (D(0), D("0.5"))
    assert d.acceptance == (D("-4.0"), D("0.5"))


@pytest.mark.parametrize(
    ("error", "zone", "conforms"),
    [
        ("-4.0", "accept", True),  # exactly the lower MPE: the error alone decides on that side
        ("-4.01", "reject", False),
        ("0.5", "accept", True),  # MPEV − U95 on the upper side
        ("0.51", "undetermined", None),
        ("1.49", "undetermined", None),
        ("1.5", "reject", False),  # MPEV + U95: §5.3.2 "≥" does not conform
    ],
)
def test_jjf1094_boundaries_on_each_side_of_asymmetric_limits(error, zone, conforms) -> None:
    d = decide(JJF1094, D(error), TAXI_LOW, TAXI_HIGH, TAXI_U)
    assert (d.zone, d.conforms) == (zone, conforms)


def test_jjf1094_guards_both_sides_when_u95_exceeds_a_third_of_each_limit() -> None:
    # U95 = 1.5: 1.5/4 = 0.375 > 1/3 and 1.5/1 > 1/3, so both limits are guarded by U95
    d = decide(JJF1094, D("-2.4"), TAXI_LOW, TAXI_HIGH, D("1.5"))
    assert d.guard_bands == (D("1.5"), D("1.5")) and d.acceptance == (D("-2.5"), D("-0.5"))
    assert (d.zone, d.conforms) == ("accept", True)
    assert decide(JJF1094, D("-2.6"), TAXI_LOW, TAXI_HIGH, D("1.5")).zone == "undetermined"


@pytest.mark.parametrize(
    ("error", "conforms"),
    [("-3.5", True), ("-3.51", False), ("0.5", True), ("0.51", False)],
)
def test_guarded_acceptance_moves_each_asymmetric_limit_in_by_w(error, conforms) -> None:
    # ILAC-G8:09/2019 §4.2.2: acceptance limit = tolerance limit − w, w = r·U at each limit (r = 1)
    d = decide(GUARDED, D(error), TAXI_LOW, TAXI_HIGH, TAXI_U)
    assert d.conforms is conforms and d.acceptance == (D("-3.5"), D("0.5"))
    assert d.ratios == (D("0.125"), D("0.5"))


def test_without_u_jjf1094_falls_back_to_the_error_and_says_so() -> None:
    d = decide(JJF1094, D("0.9"), LOW, HIGH, None)
    assert d.conforms is True and d.expanded_uncertainty is None and "§5.3.1" in d.note
    g = decide(GUARDED, D("0.9"), LOW, HIGH, None)
    assert g.conforms is True and "not evaluated" in g.note
