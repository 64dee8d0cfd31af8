"""The world the vocabulary scan walks, built through the real services: one owner with a scale
verified (its certificate then amended), a scale whose certificate was revoked, a scale that failed, a
fuel dispenser verified and one never verified, an EV charger and a thermometer each done and one
waiting for its results; records waiting for the check and for approval; an owner awaiting approval;
and a person of every role.

Free text a person typed (names, addresses, reasons) is the user's own and is shown as typed in either
language; `typed` lists it so the scan can tell it from the platform's own words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from jiliang.auth import Actor
from jiliang.certificates.service import amend_certificate, revoke_certificate
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.verification import service as workflow
from tests.support import jjg539, uncertainty_world, world
from tests.support.supervision_pages import regulator

__all__ = ["ScanWorld", "build", "typed_texts"]

ENVIRONMENT = {"temperature": "20.5", "humidity": "55"}  # as typed, without units (the page adds them)
FUEL = [workflow.ReadingInput("volume", "20.00", "20.02")]  # +0.10 %, MPE ±0.30 % (JJG 443)


@dataclass
class ScanWorld:
    people: dict[str, Actor]  # role → a person with that role
    certificates: dict[str, str] = field(default_factory=dict)  # what → number
    tokens: dict[str, str] = field(default_factory=dict)  # number → its public token
    open_tasks: dict[str, int] = field(default_factory=dict)  # what → a task waiting for its results
    typed: set[str] = field(default_factory=set)  # free text typed by people


def typed_texts(platform: Platform) -> set[str]:
    """Every free text the people of this world typed: organisation, person, instrument and standard
    names, usernames, addresses, makers, models, numbers of outside certificates, reasons."""
    from sqlalchemy import select

    from jiliang.registry.tables import instruments, owners, qualifications, standard_calibrations, standards, users

    columns = (
        owners.c.name,
        owners.c.address,
        users.c.username,
        users.c.display_name,
        qualifications.c.certificate_no,
        instruments.c.name,
        instruments.c.manufacturer,
        instruments.c.model,
        instruments.c.location,
        standards.c.name,
        standards.c.examination_certificate_no,
        standards.c.calibrated_by,
        standard_calibrations.c.calibrated_by,
        standard_calibrations.c.certificate_no,
    )
    found: set[str] = set()
    with platform.engine.connect() as c:
        for column in columns:
            found |= {v for v in c.execute(select(column).distinct()).scalars() if v}
    return found


def build(platform: Platform) -> ScanWorld:
    today = shanghai_today()
    owner = world.make_owner(platform, "310104")
    world.make_owner(platform, "310104", approve=False)  # a registration waiting for the lab manager
    # scales and fuel dispensers go to the district's institute
    district_lab = world.make_lab(platform, "D310104", ["nawi", "fuel_dispenser"])
    city_lab = world.make_lab(platform, "SIMT", ["ev_charger"])  # chargers and calibrations to the city's
    standards = uncertainty_world.budget_standards(platform, city_lab)
    out = ScanWorld(
        people={
            "owner": owner,
            "verifier": district_lab.verifier,
            "checker": district_lab.checker,
            "approver": district_lab.approver,
            "lab_manager": district_lab.manager,
            "city_verifier": city_lab.verifier,  # the charger's and the thermometer's tasks and records
            "regulator": regulator(platform, "SAMR-SH"),
            "admin": world.admin(platform),
        }
    )

    def verify(lab: world.Lab, iid: int, readings: list[workflow.ReadingInput], stage: str = "subsequent") -> int:
        [task] = workflow.apply(platform.uow(), owner, [iid])
        return workflow.record_results(
            platform.uow(),
            world.confirm(platform, lab.verifier),
            task,
            workflow.ResultsInput(today, [lab.standard_id], readings, stage=stage, environment=ENVIRONMENT),
        )

    def issue(lab: world.Lab, rid: int) -> str:
        workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)
        return workflow.approve_record(platform.uow(), world.confirm(platform, lab.approver), rid)

    # scales: one certified then amended, one revoked, one failed, one waiting for approval, one for the check
    certs = out.certificates
    amended = issue(district_lab, verify(district_lab, world.scale(platform, owner), world.SCALE_PASS))
    certs["amended"] = amend_certificate(
        platform.uow(),
        world.confirm(platform, district_lab.approver),
        amended,
        {"owner.address": "测试路 2 号"},
        "地址有误",
    )
    certs["superseded"] = amended
    certs["revoked"] = issue(district_lab, verify(district_lab, world.scale(platform, owner), world.SCALE_PASS))
    revoke_certificate(platform.uow(), world.confirm(platform, district_lab.approver), certs["revoked"], "误用标准器")
    certs["failed"] = issue(district_lab, verify(district_lab, world.scale(platform, owner), world.SCALE_FAIL))
    waiting = verify(district_lab, world.scale(platform, owner), jjg539.as_inputs(jjg539.complete()), "initial")
    workflow.check_record(platform.uow(), world.confirm(platform, district_lab.checker), waiting)
    verify(district_lab, world.scale(platform, owner), world.SCALE_PASS)  # waits for the check
    [out.open_tasks["scale"]] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])

    # fuel dispensers (a known period: the regulator's coverage and overdue list), one never verified
    certs["fuel"] = issue(district_lab, verify(district_lab, world.fuel_dispenser(platform, owner), FUEL))
    world.fuel_dispenser(platform, owner)

    # an EV charger verified (with U), one waiting for its results; a thermometer calibrated
    energy = [workflow.ReadingInput("energy", "10.000", "10.020")]
    ev = uncertainty_world.register_ev_charger(platform, owner, "EV-1")
    [task] = workflow.apply(platform.uow(), owner, [ev])
    rid = workflow.record_results(
        platform.uow(),
        world.confirm(platform, city_lab.verifier),
        task,
        workflow.ResultsInput(today, [standards["energy"]], energy, stage="subsequent", environment=ENVIRONMENT),
    )
    certs["ev"] = issue(city_lab, rid)
    [out.open_tasks["ev"]] = workflow.apply(
        platform.uow(), owner, [uncertainty_world.register_ev_charger(platform, owner, "EV-2")]
    )
    thermometer = uncertainty_world.register_thermometer(platform, owner, "TH-1")
    [task] = workflow.apply(platform.uow(), owner, [thermometer], kind="calibration", conformity_statement=False)
    rid = workflow.record_results(
        platform.uow(),
        world.confirm(platform, city_lab.verifier),
        task,
        workflow.ResultsInput(
            today,
            [standards["thermometer"]],
            [workflow.ReadingInput("t1", "20.000", "20.03"), workflow.ReadingInput("t3", "50.000", "49.98")],
            environment={**ENVIRONMENT, "bath_uniformity": "0.01", "bath_stability": "0.005"},
        ),
    )
    certs["thermometer"] = issue(city_lab, rid)
    [out.open_tasks["thermometer"]] = workflow.apply(
        platform.uow(),
        owner,
        [uncertainty_world.register_thermometer(platform, owner, "TH-2")],
        kind="calibration",
        conformity_statement=False,
    )
    # an expired qualification and a standard due soon give the lab pages their warnings
    registry.grant_qualification(
        platform.uow(),
        world.admin(platform),
        district_lab.verifier.user_id,
        "nawi",
        "Q-old",
        today - timedelta(days=800),
        today - timedelta(days=10),
    )
    out.tokens = _tokens(platform, set(certs.values()))
    out.typed = typed_texts(platform) | {"地址有误", "误用标准器", "测试路 2 号"}
    return out


def _tokens(platform: Platform, numbers: set[str]) -> dict[str, str]:
    from sqlalchemy import select

    from jiliang.certificates.tables import certificates

    with platform.engine.connect() as c:
        rows = c.execute(select(certificates.c.number, certificates.c.public_token)).all()
    return {r.number: r.public_token for r in rows if r.number in numbers}
