"""Procedure files: shipped files load and match the reference data; malformed files are rejected
with the file and field named; editions are selected by date; an admin folder adds or overrides items."""

from __future__ import annotations

import copy
import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from jiliang.measurement import (
    NoEditionInForce,
    ProcedureFileError,
    load_procedure_file,
    load_procedures,
)
from jiliang.measurement.procedure import SHIPPED_DIR

REFERENCE = Path(__file__).resolve().parents[2] / "src" / "jiliang" / "reference"


def _csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _shipped(name: str) -> dict[str, Any]:
    data = yaml.safe_load((SHIPPED_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------ shipped files


def test_shipped_procedures_load_with_expected_item_codes() -> None:
    procedures = load_procedures()
    assert {"nawi", "price_scale", "fuel_dispenser", "sphygmomanometer", "water_meter", "gas_meter"} <= set(procedures)
    for code, procedure in procedures.items():
        assert procedure.item_code == code
        assert procedure.editions


def test_every_verification_procedure_belongs_to_a_mandatory_catalogue_item() -> None:
    catalogue_items = {row["item_zh"] for row in _csv("mandatory_catalogue_2020.csv")}
    procedures = load_procedures().values()
    for procedure in procedures:
        if procedure.purpose == "verification":
            assert procedure.catalogue_item_zh in catalogue_items, procedure.item_code
        else:  # a laboratory calibration method is offered for instruments outside the catalogue
            assert procedure.catalogue_item_zh not in catalogue_items, procedure.item_code
    assert {p.item_code for p in procedures if p.purpose == "calibration"} == {"thermometer_calibration"}


def _limits(value: str) -> tuple[Decimal, Decimal]:
    if "/" in value:
        lower, upper = value.split("/")
        return Decimal(lower), Decimal(upper)
    return -Decimal(value), Decimal(value)


def _band(row: dict[str, str]) -> tuple[Decimal, Decimal] | None:
    if row["range_unit"] != "e":
        return None
    return Decimal(row["range_lower"]), Decimal(row["range_upper"])


CITED_RULES = Path(__file__).resolve().parents[2] / "src" / "jiliang" / "measurement" / "cited_rules.csv"


def test_every_shipped_rule_equals_a_row_of_the_reference_csv_or_of_the_cited_rules() -> None:
    """Every MPE number comes from the shared reference table or from the project's own sourced
    addendum (measurement/cited_rules.csv, each row with its source, confidence and date)."""
    with CITED_RULES.open(encoding="utf-8", newline="") as f:
        cited = list(csv.DictReader(f))
    assert all(row["source"] and row["confidence"] and row["checked_on"] for row in cited)
    rows = _csv("mpe_rules.csv") + cited
    for procedure in load_procedures().values():
        for edition in procedure.editions:
            for rule in edition.rules:
                matches = [
                    row
                    for row in rows
                    if row["source"] == rule.source
                    and row["quantity"] == rule.quantity
                    and row["mpe_kind"] == rule.kind
                    and row["confidence"] == rule.confidence
                    and row["verification_stage"] == rule.stage
                    and (rule.accuracy_class is None or row["accuracy_class"] == rule.accuracy_class)
                    and _band(row) == rule.applies_to.load_e
                    and _limits(row["mpe_value"]) == (rule.mpe_lower, rule.mpe_upper)
                ]
                assert matches, f"{procedure.item_code}:{rule.id} matches no row of mpe_rules.csv"


def test_low_confidence_rules_ship_unconfirmed() -> None:
    low = [r for p in load_procedures().values() for e in p.editions for r in e.rules if r.confidence == "low"]
    assert low, "expected at least one low-confidence rule (JJG 539 tare-setting)"
    assert all(not r.confirmed for r in low)


def test_water_and_gas_meters_have_rules_for_initial_verification_only() -> None:
    procedures = load_procedures()
    for code in ("water_meter", "gas_meter"):
        stages = {r.stage for e in procedures[code].editions for r in e.rules}
        assert stages == {"initial"}, code


# ------------------------------------------------------------------ edition selection


def test_price_scale_follows_jjg_539_until_2027_01_07() -> None:
    procedure = load_procedures()["price_scale"]
    assert procedure.edition_on(date(2027, 1, 7)).regulation == "JJG 539-2016"


def test_price_scale_follows_jjg_1204_from_2027_01_08_with_no_rules() -> None:
    edition = load_procedures()["price_scale"].edition_on(date(2027, 1, 8))
    assert edition.regulation == "JJG 1204-2025"
    assert edition.rules == ()


def test_no_edition_in_force_before_the_first_edition_is_a_clear_error() -> None:
    procedure = load_procedures()["nawi"]
    with pytest.raises(NoEditionInForce, match="2017-01-01"):
        procedure.edition_on(date(2017, 1, 1))
    assert issubclass(NoEditionInForce, ValueError)


# ------------------------------------------------------------------ malformed files


def test_bad_yaml_is_rejected_naming_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("item_code: nawi\neditions: [\n  - {regulation: x\n", encoding="utf-8")
    with pytest.raises(ProcedureFileError) as caught:
        load_procedure_file(path)
    assert "broken.yaml" in str(caught.value)
    assert "line" in str(caught.value)


def test_missing_rule_field_is_rejected_naming_the_field_path(tmp_path: Path) -> None:
    data = _shipped("nawi.yaml")
    del data["editions"][0]["rules"][2]["mpe"]
    with pytest.raises(ProcedureFileError) as caught:
        load_procedure_file(_write(tmp_path, "no_mpe.yaml", data))
    assert caught.value.field == "editions[0].rules[2].mpe"
    assert "no_mpe.yaml" in str(caught.value) and "editions[0].rules[2].mpe" in str(caught.value)


def test_wrong_type_is_rejected_naming_the_field_path(tmp_path: Path) -> None:
    data = _shipped("fuel_dispenser.yaml")
    data["editions"][0]["rules"][0]["confirmed"] = "yes"
    with pytest.raises(ProcedureFileError) as caught:
        load_procedure_file(_write(tmp_path, "bad_type.yaml", data))
    assert caught.value.field == "editions[0].rules[0].confirmed"
    assert "bad_type.yaml" in str(caught.value)


def test_missing_top_level_field_is_rejected(tmp_path: Path) -> None:
    data = _shipped("fuel_dispenser.yaml")
    del data["catalogue_item_zh"]
    with pytest.raises(ProcedureFileError) as caught:
        load_procedure_file(_write(tmp_path, "no_catalogue.yaml", data))
    assert caught.value.field == "catalogue_item_zh"


def test_invalid_date_is_rejected(tmp_path: Path) -> None:
    data = _shipped("fuel_dispenser.yaml")
    data["editions"][0]["effective_until"] = "2027-13-01"
    with pytest.raises(ProcedureFileError) as caught:
        load_procedure_file(_write(tmp_path, "bad_date.yaml", data))
    assert caught.value.field == "editions[0].effective_until"


def test_overlapping_editions_are_rejected(tmp_path: Path) -> None:
    data = _shipped("price_scale.yaml")
    data["editions"][0]["effective_until"] = date(2027, 1, 8)
    with pytest.raises(ProcedureFileError, match="overlaps") as caught:
        load_procedure_file(_write(tmp_path, "overlap.yaml", data))
    assert caught.value.field == "editions[1].effective_from"


def test_duplicate_rule_ids_are_rejected(tmp_path: Path) -> None:
    data = _shipped("gas_meter.yaml")
    rules = data["editions"][0]["rules"]
    rules[1]["id"] = rules[0]["id"]
    with pytest.raises(ProcedureFileError, match="already used") as caught:
        load_procedure_file(_write(tmp_path, "dup.yaml", data))
    assert caught.value.field == "editions[0].rules[1].id"


def test_low_confidence_rule_marked_confirmed_is_rejected(tmp_path: Path) -> None:
    data = _shipped("nawi.yaml")
    rules = data["editions"][0]["rules"]
    index = next(i for i, r in enumerate(rules) if r["confidence"] == "low")
    rules[index]["confirmed"] = True
    with pytest.raises(ProcedureFileError) as caught:
        load_procedure_file(_write(tmp_path, "low.yaml", data))
    assert caught.value.field == f"editions[0].rules[{index}].confirmed"


def test_rule_pointing_at_unknown_point_is_rejected(tmp_path: Path) -> None:
    data = _shipped("sphygmomanometer.yaml")
    data["editions"][0]["rules"][0]["applies_to"] = {"points": ["nowhere"]}
    with pytest.raises(ProcedureFileError, match="nowhere"):
        load_procedure_file(_write(tmp_path, "dangling.yaml", data))


def test_two_rules_applying_to_the_same_reading_are_rejected(tmp_path: Path) -> None:
    data = _shipped("water_meter.yaml")
    rules = data["editions"][0]["rules"]
    extra = copy.deepcopy(rules[0])
    extra["id"] = "class2_lower_copy"
    rules.append(extra)
    with pytest.raises(ProcedureFileError, match="both apply"):
        load_procedure_file(_write(tmp_path, "ambiguous.yaml", data))


# ------------------------------------------------------------------ admin folder


def test_admin_folder_file_overrides_shipped_item_with_same_code(tmp_path: Path) -> None:
    data = _shipped("fuel_dispenser.yaml")
    data["name_en"] = "fuel dispenser (local override)"
    _write(tmp_path, "my_fuel.yaml", data)
    procedures = load_procedures(tmp_path)
    assert procedures["fuel_dispenser"].name_en == "fuel dispenser (local override)"
    assert procedures["fuel_dispenser"].path == tmp_path / "my_fuel.yaml"
    assert "nawi" in procedures


def test_admin_folder_file_with_new_item_code_adds_an_item(tmp_path: Path) -> None:
    data = _shipped("gas_meter.yaml")
    data["item_code"] = "gas_meter_local"
    _write(tmp_path, "local.yaml", data)
    procedures = load_procedures(tmp_path)
    assert "gas_meter_local" in procedures and "gas_meter" in procedures


def test_two_files_with_one_item_code_in_a_folder_are_rejected(tmp_path: Path) -> None:
    data = _shipped("gas_meter.yaml")
    _write(tmp_path, "a.yaml", data)
    _write(tmp_path, "b.yaml", data)
    with pytest.raises(ProcedureFileError, match="also defined"):
        load_procedures(tmp_path)


def test_bad_file_in_admin_folder_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "oops.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ProcedureFileError, match="oops.yaml"):
        load_procedures(tmp_path)


# ------------------------------------------------------------------ the regulation's tests


def _test_of(data: dict[str, Any], test_id: str) -> dict[str, Any]:
    return next(t for t in data["editions"][0]["tests"] if t["id"] == test_id)


def test_a_test_naming_an_unknown_point_is_rejected(tmp_path: Path) -> None:
    data = _shipped("nawi.yaml")
    _test_of(data, "eccentricity")["points"] = ["corner"]
    with pytest.raises(ProcedureFileError, match="unknown point 'corner'") as caught:
        load_procedure_file(_write(tmp_path, "bad_test.yaml", data))
    assert caught.value.field == "editions[0].tests[1].points"


def test_a_point_in_no_test_is_rejected(tmp_path: Path) -> None:
    data = _shipped("nawi.yaml")
    _test_of(data, "tare")["points"] = ["zero_setting"]
    with pytest.raises(ProcedureFileError, match="point 'tare' belongs to no test"):
        load_procedure_file(_write(tmp_path, "orphan.yaml", data))


def test_e0_without_the_changeover_method_is_rejected(tmp_path: Path) -> None:
    data = _shipped("nawi.yaml")
    _test_of(data, "weighing")["method"] = "reading"
    with pytest.raises(ProcedureFileError, match="changeover-point method"):
        load_procedure_file(_write(tmp_path, "no_changeover.yaml", data))


def test_a_discrimination_test_states_its_extra_load(tmp_path: Path) -> None:
    data = _shipped("nawi.yaml")
    del _test_of(data, "discrimination")["extra_load_d"]
    with pytest.raises(ProcedureFileError, match="extra load"):
        load_procedure_file(_write(tmp_path, "no_extra.yaml", data))


def test_a_rule_limited_to_an_unknown_test_is_rejected(tmp_path: Path) -> None:
    data = _shipped("nawi.yaml")
    data["editions"][0]["rules"][0]["applies_to"]["tests"] = ["weighin"]
    with pytest.raises(ProcedureFileError, match="unknown test 'weighin'"):
        load_procedure_file(_write(tmp_path, "typo.yaml", data))


def test_an_edition_without_declared_tests_stands_no_stronger_than_its_weakest_rule() -> None:
    # mpe_rules.csv: JJG 443-2015 volume error "high"; the EV AC charger's energy-error rows are "low"
    procedures = load_procedures()
    [fuel] = procedures["fuel_dispenser"].editions[0].tests
    [charger] = procedures["ev_charger_ac"].editions[0].tests
    assert (fuel.name_zh, fuel.confidence) == ("示值误差", "high")
    assert charger.confidence == "low"
