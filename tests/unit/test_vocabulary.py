"""The vocabulary names codes in the page's language, from data that has a name in both languages: every
catalogue item and regulation edition has an English name, a budget's environment input is declared with
its names and unit, and what the data states in one language only (a regulation's note, a type named by a
certificate in Chinese) is named in the other."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jiliang.measurement.procedure import SHIPPED_DIR, ProcedureFileError, load_procedure_file, load_procedures
from jiliang.registry.catalogue import CATALOGUE_MAP, CatalogueError, load_catalogue
from jiliang.web.vocabulary import Names, english_names

PROCEDURES = load_procedures()
ZH, EN = Names("zh-CN", PROCEDURES), Names("en", PROCEDURES)


def test_every_catalogue_item_and_regulation_edition_has_an_english_name() -> None:
    assert all(item.name_en for item in load_catalogue().items)
    assert all(e.title_en for p in PROCEDURES.values() for e in p.editions)


def test_a_catalogue_item_without_an_english_name_fails_loading_naming_it(tmp_path: Path) -> None:
    raw = yaml.safe_load(CATALOGUE_MAP.read_text(encoding="utf-8"))
    del raw["item_names_en"]["awi"]
    map_path = tmp_path / "map.yaml"
    map_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match="awi"):
        load_catalogue(map_path=map_path)


def test_a_budget_input_from_the_environment_must_be_declared_with_its_names(tmp_path: Path) -> None:
    data = yaml.safe_load((SHIPPED_DIR / "thermometer_calibration.yaml").read_text(encoding="utf-8"))
    del data["environment"]
    path = tmp_path / "thermometer.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ProcedureFileError) as caught:
        load_procedure_file(path)
    assert caught.value.field == "editions[0].uncertainty.budget.parameters" and "bath_uniformity" in str(caught.value)


def test_items_are_named_by_code_or_by_the_chinese_name_a_certificate_states() -> None:
    assert (ZH.item("nawi"), EN.item("nawi")) == ("非自动衡器", "Non-automatic weighing instrument")
    assert EN.item("非自动衡器") == "Non-automatic weighing instrument"
    assert (ZH.item(None), EN.item(None)) == ("目录外", "Outside the catalogue")


def test_a_type_named_in_chinese_or_in_the_catalogues_other_wording_has_its_english_name() -> None:
    assert EN.type("电动汽车交流充电桩") == "EV AC charger"
    assert EN.type("交流充电桩") == "EV AC charger"  # the catalogue's wording of the same type
    assert EN.type("某种新型式") == "某种新型式"  # no English name anywhere: its Chinese name, never a code
    names = english_names({"电动汽车交流充电桩": "EV AC charger"}, {"SIMT": "Shanghai Institute"})
    assert names["types"]["交流充电桩"] == "EV AC charger" and names["institutions"] == {"SIMT": "Shanghai Institute"}
    assert names["items"]["电动汽车充电桩"] == "Electric vehicle charger"


def test_environment_conditions_typed_as_numbers_take_their_unit() -> None:
    thermometer = PROCEDURES["thermometer_calibration"]
    assert ZH.environment("temperature", "20.5") == ("环境温度", "20.5 °C")
    assert EN.environment("humidity", "55") == ("Relative humidity", "55 %RH")
    assert ZH.environment("temperature", "20.5 ℃") == ("环境温度", "20.5 ℃")  # typed with its unit: as typed
    assert EN.environment("bath_uniformity", "0.01", thermometer) == (
        "Bath temperature uniformity (half-width)",
        "0.01 °C",
    )


def test_instrument_parameters_are_named_by_their_procedure_with_units() -> None:
    assert ZH.parameter("nawi", "e", "0.005") == ("检定分度值 e", "0.005 kg")
    assert EN.parameter(None, "accuracy_class", "III") == ("Accuracy class", "III")


def test_a_regulations_note_and_a_method_in_words_read_in_the_pages_language() -> None:
    assert ZH.regulation("JJG 1148-2022 (试行)") == "JJG 1148-2022（试行）"
    assert EN.regulation("JJG 1148-2022 (试行)") == "JJG 1148-2022 (trial)"
    assert ZH.regulation("JJG 539 (edition not checked)") == "JJG 539（版本未核实）"
    assert EN.regulation("JJG 527 / JJG 528 (editions not checked)") == "JJG 527 / JJG 528 (editions not checked)"
    assert EN.regulation("比较法校准（恒温槽）") == "calibration by comparison in a liquid bath"
    assert (ZH.regulation("委托校准 / calibration"), EN.regulation("委托校准 / calibration")) == (
        "委托校准",
        "calibration",
    )
    assert EN.edition(PROCEDURES["nawi"].editions[0]) == "JJG 539-2016 Digital indicating scales"
