"""A JJG 539 verification recorded as the regulation's tests, end to end on the real database and over
HTTP: what the record, the certificate and the public check carry; incomplete records refused; in-service
inspections never renewing validity; the new columns under the ledger's audit."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from jiliang.api import create_app
from jiliang.certificates.tables import certificates
from jiliang.ledger.auditor import audit
from jiliang.platform import shanghai_today
from jiliang.registry.tables import instruments
from jiliang.verification import service as workflow
from jiliang.verification.tables import measurement_points, verification_records
from tests.conftest import login
from tests.support import jjg539, tamper, world
from tests.support.work_pages import log_in

JJG539_TESTS = {"weighing", "eccentricity", "repeatability", "discrimination", "zero_setting"}


def _scale_task(platform, lab_items=("nawi",)):
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", list(lab_items))
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    return owner, lab, task


def _results(lab, readings, stage="subsequent"):
    return {
        "password": world.PASSWORD,
        "performed_on": str(shanghai_today()),
        "standard_ids": [lab.standard_id],
        "stage": stage,
        "readings": readings,
    }


def test_the_record_and_certificate_carry_each_test_the_changeover_error_and_each_rules_standing(platform, client):
    _, lab, task = _scale_task(platform)
    v = login(client, lab.verifier.username, world.PASSWORD)
    # the whole test, plus a tare reading, whose ±0.25e rule ships unconfirmed (advisory)
    readings = [*jjg539.complete(), jjg539.changeover("tare", Decimal(0), Decimal(0))]
    r = client.post(f"/api/tasks/{task}/results", headers=v, json=_results(lab, jjg539.as_json(readings)))
    assert r.status_code == 201, r.text
    rec = r.json()
    assert {t["id"] for t in rec["tests"]} == JJG539_TESTS | {"tare"}
    assert all(t["verdict"] == "pass" for t in rec["tests"] if t["id"] != "tare")
    load = next(p for p in rec["points"] if p["point_id"] == "load")
    # E = I + ½e − ΔL − L with I = L: 0.0025 − ΔL; the helper chose ΔL = 0.0025 for E = 0
    assert load["added_load"] == "0.0025" and Decimal(load["error"]) == 0 and Decimal(load["corrected_error"]) == 0
    assert load["rule_confidence"] == "medium" and "gfjl.org" in load["rule_source"]
    assert rec["advisory"] is True
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rec["id"])
    number = workflow.approve_record(platform.uow(), world.confirm(platform, lab.approver), rec["id"])
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
    payload = json.loads(cert.payload)
    assert [t["name_zh"] for t in payload["tests"]][:2] == ["称量测试", "偏载测试"]
    assert {p.get("rule_confidence") for p in payload["points"]} >= {"medium", "low"}
    # the QR check's JSON: each test and each limit's source, in the visitor's language
    qr = f"/public/certificates/{number}?token={cert.public_token}"
    zh = client.get(qr).json()
    en = client.get(qr, headers={"Accept-Language": "en"}).json()
    assert zh["advisory"] is True and "参考" in zh["advisory_note"] and "advisory" in en["advisory_note"]
    assert {"name": "偏载测试", "verdict": "pass"} in zh["tests"]
    assert {"name": "eccentricity test", "verdict": "pass"} in en["tests"]
    tare = next(rule for rule in en["rules"] if rule["confidence"] == "low")
    assert tare["advisory"] is True and tare["standing"] == "unconfirmed"
    # the record and certificate pages name each test with its verdict, in the page's language
    with TestClient(create_app(platform)) as browser:
        log_in(browser, lab.approver.username)
        record_page = browser.get(f"/work/records/{rec['id']}").text
        assert 'data-test="eccentricity" data-verdict="pass"' in record_page and "偏载测试" in record_page
        assert "未确认" in record_page and "tare_setting" not in record_page  # standing in words, not rule codes
        page = browser.get(f"/work/certificates/{number}").text
        assert 'id="certificate-tests"' in page and "称量测试" in page and "除皮准确度" in page
    assert audit(platform).clean


def test_a_verification_without_every_test_of_the_regulation_is_refused_and_nothing_is_written(platform, client):
    _, lab, task = _scale_task(platform)
    v = login(client, lab.verifier.username, world.PASSWORD)
    weighing_only = jjg539.as_json(jjg539.weighing())
    r = client.post(f"/api/tasks/{task}/results", headers=v, json=_results(lab, weighing_only))
    assert r.status_code == 422 and r.json()["rule"] == "tests_incomplete"
    assert "偏载测试" in r.json()["detail"] and "eccentricity test" in r.json()["detail"]
    with platform.engine.connect() as c:
        assert (
            c.execute(select(verification_records.c.id).where(verification_records.c.task_id == task)).first() is None
        )
    # an in-service inspection needs only the weighing test
    r = client.post(f"/api/tasks/{task}/results", headers=v, json=_results(lab, weighing_only, stage="in_service"))
    assert r.status_code == 201, r.text
    assert [t["id"] for t in r.json()["tests"]] == ["weighing"]


def test_a_reading_without_its_added_load_names_the_row(platform, client):
    _, lab, task = _scale_task(platform)
    v = login(client, lab.verifier.username, world.PASSWORD)
    readings = jjg539.as_json(jjg539.complete())
    del readings[1]["added_load"]
    r = client.post(f"/api/tasks/{task}/results", headers=v, json=_results(lab, readings))
    assert r.status_code == 422 and "ΔL" in r.json()["detail"]


def test_an_in_service_inspection_never_renews_validity_and_a_failed_one_bars_the_instrument(platform):
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    iid = world.fuel_dispenser(platform, owner)
    ok = [workflow.ReadingInput("volume", "20.00", "20.02")]
    bad = [workflow.ReadingInput("volume", "20.00", "20.20")]  # +1.0 %, MPE ±0.30 %
    [task] = workflow.apply(platform.uow(), owner, [iid])
    world.verify(platform, lab, task, ok, stage="subsequent", on=shanghai_today() - timedelta(days=3))

    def instrument():
        with platform.engine.connect() as c:
            return c.execute(select(instruments).where(instruments.c.id == iid)).one()

    before = instrument()
    assert before.valid_until is not None and not before.barred
    [task] = workflow.apply(platform.uow(), owner, [iid])
    number = world.verify(platform, lab, task, ok, stage="in_service")
    after = instrument()
    assert after.valid_until == before.valid_until and after.last_verified_on == before.last_verified_on
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
    assert cert.valid_until is None and json.loads(cert.payload)["valid_until"] is None
    [task] = workflow.apply(platform.uow(), owner, [iid])
    world.verify(platform, lab, task, bad, stage="in_service")
    assert instrument().barred is True


def test_changing_a_recorded_added_load_or_a_rules_standing_is_named_by_the_audit(platform):
    _, lab, task = _scale_task(platform)
    rid = world.record(platform, lab, task)
    assert audit(platform).clean
    with platform.engine.connect() as c:
        point = c.execute(
            select(measurement_points.c.id).where(
                measurement_points.c.record_id == rid, measurement_points.c.point_id == "load"
            )
        ).first()
    tamper.sql(platform, update(measurement_points).where(measurement_points.c.id == point.id).values(added_load="0"))
    assert {(f.table, f.id) for f in audit(platform).findings} == {
        ("measurement_points", str(point.id)),
        ("verification_records", str(rid)),  # no longer the content its verifier signed
    }
    tamper.sql(
        platform,
        update(measurement_points).where(measurement_points.c.id == point.id).values(added_load="0.0025"),
    )
    assert audit(platform).clean
    tamper.sql(
        platform, update(measurement_points).where(measurement_points.c.id == point.id).values(rule_confidence="high")
    )
    assert not audit(platform).clean


def test_an_electricity_meter_is_verified_once_and_gets_a_replace_by_date_from_its_service_life(platform):
    # verification_periods.csv: 电子式交流电能表 JJG 596-2012 "first_only_limited_use_rotation", "8 years (rotation)"
    from jiliang.registry import service as registry
    from jiliang.registry.periods import add_months

    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "SIMT", ["energy_meter"])  # the city institute: energy meters are its item
    iid = registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code="energy_meter",
            name="单相电子式电能表",
            serial_no="EM0001",
            use="trade",
            type_id=world.type_id(platform, "energy_meter", "电子式交流电能表"),
            procedure_code="energy_meter",
            parameters={"accuracy_class": "2", "resolution": "0.0001"},
        ),
    )
    [task] = workflow.apply(platform.uow(), owner, [iid])
    # JJG 596-2012 class 2 basic error: ±2.5 % (low current bands), ±2.0 % (0.1 Ib or 0.2 Ib up to Imax)
    readings = [
        workflow.ReadingInput("pf1_low", "1.0000", "1.0250"),
        workflow.ReadingInput("pf1", "10.0000", "9.8000"),
        workflow.ReadingInput("pf05_low", "1.0000", "0.9750"),
        workflow.ReadingInput("pf05", "5.0000", "5.1000"),
    ]
    on = shanghai_today() - timedelta(days=3)
    number = world.verify(platform, lab, task, readings, stage="initial", on=on)
    with platform.engine.connect() as c:
        payload = json.loads(c.execute(select(certificates.c.payload).where(certificates.c.number == number)).scalar())
        inst = c.execute(select(instruments).where(instruments.c.id == iid)).one()
    assert payload["conclusion"].startswith("合格") and [t["name_zh"] for t in payload["tests"]] == ["基本误差"]
    assert payload["valid_until"] is None and payload["replace_by"] == str(add_months(on, 96) - timedelta(days=1))
    assert inst.replace_by == add_months(on, 96) - timedelta(days=1)
