"""The mandatory-verification workflow end to end through the services, on the real database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from jiliang.audit import history
from jiliang.certificates.tables import certificates
from jiliang.errors import Forbidden, RuleViolation
from jiliang.platform import shanghai_today
from jiliang.registry.periods import add_months
from jiliang.registry.tables import instruments
from jiliang.verification import service as workflow
from jiliang.verification import tables as vtables
from tests.support import world


def test_scale_passes_and_gets_a_verification_certificate_with_period_unknown(platform):
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    iid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    number = world.verify(platform, lab, task)
    assert number.startswith(f"D310104-{shanghai_today().year}-")
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
        inst = c.execute(select(instruments).where(instruments.c.id == iid)).one()
    assert cert.kind == "verification"
    payload = json.loads(cert.payload)
    assert payload["conclusion"].startswith("合格")
    # verification_periods.csv gives no confirmed period for 数字指示秤/电子计价秤: never invent one
    assert payload["valid_until"] is None and cert.valid_until is None
    assert inst.last_conclusion == "pass" and inst.valid_until is None and not inst.barred
    assert payload["signatories"] == {
        "verifier": lab.verifier.display_name,
        "checker": lab.checker.display_name,
        "approver": lab.approver.display_name,
    }


def test_fuel_dispenser_valid_until_is_date_plus_six_months_minus_one_day(platform):
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    iid = world.fuel_dispenser(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    on = shanghai_today() - timedelta(days=3)
    readings = [workflow.ReadingInput("volume", "20.00", "20.05"), workflow.ReadingInput("volume", "20.00", "19.95")]
    number = world.verify(platform, lab, task, readings, on=on)
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
    # verification_periods.csv: 燃油加油机 JJG 443-2015 "<= 6 months"
    assert cert.valid_until == add_months(on, 6) - timedelta(days=1)


def test_failed_scale_gets_a_notice_and_is_barred_until_it_passes(platform):
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    iid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    number = world.verify(platform, lab, task, world.SCALE_FAIL)
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
        assert cert.kind == "nonconformity"
        assert c.execute(select(instruments.c.barred).where(instruments.c.id == iid)).scalar_one() is True
    [task2] = workflow.apply(platform.uow(), owner, [iid])
    world.verify(platform, lab, task2)
    with platform.engine.connect() as c:
        assert c.execute(select(instruments.c.barred).where(instruments.c.id == iid)).scalar_one() is False


def test_verifier_cannot_check_own_record_and_checker_cannot_approve(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    both = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    rid = world.record(platform, lab, task, stage="initial")
    # give the verifier the checker role too: separation of duties still forbids checking their own work
    from jiliang.auth import Actor

    verifier_as_checker = Actor(**{**lab.verifier.__dict__, "roles": frozenset({"verifier", "checker"})})
    with pytest.raises(RuleViolation) as err:
        workflow.check_record(platform.uow(), world.confirm(platform, verifier_as_checker), rid)
    assert err.value.rule == "separation_of_duties"
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)
    checker_as_approver = Actor(**{**lab.checker.__dict__, "roles": frozenset({"checker", "approver"})})
    with pytest.raises(RuleViolation) as err:
        workflow.approve_record(platform.uow(), world.confirm(platform, checker_as_approver), rid)
    assert err.value.rule == "separation_of_duties"
    assert both  # a second lab at the same institution does not change the rule


def test_wrong_password_refuses_the_signing_step(platform):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    with pytest.raises(Forbidden) as err:
        world.confirm(platform, lab.verifier, "not-my-password")
    assert err.value.rule == "password_confirmation"


def test_expired_qualification_is_refused_naming_the_rule(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"], qualified_until=shanghai_today() - timedelta(days=1))
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    with pytest.raises(RuleViolation) as err:
        world.verify(platform, lab, task)
    assert err.value.rule == "qualification_invalid"
    with platform.engine.connect() as c:  # nothing half-written
        assert c.execute(select(vtables.verification_records)).first() is None


def test_expired_standard_calibration_is_refused(platform):
    from jiliang.registry import service as registry

    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    today = shanghai_today()
    old = registry.add_standard(
        platform.uow(),
        lab.manager,
        lab.institution_id,
        "旧标准",
        "[2020]沪量标1号",
        today + timedelta(days=100),
        ["nawi"],
    )
    registry.record_standard_calibration(
        platform.uow(),
        lab.manager,
        old,
        "SIMT",
        "CAL-old",
        today - timedelta(days=400),
        today - timedelta(days=35),
        True,
    )
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    lab.standard_id = old
    with pytest.raises(RuleViolation) as err:
        world.verify(platform, lab, task)
    assert err.value.rule == "standard_calibration_expired"


def test_standard_found_out_of_tolerance_cannot_be_used_after_that_calibration(platform):
    from jiliang.registry import service as registry

    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    today = shanghai_today()
    registry.record_standard_calibration(
        platform.uow(),
        lab.manager,
        lab.standard_id,
        "SIMT",
        "CAL-oot",
        today - timedelta(days=2),
        today + timedelta(days=360),
        False,
    )
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    with pytest.raises(RuleViolation) as err:
        world.verify(platform, lab, task)
    assert err.value.rule == "standard_calibration_expired"


def test_task_goes_to_the_district_institute_else_a_cross_district_one(platform):
    owner = world.make_owner(platform, "310104")
    (scale_task,) = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    from jiliang.verification.tables import tasks

    with platform.engine.connect() as c:
        assert c.execute(
            select(tasks.c.institution_id).where(tasks.c.id == scale_task)
        ).scalar_one() == world.institution_id(platform, "D310104")
    # gas meters are not authorised at district institutes (registry/institutions.yaml): the city institute
    from jiliang.registry import service as registry

    gid = registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code="gas_meter", name="膜式燃气表", serial_no="G1", use="trade", procedure_code="gas_meter"
        ),
    )
    (gas_task,) = workflow.apply(platform.uow(), owner, [gid])
    with platform.engine.connect() as c:
        assert c.execute(
            select(tasks.c.institution_id).where(tasks.c.id == gas_task)
        ).scalar_one() == world.institution_id(platform, "SIMT")


def test_every_step_leaves_an_audit_record(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    number = world.verify(platform, lab, task)
    with platform.engine.connect() as c:
        rid = c.execute(select(vtables.verification_records.c.id)).scalar_one()
        actions = [e["action"] for e in history(c, "verification_record", rid)]
        assert actions == ["verification.recorded", "verification.checked", "verification.approved"]
        assert [e["action"] for e in history(c, "certificate", number)] == ["certificate.issued"]


def test_a_task_with_a_record_awaiting_check_cannot_take_a_second_record(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    first = world.record(platform, lab, task)
    with pytest.raises(RuleViolation) as err:
        world.record(platform, lab, task)
    assert err.value.rule == "state"
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), first, accept=False, remark="重测")
    assert world.record(platform, lab, task) != first  # returned: the verifier records again
