"""The whole path over HTTP: register, apply, record, check, approve, then the public QR check."""

from __future__ import annotations

from datetime import date

from jiliang.platform import shanghai_today
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import jjg539, world


def test_whole_workflow_over_http(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    code = world.new_credit_code()
    r = client.post(
        "/public/owners",
        json={
            "credit_code": code,
            "name": "徐汇某超市",
            "district_code": "310104",
            "username": "shop1",
            "password": "shop-pass-1",
        },
    )
    assert r.status_code == 201, r.text
    owner_id = r.json()["owner_id"]
    assert client.post(f"/api/owners/{owner_id}/decision", json={"approve": True}, headers=admin).status_code == 200
    shop = login(client, "shop1", "shop-pass-1")
    type_id = world.type_id(platform, "nawi", "数字指示秤/电子计价秤")
    r = client.post(
        "/api/instruments",
        headers=shop,
        json={
            "item_code": "nawi",
            "name": "电子计价秤",
            "serial_no": "A-1",
            "use": "trade",
            "type_id": type_id,
            "procedure_code": "nawi",
            "parameters": {"accuracy_class": "III", "e": "0.005"},
        },
    )
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    r = client.post("/api/applications", headers=shop, json={"instrument_ids": [iid]})
    assert r.status_code == 201, r.text
    [task] = r.json()["task_ids"]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    v = login(client, lab.verifier.username, world.PASSWORD)
    assert [t["id"] for t in client.get("/api/tasks", headers=v).json()] == [task]
    r = client.post(
        f"/api/tasks/{task}/results",
        headers=v,
        json={
            "password": world.PASSWORD,
            "performed_on": str(shanghai_today()),
            "standard_ids": [lab.standard_id],
            "stage": "subsequent",
            # a subsequent verification records every JJG 539 test (tests/support/jjg539.py), all passing
            "readings": jjg539.as_json(jjg539.complete()),
        },
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["verdict"] == "pass"
    c = login(client, lab.checker.username, world.PASSWORD)
    assert client.post(f"/api/records/{rid}/check", headers=c, json={"password": world.PASSWORD}).status_code == 200
    a = login(client, lab.approver.username, world.PASSWORD)
    r = client.post(f"/api/records/{rid}/approve", headers=a, json={"password": world.PASSWORD})
    assert r.status_code == 200, r.text
    number = r.json()["certificate"]
    cert = client.get(f"/api/certificates/{number}", headers=shop).json()
    assert cert["signature_valid"] is True
    qr = cert["qr"]  # the QR code leads to the page; machines read the same number and token as JSON
    assert qr.startswith(f"/public/verify/{number}?token=")
    assert client.get(qr).headers["content-type"].startswith("text/html")
    facts = client.get(qr.replace("/public/verify/", "/public/certificates/", 1)).json()
    assert facts["status"] == "valid" and facts["signature_valid"] is True
    assert client.get(f"/public/certificates/{number}").json() == {"number": number, "status": "valid"}
    assert isinstance(date.fromisoformat(facts["verification_date"]), date)


def test_staff_see_their_standards_with_the_items_they_serve(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi", "fuel_dispenser"])
    other = world.make_lab(platform, "D310101", ["nawi"])
    standards = client.get("/api/standards", headers=login(client, lab.verifier.username, world.PASSWORD)).json()
    mine = {s["id"]: s for s in standards}
    assert mine[lab.standard_id]["items"] == ["fuel_dispenser", "nawi"]
    assert other.standard_id not in mine
