"""Conformity decisions: verdicts checked against the numbers in reference/mpe_rules.csv (read here,
not from the code), band edges, GB/T 8170 half-even rounding, unknown where no rule exists, advisory
verdicts for unconfirmed rules."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from jiliang.measurement import (
    PointReading,
    Procedure,
    ReadingError,
    evaluate,
    load_procedures,
    round_to_resolution,
)
from tests.support import jjg539

REFERENCE = Path(__file__).resolve().parents[2] / "src" / "jiliang" / "reference"
TODAY = date(2025, 6, 1)
E = Decimal("0.005")  # e = 5 g, in kg
SCALE_III = {"accuracy_class": "III", "e": E}


def _rows() -> list[dict[str, str]]:
    with (REFERENCE / "mpe_rules.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _mpe(regulation: str, cls: str, stage: str, quantity_start: str, range_lower: str = "") -> Decimal:
    """The symmetric MPE value of the unique matching reference row."""
    rows = [
        r
        for r in _rows()
        if r["regulation"] == regulation
        and r["accuracy_class"] == cls
        and r["verification_stage"] == stage
        and r["quantity"].startswith(quantity_start)
        and r["range_lower"] == range_lower
    ]
    assert len(rows) == 1, rows
    return Decimal(rows[0]["mpe_value"])


def _scale_mpe(stage: str, band_lower: str) -> Decimal:
    return _mpe("JJG 539-2016", "III", stage, "indication error at load m", band_lower)


@pytest.fixture(scope="module")
def procedures() -> dict[str, Procedure]:
    return load_procedures()


def _scale(procedure: Procedure, stage: str, under_test: list[PointReading], on: date = TODAY, params=None):
    """A complete JJG 539 record (tests/support/jjg539.py, every other test passing) whose weighing test
    also holds `under_test`; its points come first in the result."""
    readings = [*under_test, *jjg539.complete()]
    return evaluate(procedure, on, stage, params or SCALE_III, readings)


# ------------------------------------------------------------------ scales (JJG 539-2016, multiple of e)


def test_class_iii_scale_at_1000e_initial_passes_at_the_mpe_and_fails_above(
    procedures: dict[str, Procedure],
) -> None:
    mpe = _scale_mpe("initial", "500")  # 1.0 e for 500e < m <= 2000e
    nawi = procedures["nawi"]
    ok = _scale(nawi, "initial", [jjg539.load(1000, mpe)])
    bad = _scale(nawi, "initial", [jjg539.load(1000, mpe + Decimal("0.1"))])
    assert ok.verdict == "pass" and ok.points[0].mpe_upper == mpe * E
    assert bad.verdict == "fail" and bad.points[0].conforms is False


def test_class_iii_scale_in_service_mpe_is_twice_initial_so_1_5e_passes(
    procedures: dict[str, Procedure],
) -> None:
    mpe = _scale_mpe("in_service", "500")
    assert mpe == 2 * _scale_mpe("initial", "500")
    result = _scale(procedures["nawi"], "in_service", [jjg539.load(1000, Decimal("1.5"))])
    assert result.verdict == "pass"
    assert result.points[0].mpe_upper == mpe * E
    initial = _scale(procedures["nawi"], "initial", [jjg539.load(1000, Decimal("1.5"))])
    assert initial.verdict == "fail"


def test_load_of_exactly_500e_belongs_to_the_first_band(procedures: dict[str, Procedure]) -> None:
    mpe = _scale_mpe("initial", "0")  # 0.5 e
    at_edge = _scale(procedures["nawi"], "initial", [jjg539.load(500, mpe)])
    over = _scale(procedures["nawi"], "initial", [jjg539.load(500, Decimal("0.6"))])
    assert at_edge.points[0].mpe_upper == mpe * E and at_edge.verdict == "pass"
    assert over.verdict == "fail"


def test_load_just_above_500e_uses_the_second_band(procedures: dict[str, Procedure]) -> None:
    result = _scale(procedures["nawi"], "initial", [jjg539.load(501, Decimal("1.0"))])
    assert result.points[0].mpe_upper == _scale_mpe("initial", "500") * E
    assert result.verdict == "pass"


def test_zero_load_belongs_to_the_first_band(procedures: dict[str, Procedure]) -> None:
    result = _scale(procedures["nawi"], "initial", [jjg539.load(0, Decimal(0))])
    assert result.points[0].mpe_upper == _scale_mpe("initial", "0") * E
    assert result.verdict == "pass"


def test_load_above_the_last_band_has_no_rule_and_is_unknown(procedures: dict[str, Procedure]) -> None:
    result = _scale(procedures["nawi"], "initial", [jjg539.load(10001, Decimal(0))])
    assert result.points[0].conforms is None and result.points[0].rule_id is None
    assert result.verdict == "unknown"


def test_a_failing_point_makes_the_verdict_fail_even_when_another_is_unknown(
    procedures: dict[str, Procedure],
) -> None:
    readings = [jjg539.load(10001, Decimal(0)), jjg539.load(1000, Decimal(2))]
    assert _scale(procedures["nawi"], "initial", readings).verdict == "fail"


def test_class_iiii_bands_step_at_50e_and_200e(procedures: dict[str, Procedure]) -> None:
    params = {"accuracy_class": "IIII", "e": E}
    result = _scale(
        procedures["nawi"], "initial", [jjg539.load(50, Decimal(0)), jjg539.load(51, Decimal(0))], params=params
    )
    first = _mpe("JJG 539-2016", "IIII", "initial", "indication error at load m", "0")
    second = _mpe("JJG 539-2016", "IIII", "initial", "indication error at load m", "50")
    assert [p.mpe_upper for p in result.points[:2]] == [first * E, second * E]


def test_the_rule_remembered_for_a_load_is_never_another_class_stage_or_loads(procedures: dict[str, Procedure]) -> None:
    """The edition remembers the rule found for each reading (the same loads recur across a batch):
    the same load under another class or stage, or another load, must still get its own band's MPE."""
    nawi, five_kg = procedures["nawi"], jjg539.load(1000, Decimal(0))  # 5 kg = 1000e at e = 5 g
    iii = _scale(nawi, "initial", [five_kg])
    iiii = _scale(nawi, "initial", [five_kg], params={"accuracy_class": "IIII", "e": E})
    in_service = _scale(nawi, "in_service", [five_kg])
    two_kg = _scale(nawi, "initial", [jjg539.load(400, Decimal(0))])  # 400e: the first band
    again = _scale(nawi, "initial", [five_kg])
    assert iii.points[0].mpe_upper == again.points[0].mpe_upper == _scale_mpe("initial", "500") * E
    iiii_mpe = _mpe("JJG 539-2016", "IIII", "initial", "indication error at load m", "200")
    assert iiii.points[0].mpe_upper == iiii_mpe * E
    assert in_service.points[0].mpe_upper == _scale_mpe("in_service", "500") * E
    assert two_kg.points[0].mpe_upper == _scale_mpe("initial", "0") * E
    assert len({iii.points[0].rule_id, iiii.points[0].rule_id, in_service.points[0].rule_id}) == 3


# ------------------------------------------------------------------ rounding


def test_rounding_to_resolution_is_half_even() -> None:
    d = Decimal("0.005")
    assert round_to_resolution(Decimal("5.0025"), d) == Decimal("5.000")  # 1000.5 d -> 1000 d
    assert round_to_resolution(Decimal("5.0075"), d) == Decimal("5.010")  # 1001.5 d -> 1002 d
    assert round_to_resolution(Decimal("1.25"), Decimal("0.1")) == Decimal("1.2")
    assert round_to_resolution(Decimal("1.35"), Decimal("0.1")) == Decimal("1.4")


def test_resolution_parameter_takes_precedence_over_e(procedures: dict[str, Procedure]) -> None:
    # d = 1 g < e = 5 g: the display resolves the error, so no changeover weights are used
    params = {**SCALE_III, "resolution": Decimal("0.001")}
    reading = PointReading("load", Decimal("5.000"), Decimal("5.0025"))
    result = evaluate(
        procedures["nawi"],
        TODAY,
        "in_service",
        params,
        [PointReading("weighing_zero", Decimal(0), Decimal(0)), reading],
    )
    assert result.points[1].indication == Decimal("5.002")
    assert "0.001 kg" in result.decision_rule and "GB/T 8170" in result.decision_rule
    assert "JJG 539-2016" in result.decision_rule and "in-service" in result.decision_rule


# ------------------------------------------------------------------ price scale editions


def test_price_scale_on_2027_01_07_is_judged_by_jjg_539(procedures: dict[str, Procedure]) -> None:
    result = _scale(procedures["price_scale"], "subsequent", [jjg539.load(1000, Decimal(1))], on=date(2027, 1, 7))
    assert result.regulation == "JJG 539-2016" and result.verdict == "pass"


def test_price_scale_from_2027_01_08_has_no_rules_so_verdict_is_unknown(
    procedures: dict[str, Procedure],
) -> None:
    result = _scale(procedures["price_scale"], "subsequent", [jjg539.load(1000, Decimal(0))], on=date(2027, 1, 8))
    assert result.regulation == "JJG 1204-2025"
    assert result.verdict == "unknown" and result.points[0].mpe_upper is None


# ------------------------------------------------------------------ relative and absolute rules


def test_fuel_dispenser_relative_error_of_exactly_0_30_percent_passes_and_above_fails(
    procedures: dict[str, Procedure],
) -> None:
    mpe = _mpe("JJG 443-2015", "", "any", "volume indication error")
    params = {"resolution": Decimal("0.01")}
    reference = Decimal("20.00")
    at_limit = reference * (1 + mpe / 100)  # 20.06 L
    for sign in (1, -1):
        indication = reference + sign * (at_limit - reference)
        result = evaluate(
            procedures["fuel_dispenser"],
            TODAY,
            "subsequent",
            params,
            [PointReading("volume", reference, indication)],
        )
        assert result.verdict == "pass"
        assert result.points[0].relative_error_percent == sign * mpe
        assert result.points[0].mpe_unit == "%"
    over = evaluate(
        procedures["fuel_dispenser"],
        TODAY,
        "initial",
        params,
        [PointReading("volume", reference, at_limit + Decimal("0.01"))],
    )
    assert over.verdict == "fail"


def test_sphygmomanometer_zero_error_limits_are_asymmetric(procedures: dict[str, Procedure]) -> None:
    row = next(r for r in _rows() if r["regulation"] == "JJG 270-2008" and r["quantity"].startswith("zero error"))
    lower, upper = (Decimal(v) for v in row["mpe_value"].split("/"))
    params = {"resolution": Decimal("0.1")}
    spm = procedures["sphygmomanometer"]

    def verdict(indication: Decimal) -> str:
        return evaluate(spm, TODAY, "subsequent", params, [PointReading("zero", Decimal(0), indication)]).verdict

    assert verdict(lower) == "pass" and verdict(upper) == "pass"
    assert verdict(lower - Decimal("0.1")) == "fail" and verdict(upper + Decimal("0.1")) == "fail"


def test_sphygmomanometer_indication_error_is_absolute_in_kpa(procedures: dict[str, Procedure]) -> None:
    mpe = _mpe("JJG 270-2008", "", "any", "pressure indication error")
    params = {"resolution": Decimal("0.1")}
    ok = PointReading("indication", Decimal("20.0"), Decimal("20.0") + mpe)
    bad = PointReading("indication", Decimal("20.0"), Decimal("20.0") + mpe + Decimal("0.1"))
    result = evaluate(procedures["sphygmomanometer"], TODAY, "initial", params, [ok, bad])
    assert [p.conforms for p in result.points] == [True, False]
    assert result.points[0].mpe_unit == "kPa"


def _water(flow_point: str, relative_percent: str) -> PointReading:
    reference = Decimal("100.000")
    return PointReading(flow_point, reference, reference * (1 + Decimal(relative_percent) / 100))


def test_water_meter_class_2_lower_zone_at_q1_allows_the_wider_mpe(procedures: dict[str, Procedure]) -> None:
    lower_mpe = _mpe("JJG 162-2019", "2", "initial", "volume error lower zone", "Q1")
    upper_mpe = _mpe("JJG 162-2019", "2", "initial", "volume error upper zone Q2<=Q<=Q4 water 0.1-30", "Q2")
    params = {"accuracy_class": "2", "resolution": Decimal("0.001"), "water_temperature": "0.1-30"}
    between = str((lower_mpe + upper_mpe) / 2)  # 3.5 %: inside the lower-zone MPE, outside the upper
    result = evaluate(
        procedures["water_meter"],
        TODAY,
        "initial",
        params,
        [
            _water("Q1", between),
            _water("Q2", between),
            _water("Q3", str(upper_mpe)),
        ],
    )
    assert [p.conforms for p in result.points] == [True, False, True]
    assert [p.mpe_upper for p in result.points] == [lower_mpe, upper_mpe, upper_mpe]


def test_water_meter_upper_zone_mpe_depends_on_water_temperature(procedures: dict[str, Procedure]) -> None:
    hot_mpe = _mpe("JJG 162-2019", "2", "initial", "volume error upper zone Q2<=Q<=Q4 water >30", "Q2")
    params = {"accuracy_class": "2", "resolution": Decimal("0.001"), "water_temperature": "above_30"}
    result = evaluate(procedures["water_meter"], TODAY, "initial", params, [_water("Q3", str(hot_mpe))])
    assert result.verdict == "pass" and result.points[0].mpe_upper == hot_mpe


@pytest.mark.parametrize("stage", ["in_service", "subsequent"])
def test_water_meter_after_initial_verification_has_no_rule_so_verdict_is_unknown(
    procedures: dict[str, Procedure], stage: str
) -> None:
    params = {"accuracy_class": "2", "resolution": Decimal("0.001"), "water_temperature": "0.1-30"}
    result = evaluate(procedures["water_meter"], TODAY, stage, params, [_water("Q3", "0")])
    assert result.verdict == "unknown"


def test_gas_meter_class_1_5_zones_qmin_lower_and_qmax_upper(procedures: dict[str, Procedure]) -> None:
    rows = [r for r in _rows() if r["regulation"] == "JJG 577-2012" and r["accuracy_class"] == "1.5"]
    lower_mpe = Decimal(next(r for r in rows if r["range_lower"] == "qmin")["mpe_value"])
    upper_mpe = Decimal(next(r for r in rows if r["range_lower"] == "qt")["mpe_value"])
    params = {"accuracy_class": "1.5", "resolution": Decimal("0.001")}
    result = evaluate(
        procedures["gas_meter"],
        TODAY,
        "initial",
        params,
        [
            _water("qmin", str(lower_mpe)),
            _water("qmax", str(lower_mpe)),
            _water("qt", str(upper_mpe)),
        ],
    )
    assert [p.conforms for p in result.points] == [True, False, True]


# ------------------------------------------------------------------ advisory (unconfirmed) rules


def test_low_confidence_rule_makes_its_point_and_the_evaluation_advisory(
    procedures: dict[str, Procedure],
) -> None:
    # the tare-setting rule ships unconfirmed (low: no source found for ±0.25e at tare)
    result = _scale(procedures["nawi"], "initial", [jjg539.changeover("tare", Decimal(0), Decimal(0))])
    assert result.points[0].advisory and not any(p.advisory for p in result.points[1:])
    assert result.advisory and result.verdict == "pass"


def test_low_confidence_rule_confirmed_by_id_is_no_longer_advisory(procedures: dict[str, Procedure]) -> None:
    readings = [jjg539.changeover("tare", Decimal(0), Decimal(0)), *jjg539.complete()]
    rule_id = evaluate(procedures["nawi"], TODAY, "initial", SCALE_III, readings).points[0].rule_id
    assert rule_id == "tare_setting"
    result = evaluate(procedures["nawi"], TODAY, "initial", SCALE_III, readings, frozenset({rule_id}))
    assert not result.advisory and not result.points[0].advisory


# ------------------------------------------------------------------ extra folder item


def test_item_defined_only_in_an_admin_folder_loads_and_evaluates(tmp_path: Path) -> None:
    row = next(r for r in _rows() if r["regulation"] == "JJG 517-2016")
    lower, upper = row["mpe_value"].split("/")  # -4.0/+1.0 %
    item = {
        "item_code": "taximeter",
        "name_zh": "出租汽车计价器",
        "name_en": "taximeter",
        "catalogue_item_zh": "出租汽车计价器",
        "instrument_types_zh": ["出租汽车计价器"],
        "instrument_parameters": [
            {
                "name": "resolution",
                "label_zh": "分辨力",
                "label_en": "resolution",
                "kind": "number",
                "unit": "km",
                "required": True,
            },
        ],
        "editions": [
            {
                "regulation": row["regulation"],
                "title_zh": "出租汽车计价器",
                "effective_from": "2017-05-30",
                "effective_until": None,
                "points": [{"id": "km1", "label_zh": "1 km", "label_en": "1 km", "nominal": "1 km", "unit": "km"}],
                "rules": [
                    {
                        "id": "distance",
                        "stage": row["verification_stage"],
                        "accuracy_class": None,
                        "quantity": row["quantity"],
                        "applies_to": {"points": ["km1"]},
                        "kind": row["mpe_kind"],
                        "mpe": {"lower": lower, "upper": upper},
                        "unit": "%",
                        "source": row["source"],
                        "confidence": row["confidence"],
                        "confirmed": row["confidence"] != "low",
                    }
                ],
            }
        ],
    }
    (tmp_path / "taximeter.yaml").write_text(yaml.safe_dump(item, allow_unicode=True), encoding="utf-8")
    taximeter = load_procedures(tmp_path)["taximeter"]
    params = {"resolution": Decimal("0.001")}

    def verdict(indication: str) -> str:
        reading = PointReading("km1", Decimal("1.000"), Decimal(indication))
        return evaluate(taximeter, TODAY, "in_service", params, [reading]).verdict

    assert verdict("0.960") == "pass" and verdict("1.010") == "pass"
    assert verdict("0.959") == "fail" and verdict("1.011") == "fail"


# ------------------------------------------------------------------ input errors


def test_unknown_point_id_is_a_reading_error(procedures: dict[str, Procedure]) -> None:
    with pytest.raises(ReadingError, match="unknown measurement point 'Q9'"):
        evaluate(
            procedures["fuel_dispenser"],
            TODAY,
            "initial",
            {"resolution": "0.01"},
            [PointReading("Q9", Decimal(1), Decimal(1))],
        )


def test_missing_required_parameter_is_a_reading_error(procedures: dict[str, Procedure]) -> None:
    with pytest.raises(ReadingError, match="accuracy_class"):
        evaluate(procedures["nawi"], TODAY, "initial", {"e": E}, [jjg539.load(10, Decimal(0))])


def test_unknown_stage_is_a_reading_error(procedures: dict[str, Procedure]) -> None:
    with pytest.raises(ReadingError, match="stage 'annual'"):
        evaluate(procedures["nawi"], TODAY, "annual", SCALE_III, [jjg539.load(10, Decimal(0))])


def test_accuracy_class_outside_the_declared_choices_is_a_reading_error(
    procedures: dict[str, Procedure],
) -> None:
    with pytest.raises(ReadingError, match="must be one of"):
        evaluate(procedures["nawi"], TODAY, "initial", {"accuracy_class": "II", "e": E}, [jjg539.load(10, Decimal(0))])


def test_relative_rule_with_zero_reference_is_a_reading_error(procedures: dict[str, Procedure]) -> None:
    with pytest.raises(ReadingError, match="non-zero reference"):
        evaluate(
            procedures["fuel_dispenser"],
            TODAY,
            "initial",
            {"resolution": "0.01"},
            [PointReading("volume", Decimal(0), Decimal(0))],
        )
