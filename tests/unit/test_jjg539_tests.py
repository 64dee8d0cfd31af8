"""A JJG 539 verification as the regulation's tests (OIML R 76-1, which JJG 539 implements), every
expected verdict worked from the quoted text with e = d = 5 g, Max = 30 kg (tests/support/jjg539.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from jiliang.measurement import Procedure, ReadingError, evaluate, load_procedures
from jiliang.measurement.conformity import PointReading
from tests.support import jjg539
from tests.support.jjg539 import SCALE_III, E

ON = date(2026, 6, 1)


@pytest.fixture(scope="module")
def nawi() -> Procedure:
    return load_procedures()["nawi"]


def _tests(ev) -> dict[str, str]:
    return {t.test.id: t.verdict for t in ev.tests}


# R 76-1 A.4.4.3: "P = I + ½e − ΔL … E = P − L … Ec = E − E0 ≤ mpe", ΔL in steps of 0.1e.
def test_the_issue_case_an_indication_of_10_005_is_judged_before_rounding(nawi: Procedure) -> None:
    # L = 10 kg = 2000e: MPE 1.0e = 5 g (500e < m ≤ 2000e). I = 10.005 kg.
    # ΔL = 0.5 g (0.1e): E = 10.005 + 0.0025 − 0.0005 − 10 = 0.007 kg = 1.4e > 1.0e: fails,
    # although I − L = 1.0e would have passed when the error was taken from the rounded display.
    too_far = PointReading("load", D(10), D("10.005"), D("0.0005"))
    at_limit = PointReading("load", D(10), D("10.005"), D("0.0025"))  # E = 0.005 kg = 1.0e exactly
    over = PointReading("load", D(10), D("10.005"), D("0.0020"))  # E = 0.0055 kg = 1.1e
    for reading, verdict in ((too_far, "fail"), (at_limit, "pass"), (over, "fail")):
        ev = evaluate(nawi, ON, "initial", SCALE_III, [reading, *jjg539.complete()])
        assert ev.verdict == verdict, reading
    ev = evaluate(nawi, ON, "initial", SCALE_III, [too_far, *jjg539.complete()])
    assert ev.points[0].error == D("0.0070") and _tests(ev)["weighing"] == "fail"
    assert ev.failed_tests[0].name_zh == "称量测试"


def test_the_error_at_zero_is_subtracted_from_every_corrected_error(nawi: Procedure) -> None:
    # E0 = +0.4e. A load whose E = +1.4e has Ec = 1.0e: at the 2000e MPE it passes; E0 = 0 would fail it.
    weighing = [jjg539.zero(D("0.4")), *(jjg539.load(m, D("0.4")) for m in (20, 500, 4000, 6000))]
    ev = evaluate(nawi, ON, "initial", SCALE_III, [jjg539.load(2000, D("1.4")), *weighing, *jjg539.complete()[6:]])
    assert ev.zero_error == D("0.4") * E
    assert ev.points[0].corrected_error == D("1.0") * E and ev.points[0].conforms is True


def test_added_load_must_be_whole_steps_of_a_tenth_of_e_within_one_e(nawi: Procedure) -> None:
    for bad in ("0.0003", "-0.0005", "0.0055"):
        with pytest.raises(ReadingError, match="ΔL"):
            evaluate(nawi, ON, "initial", SCALE_III, [PointReading("load", D(10), D(10), D(bad)), *jjg539.complete()])


def test_with_d_equal_to_e_each_changeover_reading_needs_its_added_load(nawi: Procedure) -> None:
    with pytest.raises(ReadingError, match="ΔL"):
        evaluate(nawi, ON, "initial", SCALE_III, [PointReading("load", D(10), D(10)), *jjg539.complete()])


# R 76-1 3.6.2: "The indications for different positions of a load shall meet the maximum permissible
# errors"; A.4.7: load 1/3 (Max + additive tare). Max = 30 kg: 10 kg = 2000e, so the MPE is 1.0e, not 1.5e.
@pytest.mark.parametrize(("error_e", "verdict"), [("1.0", "pass"), ("-1.0", "pass"), ("1.1", "fail")])
def test_eccentricity_at_a_third_of_max_uses_the_mpe_of_that_load(nawi: Procedure, error_e: str, verdict: str) -> None:
    errors = (D(0), D(error_e), D(0), D(0))
    ev = evaluate(
        nawi, ON, "initial", SCALE_III, jjg539.complete(replace={"eccentricity": jjg539.eccentricity(errors)})
    )
    assert _tests(ev)["eccentricity"] == verdict and ev.verdict == verdict
    assert {p.mpe_upper for p in ev.points if p.point_id == "eccentricity"} == {D("1.0") * E}


def test_eccentricity_needs_every_segment_once(nawi: Procedure) -> None:
    three = jjg539.eccentricity((D(0),) * 3)
    ev = evaluate(nawi, ON, "initial", SCALE_III, jjg539.complete(replace={"eccentricity": three}))
    assert ev.verdict == "unknown" and any("4" in p for p in ev.problems)


# R 76-1 3.6.1: "The difference between the results of several weighings of the same load shall not be
# greater than the absolute value of the maximum permissible error of the instrument for that load."
# 15 kg = 3000e and 30 kg = 6000e: |MPE| = 1.5e at both.
@pytest.mark.parametrize(("spread_e", "verdict"), [("1.5", "pass"), ("1.6", "fail")])
def test_repeatability_range_equal_to_the_mpe_passes_and_above_fails(
    nawi: Procedure, spread_e: str, verdict: str
) -> None:
    half = (D(0), D(spread_e), D("0.5"))
    ev = evaluate(
        nawi, ON, "initial", SCALE_III, jjg539.complete(replace={"repeatability": jjg539.repeatability(half)})
    )
    rep = next(t for t in ev.tests if t.test.id == "repeatability")
    assert rep.verdict == verdict and rep.value == D(spread_e) * E and rep.limit == D("1.5") * E


def test_repeatability_needs_three_weighings_of_each_load(nawi: Procedure) -> None:
    two = jjg539.repeatability((D(0), D(0)))
    ev = evaluate(nawi, ON, "initial", SCALE_III, jjg539.complete(replace={"repeatability": two}))
    assert ev.verdict == "unknown" and ev.problems


# R 76-1 3.8: "An additional load equal to 1.4 d … shall change the initial indication" (by d, A.4.12).
@pytest.mark.parametrize(("changes", "verdict"), [((1, 1, 1), "pass"), ((1, 0, 1), "fail")])
def test_discrimination_needs_a_change_of_one_d(nawi: Procedure, changes, verdict: str) -> None:
    ev = evaluate(
        nawi, ON, "initial", SCALE_III, jjg539.complete(replace={"discrimination": jjg539.discrimination(changes)})
    )
    assert _tests(ev)["discrimination"] == verdict


# Zero-setting accuracy ±0.25e: E = I + ½e − ΔL at zero. ΔL = 0.3e gives 0.2e; ΔL = 0.2e gives 0.3e.
@pytest.mark.parametrize(("added", "verdict"), [("0.0015", "pass"), ("0.0010", "fail")])
def test_zero_setting_within_a_quarter_of_e(nawi: Procedure, added: str, verdict: str) -> None:
    reading = PointReading("zero_setting", D(0), D(0), D(added))
    ev = evaluate(nawi, ON, "initial", SCALE_III, jjg539.complete(replace={"zero_setting": [reading]}))
    assert _tests(ev)["zero_setting"] == verdict


def test_initial_verification_without_every_test_is_incomplete_but_in_service_needs_only_weighing(
    nawi: Procedure,
) -> None:
    initial = evaluate(nawi, ON, "initial", SCALE_III, jjg539.weighing())
    assert initial.verdict == "unknown" and len(initial.problems) == 4  # eccentricity … zero-setting
    in_service = evaluate(nawi, ON, "in_service", SCALE_III, jjg539.weighing())
    assert in_service.verdict == "pass" and not in_service.problems


def test_in_service_mpe_is_twice_the_initial_for_the_same_reading(nawi: Procedure) -> None:
    # 2.5 kg = 500e: initial MPE 0.5e, in service 1.0e; an error of 0.8e fails one and passes the other
    reading = jjg539.load(500, D("0.8"))
    assert evaluate(nawi, ON, "initial", SCALE_III, [reading, *jjg539.complete()]).verdict == "fail"
    assert evaluate(nawi, ON, "in_service", SCALE_III, [reading, *jjg539.weighing()]).verdict == "pass"


def test_with_d_below_e_readings_are_rounded_to_d_and_need_no_added_load_nor_e0(nawi: Procedure) -> None:
    # d = 1 g < e = 5 g: the display resolves the error itself (no changeover weights, no E0 correction).
    # 10 kg = 2000e, in-service MPE 2.0e = 10 g: I = 10.010 passes, 10.011 fails.
    params = {**SCALE_III, "resolution": D("0.001")}
    zero = PointReading("weighing_zero", D(0), D(0))
    loads = [PointReading("load", m, m) for m in (D("0.1"), D("2.5"), D(20), D(30))]
    for indication, verdict in (("10.010", "pass"), ("10.011", "fail")):
        readings = [zero, *loads, PointReading("load", D(10), D(indication))]
        ev = evaluate(nawi, ON, "in_service", params, readings)
        assert ev.verdict == verdict and ev.points[-1].corrected_error is None


def test_a_bad_added_load_is_explained_in_each_language_once(nawi: Procedure) -> None:
    with pytest.raises(ReadingError) as caught:
        evaluate(nawi, ON, "initial", SCALE_III, [PointReading("load", D(10), D(10), D("0.0003")), *jjg539.complete()])
    zh, en = str(caught.value).split(" / ")  # the pages show one half: the page's language
    assert zh.startswith("称量测试载荷") and "整数倍" in zh and not any(c.isascii() and c.isalpha() for c in zh[:6])
    assert en.startswith("weighing test load m") and "0.1e steps" in en
