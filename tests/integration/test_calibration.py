"""Voluntary calibration orders (委托校准) use the same workflow and end in a calibration certificate."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from jiliang.certificates.tables import certificates
from jiliang.errors import RuleViolation
from jiliang.registry import service as registry
from jiliang.verification import service as workflow
from tests.support import world


def _gauge(platform, owner):
    return registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code=None, name="数字压力表", serial_no="PG-77", use="safety", manufacturer="红旗仪表"
        ),
    )


def _calibrate(platform, lab, task):
    readings = [
        workflow.ReadingInput("p1", "1.000", "1.002", expanded_uncertainty="0.0012", coverage_factor="2"),
        workflow.ReadingInput("p2", "2.000", "1.997", expanded_uncertainty="0.0015", coverage_factor="2"),
    ]
    rid = world.record(platform, lab, task, readings, stage=None)
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)
    return workflow.approve_record(platform.uow(), world.confirm(platform, lab.approver), rid)


def test_instrument_outside_the_catalogue_cannot_be_applied_for_verification(platform):
    owner = world.make_owner(platform)
    with pytest.raises(RuleViolation) as err:
        workflow.apply(platform.uow(), owner, [_gauge(platform, owner)])
    assert err.value.rule == "not_in_catalogue"


def test_calibration_certificate_reports_results_and_uncertainty_without_a_verdict(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "SIMT", [])  # calibration outside the catalogue goes to a city laboratory
    [task] = workflow.apply(
        platform.uow(), owner, [_gauge(platform, owner)], kind="calibration", conformity_statement=False
    )
    number = _calibrate(platform, lab, task)
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
    payload = json.loads(cert.payload)
    assert cert.kind == "calibration" and number.startswith("SIMT-")
    assert payload["conclusion"].startswith("校准，不作符合性判定")
    assert payload["record"]["verdict"] is None and payload["valid_until"] is None
    assert [(p["error"], p["expanded_uncertainty"], p["coverage_factor"]) for p in payload["points"]] == [
        ("0.002", "0.0012", "2"),
        ("-0.003", "0.0015", "2"),
    ]


def test_calibration_with_a_requested_verdict_needs_a_procedure(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "SIMT", [])
    [task] = workflow.apply(
        platform.uow(), owner, [_gauge(platform, owner)], kind="calibration", conformity_statement=True
    )
    with pytest.raises(RuleViolation) as err:
        _calibrate(platform, lab, task)
    assert err.value.rule == "no_procedure"
