"""Administrators correct the catalogue (versioned, audited, with a source) and confirm MPE rules."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from jiliang.platform import shanghai_today
from jiliang.registry.periods import add_months
from jiliang.verification import service as workflow
from jiliang.verification.tables import verification_records
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import world


def test_period_entered_with_a_source_applies_to_later_verifications_and_is_audited(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    type_id = world.type_id(platform, "nawi", "数字指示秤/电子计价秤")
    item = next(i for i in client.get("/api/catalogue", headers=admin).json() if i["code"] == "nawi")
    assert next(t for t in item["types"] if t["id"] == type_id)["period"] == "未知 / unknown"
    r = client.patch(f"/api/catalogue/types/{type_id}", headers=admin, json={"period_months": 12})
    assert r.status_code == 422  # no source: refused
    r = client.patch(
        f"/api/catalogue/types/{type_id}",
        headers=admin,
        json={"period_months": 12, "mode": "periodic", "source": "JJG 539-2016 §7.4 (printed text)"},
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    trail = client.get(f"/api/audit/catalogue_type/{type_id}", headers=admin).json()
    assert trail[-1]["before"]["period_months"] is None and trail[-1]["after"]["period_months"] == 12
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    on = shanghai_today() - timedelta(days=2)
    number = world.verify(platform, lab, task, on=on)
    cert = client.get(f"/api/certificates/{number}", headers=admin).json()
    assert cert["valid_until"] == str(add_months(on, 12) - timedelta(days=1))


def test_verifier_cannot_change_the_catalogue(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    v = login(client, lab.verifier.username, world.PASSWORD)
    r = client.patch(
        f"/api/catalogue/types/{world.type_id(platform, 'nawi', '数字指示秤/电子计价秤')}",
        headers=v,
        json={"period_months": 1, "source": "x"},
    )
    assert r.status_code == 403


def test_unconfirmed_rule_gives_advisory_verdicts_until_an_administrator_confirms_it(platform, client):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    # the JJG 539 rule still unconfirmed is tare-setting (0.25e, from memory); zero-setting is now sourced and
    # confirmed. ΔL = e/2 (changeover-point method, d = e): E = I + e/2 − ΔL − L = 0.
    tare = [workflow.ReadingInput("tare", "0.000", "0.000", added_load="0.0025"), *world.SCALE_PASS]
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    first = world.record(platform, lab, task, tare)
    admin = login(client, "admin", ADMIN_PASSWORD)
    rules = {
        r["id"]: r
        for e in next(p for p in client.get("/api/procedures", headers=admin).json() if p["code"] == "nawi")["editions"]
        for r in e["rules"]
    }
    assert rules["tare_setting"]["confirmed"] is False and rules["tare_setting"]["confidence"] == "low"
    r = client.post("/api/procedures/nawi/rules/tare_setting/confirm", headers=admin)
    assert r.status_code == 200
    assert client.post("/api/procedures/nawi/rules/tare_setting/confirm", headers=admin).status_code == 409
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), first, accept=False, remark="redo")
    second = world.record(platform, lab, task, tare)
    with platform.engine.connect() as c:
        advisory = dict(c.execute(select(verification_records.c.id, verification_records.c.advisory)).all())
    assert advisory[first] is True and advisory[second] is False
