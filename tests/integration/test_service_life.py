"""First-verification-only instruments with a limited service life get a replace-by date, not a
valid-until date (verification_periods.csv: 饮用冷水水表 DN<=25, service life <= 6 years)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from jiliang.certificates.tables import certificates
from jiliang.errors import RuleViolation
from jiliang.platform import shanghai_today
from jiliang.registry.periods import add_months
from jiliang.registry.tables import instruments
from jiliang.verification import service as workflow
from jiliang.verification import tables as vtables
from tests.conftest import login
from tests.support import world

WATER = [
    workflow.ReadingInput("Q1", "10.00", "10.30"),
    workflow.ReadingInput("Q2", "10.00", "10.10"),
    workflow.ReadingInput("Q3", "100.0", "101.0"),
]


def test_domestic_water_meter_gets_a_replace_by_date_six_years_on(platform, client):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["water_meter"])
    iid = world.water_meter(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    on = shanghai_today() - timedelta(days=10)
    number = world.verify(platform, lab, task, WATER, stage="initial", on=on)
    expected = add_months(on, 72) - timedelta(days=1)
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
        inst = c.execute(select(instruments).where(instruments.c.id == iid)).one()
    payload = json.loads(cert.payload)
    assert cert.kind == "verification" and payload["replace_by"] == str(expected) and payload["valid_until"] is None
    assert inst.replace_by == expected and inst.valid_until is None
    token = client.get(f"/api/instruments/{iid}", headers=login(client, owner.username, world.PASSWORD)).json()
    label = client.get(f"/public/instruments/{iid}?token={token['label_token']}").json()
    assert label["status"] == "in_date" and label["replace_by"] == str(expected)


def test_water_meter_in_service_has_no_rule_so_the_verdict_is_unknown_and_cannot_be_approved(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["water_meter"])
    iid = world.water_meter(platform, owner, type_name=None)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    rid = world.record(platform, lab, task, WATER, stage="in_service")
    with platform.engine.connect() as c:
        assert c.execute(select(vtables.verification_records.c.verdict)).scalar() == "unknown"
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)
    with pytest.raises(RuleViolation) as err:
        workflow.approve_record(platform.uow(), world.confirm(platform, lab.approver), rid)
    assert err.value.rule == "verdict_unknown"
