"""Catalogue items with a procedure of their own: the electronic AC energy meter (JJG 596-2012) and the
taximeter (JJG 517-2016). The expected limits are read from reference/mpe_rules.csv, not from the
procedure files."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from jiliang.measurement.conformity import PointReading, PointResult, evaluate
from jiliang.measurement.procedure import Procedure, load_procedures

MPE_RULES = Path(__file__).resolve().parents[2] / "src" / "jiliang" / "reference" / "mpe_rules.csv"

ON = date(2026, 6, 1)
ENERGY_METER = "electronic AC active energy meter (single-phase or balanced 3-phase)"


def _row(
    regulation: str, stage: str, quantity: str, accuracy_class: str = "", instrument_en: str = ""
) -> dict[str, str]:
    with MPE_RULES.open(encoding="utf-8", newline="") as f:
        rows = [
            row
            for row in csv.DictReader(f)
            if row["regulation"] == regulation
            and row["verification_stage"] == stage
            and row["quantity"] == quantity
            and row["accuracy_class"] == accuracy_class
            and (not instrument_en or row["instrument_en"] == instrument_en)
        ]
    assert len(rows) == 1, (regulation, quantity, accuracy_class)
    return rows[0]


def _limits(row: dict[str, str]) -> tuple[Decimal, Decimal]:
    value = row["mpe_value"]
    if "/" in value:
        lower, upper = value.split("/")
        return Decimal(lower), Decimal(upper)
    return -Decimal(value), Decimal(value)


def _point(procedure: Procedure, stage: str, params: dict[str, str], point_id: str, ref: str, ind: str) -> PointResult:
    evaluation = evaluate(procedure, ON, stage, params, [PointReading(point_id, Decimal(ref), Decimal(ind))])
    (result,) = evaluation.points
    return result


@pytest.fixture(scope="module")
def procedures() -> dict[str, Procedure]:
    return load_procedures()


def test_both_procedures_load(procedures: dict[str, Procedure]) -> None:
    assert procedures["energy_meter"].edition_on(ON).regulation == "JJG 596-2012"
    assert procedures["energy_meter"].catalogue_item_zh == "电能表"
    assert procedures["taximeter"].edition_on(ON).regulation == "JJG 517-2016"
    assert procedures["taximeter"].catalogue_item_zh == "出租汽车计价器"


# ------------------------------------------------------------------ energy meter (JJG 596-2012)

PF1 = "active energy error PF=1 (direct: 0.1Ib<=I<=Imax; CT: 0.05In<=I<=Imax)"
PF1_LOW = "active energy error PF=1 (direct: 0.05Ib<=I<0.1Ib; CT: 0.02In<=I<0.05In)"


# mpe_rules.csv: JJG 596-2012, electronic AC active energy meter (single-phase or balanced 3-phase), class 1,
# any stage, "active energy error PF=1 (direct: 0.1Ib<=I<=Imax; CT: 0.05In<=I<=Imax)", relative_percent 1.0
@pytest.mark.parametrize("stage", ["initial", "subsequent"])
def test_class_1_at_unity_power_factor_passes_at_the_limit_and_fails_just_above(
    procedures: dict[str, Procedure], stage: str
) -> None:
    lower, upper = _limits(_row("JJG 596-2012", "any", PF1, "1", ENERGY_METER))
    assert (lower, upper) == (Decimal("-1.0"), Decimal("1.0"))
    meter = procedures["energy_meter"]
    params = {"accuracy_class": "1", "resolution": "0.0001"}
    reference = Decimal("10.0000")  # kWh measured by the standard meter
    at_limit = _point(meter, stage, params, "pf1", str(reference), str(reference * (1 + upper / 100)))
    assert at_limit.relative_error_percent == upper
    assert (at_limit.mpe_lower, at_limit.mpe_upper, at_limit.mpe_unit) == (lower, upper, "%")
    assert at_limit.rule_id == "class1_pf1" and at_limit.conforms is True
    just_above = _point(meter, stage, params, "pf1", "10.0000", str(reference * (1 + upper / 100) + Decimal("0.0001")))
    assert just_above.conforms is False
    at_lower = _point(meter, stage, params, "pf1", "10.0000", str(reference * (1 + lower / 100)))
    assert at_lower.conforms is True
    just_below = _point(meter, stage, params, "pf1", "10.0000", str(reference * (1 + lower / 100) - Decimal("0.0001")))
    assert just_below.conforms is False


# mpe_rules.csv: JJG 596-2012, electronic AC active energy meter (single-phase or balanced 3-phase), class 2,
# any stage, "active energy error PF=1 (direct: 0.05Ib<=I<0.1Ib; CT: 0.02In<=I<0.05In)", relative_percent 2.5
def test_class_2_at_low_current_passes_at_2_5_percent(procedures: dict[str, Procedure]) -> None:
    lower, upper = _limits(_row("JJG 596-2012", "any", PF1_LOW, "2", ENERGY_METER))
    assert upper == Decimal("2.5")
    result = _point(
        procedures["energy_meter"],
        "initial",
        {"accuracy_class": "2", "resolution": "0.0001"},
        "pf1_low",
        "1.0000",
        "1.0250",
    )
    assert result.relative_error_percent == Decimal("2.5")
    assert (result.mpe_lower, result.mpe_upper) == (lower, upper)
    assert result.rule_id == "class2_pf1_low" and result.conforms is True
    over = _point(
        procedures["energy_meter"],
        "initial",
        {"accuracy_class": "2", "resolution": "0.0001"},
        "pf1_low",
        "1.0000",
        "1.0251",
    )
    assert over.conforms is False


# mpe_rules.csv: the four JJG 596-2012 class 1 rows (single-phase or balanced 3-phase), any stage:
# PF=1 0.05Ib<=I<0.1Ib 1.5; PF=1 0.1Ib<=I<=Imax 1.0; PF=0.5L or 0.8C 0.1Ib<=I<0.2Ib 1.5; 0.2Ib<=I<=Imax 1.0
def test_the_basic_error_test_passes_when_every_current_band_is_within_its_limit(
    procedures: dict[str, Procedure],
) -> None:
    readings = [
        PointReading("pf1_low", Decimal("1.0000"), Decimal("1.0150")),
        PointReading("pf1", Decimal("10.0000"), Decimal("9.9000")),
        PointReading("pf05_low", Decimal("1.0000"), Decimal("0.9850")),
        PointReading("pf05", Decimal("5.0000"), Decimal("5.0500")),
    ]
    evaluation = evaluate(
        procedures["energy_meter"], ON, "initial", {"accuracy_class": "1", "resolution": "0.0001"}, readings
    )
    assert [t.test.id for t in evaluation.tests] == ["basic_error"]
    assert evaluation.verdict == "pass" and not evaluation.problems
    partial = evaluate(
        procedures["energy_meter"], ON, "initial", {"accuracy_class": "1", "resolution": "0.0001"}, readings[:1]
    )
    assert partial.verdict == "unknown" and partial.problems  # a declared test needs every current band


# ------------------------------------------------------------------ taximeter (JJG 517-2016)

TAXI_DISTANCE = "distance (计程) error after installation in vehicle"


# mpe_rules.csv: JJG 517-2016, taximeter, in_service, "distance (计程) error after installation in vehicle",
# relative_percent -4.0/+1.0
@pytest.mark.parametrize(
    ("indication", "conforms"), [("0.960", True), ("0.959", False), ("1.010", True), ("1.011", False), ("1.000", True)]
)
def test_taximeter_in_service_distance_error_is_within_minus_4_plus_1_percent(
    procedures: dict[str, Procedure], indication: str, conforms: bool
) -> None:
    lower, upper = _limits(_row("JJG 517-2016", "in_service", TAXI_DISTANCE))
    assert (lower, upper) == (Decimal("-4.0"), Decimal("1.0"))
    taximeter = procedures["taximeter"]
    evaluation = evaluate(
        taximeter,
        ON,
        "in_service",
        {"resolution": "0.001"},
        [PointReading("distance", Decimal("1.000"), Decimal(indication))],
    )
    (result,) = evaluation.points
    assert (result.mpe_lower, result.mpe_upper, result.mpe_unit) == (lower, upper, "%")
    assert result.rule_id == "distance_in_service"
    assert result.conforms is conforms
    assert evaluation.verdict == ("pass" if conforms else "fail")


# mpe_rules.csv has no JJG 517-2016 row for initial or subsequent verification: no rule, verdict unknown
@pytest.mark.parametrize("stage", ["initial", "subsequent"])
def test_taximeter_without_a_rule_for_the_stage_is_unknown(procedures: dict[str, Procedure], stage: str) -> None:
    evaluation = evaluate(
        procedures["taximeter"],
        ON,
        stage,
        {"resolution": "0.001"},
        [PointReading("distance", Decimal("1.000"), Decimal("0.960"))],
    )
    (result,) = evaluation.points
    assert result.rule_id is None and result.conforms is None and result.mpe_upper is None
    assert evaluation.verdict == "unknown"


# ------------------------------------------------------------------ combustible gas detectors (JJG 693-2011)

CITED = Path(__file__).resolve().parents[2] / "src" / "jiliang" / "measurement" / "cited_rules.csv"


def _cited(regulation: str, quantity: str) -> dict[str, str]:
    with CITED.open(encoding="utf-8", newline="") as f:
        [row] = [r for r in csv.DictReader(f) if r["regulation"] == regulation and r["quantity"] == quantity]
    return row


# JJG 693-2011 Table 1 as reproduced by an enterprise procedure: "示值误差 ±5 %FS" (low, unconfirmed).
@pytest.mark.parametrize(("indication", "conforms"), [("55.0", True), ("45.0", True), ("55.1", False), ("44.9", False)])
def test_gas_detector_error_is_judged_against_a_share_of_its_full_scale(indication: str, conforms: bool) -> None:
    row = _cited("JJG 693-2011", "indication error")
    limit = Decimal(row["mpe_value"]) * Decimal(100) / 100  # %FS of a 0–100 %LEL instrument, in %LEL
    procedure = load_procedures()["gas_detector"]
    params = {"full_scale": "100", "resolution": "0.1"}
    ev = evaluate(
        procedure,
        date(2026, 6, 1),
        "subsequent",
        params,
        [PointReading("concentration", Decimal(50), Decimal(indication))],
    )
    [point] = ev.points
    assert point.mpe_upper == limit and point.mpe_unit == "%LEL" and point.conforms is conforms
    assert point.advisory and ev.advisory  # a low-confidence rule ships unconfirmed
