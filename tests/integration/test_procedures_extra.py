"""Procedures from the administrator's folder (settings.procedures_dir): a new item works end to end,
and a malformed file is refused naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.certificates.tables import certificates
from jiliang.measurement.procedure import ProcedureFileError
from jiliang.registry import service as registry
from jiliang.registry.tables import catalogue_items
from jiliang.verification import service as workflow
from jiliang.verification import tables as vtables
from tests.conftest import login
from tests.support import world

# A fictitious flow meter under a fictitious regulation: every number here is made up for the test.
TEST_METER = """\
item_code: test_meter
name_zh: 测试流量计
name_en: test flow meter
catalogue_item_zh: 流量计
instrument_types_zh: [测试流量计]
instrument_parameters:
  - {name: resolution, label_zh: 分辨力, label_en: resolution, kind: number, unit: m3, required: true}
editions:
  - regulation: JJG 0000-TEST
    title_zh: 测试流量计（虚构，仅供测试）
    effective_from: null
    effective_until: null
    points:
      - {id: q_low, label_zh: 小流量点, label_en: low flow, nominal: "0.1 Qmax", unit: m3}
      - {id: q_high, label_zh: 大流量点, label_en: high flow, nominal: "Qmax", unit: m3}
    rules:
      - id: flow_error
        stage: any
        accuracy_class: null
        quantity: flow indication error
        applies_to: {points: [q_low, q_high]}
        kind: relative_percent
        mpe: "1.0"
        unit: "%"
        source: "fictitious test procedure (tests/integration/test_procedures_extra.py)"
        confidence: high
        confirmed: true
"""


def _write(folder: Path | None, name: str, text: str) -> Path:
    assert folder is not None
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _meter(platform, owner) -> int:
    return registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code="flowmeter",
            name="测试流量计",
            serial_no="TM-001",
            use="trade",
            procedure_code="test_meter",
            manufacturer="虚构仪表厂",
            model="T-1",
            parameters={"resolution": "0.001"},
        ),
    )


def test_the_fictitious_meter_belongs_to_an_existing_catalogue_item(platform):
    with platform.engine.connect() as c:
        assert (
            c.execute(select(catalogue_items.c.name_zh).where(catalogue_items.c.code == "flowmeter")).scalar_one()
            == "流量计"
        )


def test_procedure_from_the_admin_folder_runs_the_workflow_to_a_certificate(platform_with_procedures):
    platform = platform_with_procedures
    _write(platform.settings.procedures_dir, "test_meter.yaml", TEST_METER)
    assert platform.procedures["test_meter"].editions[0].regulation == "JJG 0000-TEST"
    assert "fuel_dispenser" in platform.procedures  # the shipped procedures are still there

    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "SIMT", ["flowmeter"])  # district institutes are not authorised for it
    passing, failing = _meter(platform, owner), _meter(platform, owner)
    t_pass, t_fail = workflow.apply(platform.uow(), owner, [passing, failing])
    ok = world.verify(
        platform,
        lab,
        t_pass,
        [workflow.ReadingInput("q_low", "10.000", "10.090"), workflow.ReadingInput("q_high", "100.00", "99.10")],
    )
    bad = world.verify(
        platform,
        lab,
        t_fail,
        [workflow.ReadingInput("q_low", "10.000", "10.000"), workflow.ReadingInput("q_high", "100.00", "101.10")],
    )
    with platform.engine.connect() as c:
        rows = {r.number: r for r in c.execute(select(certificates).where(certificates.c.number.in_([ok, bad])))}
    assert ok.startswith("SIMT-") and rows[ok].kind == "verification"
    assert rows[bad].kind == "nonconformity"  # 1.1 % is outside the file's ±1.0 %
    payload = json.loads(rows[ok].payload)
    assert payload["record"]["regulation"] == "JJG 0000-TEST"
    assert payload["record"]["procedure_code"] == "test_meter"
    assert [(p["point_id"], p["rule_id"], p["mpe_upper"]) for p in payload["points"]] == [
        ("q_low", "flow_error", "1.0"),
        ("q_high", "flow_error", "1.0"),
    ]


def test_reading_at_a_point_the_admin_procedure_does_not_define_is_refused(platform_with_procedures):
    platform = platform_with_procedures
    _write(platform.settings.procedures_dir, "test_meter.yaml", TEST_METER)
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "SIMT", ["flowmeter"])
    [task] = workflow.apply(platform.uow(), owner, [_meter(platform, owner)])
    from jiliang.errors import InvalidInput

    with pytest.raises(InvalidInput) as err:
        world.verify(platform, lab, task, [workflow.ReadingInput("volume", "20.00", "20.00")])
    assert err.value.rule == "readings" and "volume" in err.value.message
    with platform.engine.connect() as c:
        assert c.execute(select(vtables.verification_records)).first() is None


def test_admin_procedure_is_listed_by_the_api(platform_with_procedures):
    platform = platform_with_procedures
    _write(platform.settings.procedures_dir, "test_meter.yaml", TEST_METER)
    lab = world.make_lab(platform, "SIMT", ["flowmeter"])
    with TestClient(create_app(platform)) as client:
        r = client.get("/api/procedures", headers=login(client, lab.verifier.username, world.PASSWORD))
    assert r.status_code == 200
    listed = {p["code"]: p for p in r.json()}
    assert listed["test_meter"]["editions"][0]["points"] == ["q_low", "q_high"]
    assert "nawi" in listed


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        (TEST_METER.replace('mpe: "1.0"', 'mpe: "one percent"'), "editions[0].rules[0].mpe"),
        (TEST_METER.replace("        kind: relative_percent\n", ""), "editions[0].rules[0].kind"),
        (
            TEST_METER.replace("points: [q_low, q_high]}", "points: [q_low, q_mid]}"),
            "editions[0].rules[0].applies_to.points",
        ),
        (TEST_METER.replace('unit: "%"', "unit: m3"), "editions[0].rules[0].unit"),
    ],
)
def test_malformed_admin_procedure_is_refused_naming_the_file_and_field(platform_with_procedures, broken, field):
    platform = platform_with_procedures
    path = _write(platform.settings.procedures_dir, "broken_meter.yaml", broken)
    with pytest.raises(ProcedureFileError) as err:
        platform.procedures  # noqa: B018 - loading is the act under test
    assert err.value.path == path and err.value.field == field
    assert "broken_meter.yaml" in str(err.value) and field in str(err.value)


def test_admin_procedure_that_is_not_yaml_is_refused_naming_the_file(platform_with_procedures):
    platform = platform_with_procedures
    _write(platform.settings.procedures_dir, "garbled.yaml", "item_code: [unclosed\n")
    with pytest.raises(ProcedureFileError) as err:
        platform.procedures  # noqa: B018
    assert err.value.path.name == "garbled.yaml" and "not valid YAML" in str(err.value)
