"""The mandatory catalogue loaded from the shipped reference CSVs through catalogue_map.yaml."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
import yaml

from jiliang.registry.catalogue import (
    CATALOGUE_CSV,
    CATALOGUE_MAP,
    PERIODS_CSV,
    REFERENCE_DIR,
    Catalogue,
    CatalogueError,
    load_catalogue,
)


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def test_every_catalogue_row_is_loaded(catalogue: Catalogue) -> None:
    rows = _rows(CATALOGUE_CSV)
    assert len(catalogue.items) == len(rows)
    assert [item.name_zh for item in catalogue.items] == [row["item_zh"] for row in rows]


def test_every_period_row_is_loaded(catalogue: Catalogue) -> None:
    rows = _rows(PERIODS_CSV)
    assert len(catalogue.types) == len(rows)
    assert [t.name_zh for t in catalogue.types] == [row["instrument_zh"] for row in rows]


def test_low_confidence_rows_are_kept_with_their_confidence(catalogue: Catalogue) -> None:
    expected = [row["confidence"] for row in _rows(CATALOGUE_CSV)]
    assert [item.confidence for item in catalogue.items] == expected
    assert "low" in expected
    assert [t.confidence for t in catalogue.types] == [row["confidence"] for row in _rows(PERIODS_CSV)]


def test_item_codes_are_unique_ascii_slugs(catalogue: Catalogue) -> None:
    codes = [item.code for item in catalogue.items]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)


@pytest.mark.parametrize(
    ("name_zh", "code"),
    [
        ("非自动衡器", "nawi"),
        ("燃油加油机", "fuel_dispenser"),
        ("血压计(表)", "sphygmomanometer"),
        ("水表", "water_meter"),
        ("燃气表", "gas_meter"),
        ("电动汽车充电桩", "ev_charger"),
        ("体温计", "clinical_thermometer"),
        ("出租汽车计价器", "taximeter"),
        ("电能表", "energy_meter"),
        ("机动车测速仪", "speed_meter"),
        ("呼出气体酒精含量检测仪", "breath_alcohol"),
        ("心、脑电图仪", "ecg_eeg"),
    ],
)
def test_items_have_their_agreed_codes(catalogue: Catalogue, name_zh: str, code: str) -> None:
    assert catalogue.item(code).name_zh == name_zh


@pytest.mark.parametrize(
    ("type_zh", "code"),
    [
        ("数字指示秤/电子计价秤", "nawi"),
        ("饮用冷水水表 DN<=25", "water_meter"),
        ("电动汽车交流充电桩", "ev_charger"),
        ("玻璃体温计", "clinical_thermometer"),
        ("电子式交流电能表", "energy_meter"),
    ],
)
def test_period_rows_belong_to_their_items(catalogue: Catalogue, type_zh: str, code: str) -> None:
    assert type_zh in [t.name_zh for t in catalogue.types_of(code)]


def test_item_cells_are_kept(catalogue: Catalogue) -> None:
    water = catalogue.item("water_meter")
    assert water.mode == "first_only_limited_use"
    assert water.mode_text == "first_only_limited_use_rotation"
    assert water.scope == "贸易结算"
    assert water.confidence == "high"
    assert "JJG 162-2019" in water.period_note
    assert water.types_zh == ()  # the cell describes a size range, not type names
    assert water.types_text.startswith("DN15~DN50")


def test_type_names_are_read_from_the_catalogue_cell(catalogue: Catalogue) -> None:
    assert catalogue.item("sphygmomanometer").types_zh == ("血压计", "血压表")
    assert catalogue.item("ev_charger").types_zh == ("交流充电桩", "非车载充电机")
    assert catalogue.item("nawi").types_zh == ()  # "not confirmed (e.g. …)"


def test_an_expected_or_believed_mode_is_unknown(catalogue: Catalogue) -> None:
    assert catalogue.item("awi").mode == "unknown"
    assert catalogue.item("awi").mode_text == "periodic (expected)"
    assert catalogue.item("energy_meter").mode == "unknown"


def test_type_cells_are_kept(catalogue: Catalogue) -> None:
    (fuel,) = catalogue.types_of("fuel_dispenser")
    assert fuel.regulation == "JJG 443-2015"
    assert fuel.name_en == "fuel dispenser"
    assert fuel.other_limits.startswith("MPE")
    assert fuel.period.source == fuel.source and fuel.period.confidence == "high"


def test_period_for_fuel_dispenser_is_six_months(catalogue: Catalogue) -> None:
    assert catalogue.period_for("fuel_dispenser", "燃油加油机").months == 6
    assert catalogue.period_for("fuel_dispenser").months == 6  # single type


def test_period_for_accepts_the_catalogue_wording_of_a_type(catalogue: Catalogue) -> None:
    assert catalogue.period_for("sphygmomanometer", "血压表").months == 6
    assert catalogue.period_for("nawi", "电子计价秤").note.startswith("not confirmed")


def test_period_for_water_meter_depends_on_the_type(catalogue: Catalogue) -> None:
    assert catalogue.period_for("water_meter", "饮用冷水水表 DN<=25").service_life_months == 72
    assert catalogue.period_for("water_meter", "饮用冷水水表 25<DN<=50").service_life_months == 48
    assert catalogue.period_for("water_meter", "饮用冷水水表 DN>50 or Q3>16").months == 24
    assert not catalogue.period_for("water_meter").is_known  # several types: name one


def test_period_for_is_unknown_when_the_data_gives_none(catalogue: Catalogue) -> None:
    assert catalogue.period_for("taximeter", "出租汽车计价器").months is None
    for code in ("sound_level_meter", "load_cell", "gas_detector"):
        period = catalogue.period_for(code)
        assert not period.is_known and period.months is None, code
    assert not catalogue.period_for("fuel_dispenser", "不存在的类型").is_known


def test_unknown_item_code_is_a_key_error(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError, match="no_such_item"):
        catalogue.item("no_such_item")
    with pytest.raises(KeyError):
        catalogue.types_of("no_such_item")


def test_the_map_holds_no_regulatory_numbers() -> None:
    raw = yaml.safe_load(CATALOGUE_MAP.read_text(encoding="utf-8"))
    for value in list(raw["items"].values()) + list(raw["types"].values()):
        assert not re.search(r"\d", value), value


def _copy_reference(tmp_path: Path) -> Path:
    for name in (CATALOGUE_CSV, PERIODS_CSV):
        shutil.copy(REFERENCE_DIR / name, tmp_path / name)
    return tmp_path


def test_a_csv_row_missing_from_the_map_fails_loading_naming_the_row(tmp_path: Path) -> None:
    ref = _copy_reference(tmp_path)
    with (ref / PERIODS_CSV).open("a", encoding="utf-8") as handle:
        handle.write("新器具,new instrument,JJG 0,,periodic,1 year,,test,low\n")
    with pytest.raises(CatalogueError, match="新器具"):
        load_catalogue(ref)


def test_a_stale_map_entry_fails_loading(tmp_path: Path) -> None:
    raw = yaml.safe_load(CATALOGUE_MAP.read_text(encoding="utf-8"))
    raw["types"]["不存在的器具"] = "nawi"
    map_path = tmp_path / "map.yaml"
    map_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match="不存在的器具"):
        load_catalogue(REFERENCE_DIR, map_path)


def test_a_bad_confidence_cell_fails_loading_naming_the_line(tmp_path: Path) -> None:
    ref = _copy_reference(tmp_path)
    text = (ref / PERIODS_CSV).read_text(encoding="utf-8").replace(",high\n", ",sure\n", 1)
    (ref / PERIODS_CSV).write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"line 2.*sure"):
        load_catalogue(ref)
