"""Per-point uncertainty and decision rules in the workflow, on the real services and database: an EV
charger verified under JJF 1094 with the relative energy error budget of ev_charger_ac, a thermometer
calibrated by comparison with the budget of thermometer_calibration, and the ledger over both.

Every expected U is computed here by hand from the procedure's model (law of propagation, first
order), never taken from the code's output."""

from __future__ import annotations

import itertools
import json
import math
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from jiliang.certificates.tables import certificates
from jiliang.errors import RuleViolation
from jiliang.ledger.auditor import audit
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.ledger.leaf import parse_leaf
from jiliang.ledger.tables import ledger_leaves
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.tables import standard_calibrations
from jiliang.verification import service as workflow
from jiliang.verification.tables import measurement_points, verification_records
from tests.conftest import login
from tests.support import tamper, world
from tests.support.uncertainty_world import K95, ev_u95, thermometer_u, two_digits_up
from tests.support.work_pages import clients

_serial = itertools.count(1)
JJF1094_NOT_EVALUATED = "JJF 1094 §5.3.1"


# --- hand computation -------------------------------------------------------------------------------


def test_hand_computation_helpers_round_up_to_two_digits() -> None:
    assert two_digits_up(0.4910) == Decimal("0.50") and str(two_digits_up(0.4910)) == "0.50"
    assert two_digits_up(0.0244949) == Decimal("0.025")
    assert two_digits_up(1.2) == Decimal("1.2")
    assert f"{K95:.2f}" == "1.96"


# --- the world -------------------------------------------------------------------------------------


def calibrate_standard(
    platform: Platform, lab: world.Lab, standard_id: int, u: str | None, k: str | None, unit: str | None
) -> int:
    """A newer calibration of the standard (the one world.make_lab recorded is 30 days old)."""
    today = shanghai_today()
    return registry.record_standard_calibration(
        platform.uow(),
        lab.manager,
        standard_id,
        "中国计量科学研究院",
        f"NIM-{standard_id}-{u}-{unit}",
        today - timedelta(days=5),
        today + timedelta(days=360),
        True,
        u,
        k,
        unit,
    )


EV_TYPES = {"ev_charger_ac": "电动汽车交流充电桩", "ev_charger_dc": "电动汽车非车载充电机"}
STANDARD_U = "expanded uncertainty U of the standard's calibration certificate"  # named in a problem, as missing


def ev_charger(platform: Platform, owner, procedure: str = "ev_charger_ac") -> int:  # type: ignore[no-untyped-def]
    return registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code="ev_charger",
            name=EV_TYPES[procedure],
            serial_no=f"EV-{next(_serial)}",
            use="trade",
            type_id=world.type_id(platform, "ev_charger", EV_TYPES[procedure]),
            procedure_code=procedure,
            parameters={"accuracy_class": "1", "resolution": "0.001"},
        ),
    )


class EvWorld:
    def __init__(self, platform: Platform, procedure: str = "ev_charger_ac") -> None:
        self.platform = platform
        self.procedure = procedure
        self.owner = world.make_owner(platform)
        # ev_charger is authorised at SIMT and SQI only; SIMT comes first
        self.lab = world.make_lab(platform, "SIMT", ["ev_charger"])

    def task(self) -> int:
        instrument = ev_charger(self.platform, self.owner, self.procedure)
        [task] = workflow.apply(self.platform.uow(), self.owner, [instrument])
        return task

    def record(
        self,
        indication: str,
        reference: str = "10.000",
        standard_ids: list[int] | None = None,
        extra: list[workflow.ReadingInput] | None = None,
    ) -> int:
        return workflow.record_results(
            self.platform.uow(),
            world.confirm(self.platform, self.lab.verifier),
            self.task(),
            workflow.ResultsInput(
                performed_on=shanghai_today(),
                standard_ids=standard_ids or [self.lab.standard_id],
                readings=[workflow.ReadingInput("energy", reference, indication), *(extra or [])],
                stage="subsequent",
                environment={"temperature": "21.0 °C"},
            ),
        )


def record_row(platform: Platform, rid: int):  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return c.execute(select(verification_records).where(verification_records.c.id == rid)).one()


def points_of(platform: Platform, rid: int) -> list:
    with platform.engine.connect() as c:
        return list(
            c.execute(
                select(measurement_points)
                .where(measurement_points.c.record_id == rid)
                .order_by(measurement_points.c.seq)
            )
        )


def certificate_count(platform: Platform) -> int:
    with platform.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(certificates)).scalar_one())


@pytest.fixture
def ev(platform) -> EvWorld:  # type: ignore[no-untyped-def]
    return EvWorld(platform)


# --- EV charger, JJF 1094 ---------------------------------------------------------------------------

MPEV = Decimal("1.0")  # class 1 energy error, ±1.0 % (ev_charger_ac rule class1_energy)


def test_jjf1094_error_within_mpev_minus_u95_passes_with_the_computed_u(ev) -> None:
    platform = ev.platform
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "%")
    rid = ev.record("10.020")  # E = +0.2 %
    expected = ev_u95("10.000", "10.020", "0.001", "0.5", "2")
    assert expected == Decimal("0.50")  # large enough that U95 > MPEV/3: the guarded comparison applies
    rec = record_row(platform, rid)
    [p] = points_of(platform, rid)
    assert (p.expanded_uncertainty, p.coverage_factor) == (str(expected), "1.96")
    assert p.uncertainty["U"] == str(expected) and p.uncertainty["k"] == "1.96"
    assert p.uncertainty["unit"] == "%" and p.uncertainty["dof"] == "inf" and p.uncertainty["p"] == "0.95"
    assert p.uncertainty["largest"] == "E_s"  # the standard meter dominates the resolution by far
    d = p.decision
    assert d["rule"] == "jjf1094" and d["zone"] == "accept"
    assert Decimal(d["ratio"]) == expected / MPEV and Decimal(d["ratio"]) * 3 > 1
    assert Decimal(d["guard_band"]) == expected
    assert (Decimal(d["acceptance_lower"]), Decimal(d["acceptance_upper"])) == (-(MPEV - expected), MPEV - expected)
    assert Decimal(p.relative_error_percent) == Decimal("0.2") and p.mpe_unit == "%"
    assert p.conforms is True and rec.verdict == "pass"
    # the class rules of JJG 1148 are unconfirmed (confidence low): the verdict is advisory
    [rule] = [r for r in platform.procedures["ev_charger_ac"].edition_on(rec.performed_on).rules if r.id == p.rule_id]
    assert rule.confidence == "low" and rule.confirmed is False
    assert p.rule_id == "class1_energy" and p.advisory is True and rec.advisory is True
    assert rec.decision_rule.startswith("JJF 1094 §5.3")
    workflow.check_record(platform.uow(), world.confirm(platform, ev.lab.checker), rid)
    number = workflow.approve_record(platform.uow(), world.confirm(platform, ev.lab.approver), rid)
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
    payload = json.loads(cert.payload)
    assert cert.kind == "verification" and payload["advisory"] is True
    [cp] = payload["points"]
    assert (cp["expanded_uncertainty"], cp["coverage_factor"]) == (str(expected), "1.96")
    assert cp["decision"]["rule"] == "jjf1094" and cp["decision"]["zone"] == "accept"


@pytest.mark.parametrize("procedure", ["ev_charger_ac", "ev_charger_dc"])
def test_jjf1094_error_between_mpev_minus_and_plus_u95_is_unknown_and_approval_is_refused(platform, procedure) -> None:
    ev = EvWorld(platform, procedure)
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "%")
    rid = ev.record("10.080")  # E = +0.8 %: MPEV − U95 = 0.5 % < 0.8 % < MPEV + U95 = 1.5 %
    expected = ev_u95("10.000", "10.080", "0.001", "0.5", "2")
    assert MPEV - expected < Decimal("0.8") < MPEV + expected and expected * 3 > MPEV
    rec = record_row(platform, rid)
    [p] = points_of(platform, rid)
    assert p.expanded_uncertainty == str(expected) and p.coverage_factor == "1.96"
    assert p.decision["rule"] == "jjf1094" and p.decision["zone"] == "undetermined"
    assert "undetermined zone" in p.decision["note"]
    assert p.conforms is None and rec.verdict == "unknown"
    assert p.advisory is True and rec.advisory is True
    workflow.check_record(platform.uow(), world.confirm(platform, ev.lab.checker), rid)
    before = certificate_count(platform)
    with pytest.raises(RuleViolation) as err:
        workflow.approve_record(platform.uow(), world.confirm(platform, ev.lab.approver), rid)
    assert err.value.rule == "verdict_unknown"
    assert record_row(platform, rid).status == "checked" and certificate_count(platform) == before


def test_jjf1094_undetermined_zone_over_http_is_recorded_and_approval_answers_409(ev, client) -> None:
    platform = ev.platform
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "%")
    task = ev.task()
    verifier = login(client, ev.lab.verifier.username, world.PASSWORD)
    r = client.post(
        f"/api/tasks/{task}/results",
        headers=verifier,
        json={
            "password": world.PASSWORD,
            "performed_on": str(shanghai_today()),
            "standard_ids": [ev.lab.standard_id],
            "stage": "subsequent",
            "readings": [{"point_id": "energy", "reference": "10.000", "indication": "10.080"}],
        },
    )
    assert r.status_code == 201, r.text
    record = r.json()
    expected = ev_u95("10.000", "10.080", "0.001", "0.5", "2")
    assert record["verdict"] == "unknown" and record["advisory"] is True
    [p] = record["points"]
    assert p["expanded_uncertainty"] == str(expected) and p["coverage_factor"] == "1.96"
    assert p["conforms"] is None and p["decision"]["zone"] == "undetermined" and p["decision"]["rule"] == "jjf1094"
    checker = login(client, ev.lab.checker.username, world.PASSWORD)
    r = client.post(f"/api/records/{record['id']}/check", headers=checker, json={"password": world.PASSWORD})
    assert r.status_code == 200, r.text
    approver = login(client, ev.lab.approver.username, world.PASSWORD)
    r = client.post(f"/api/records/{record['id']}/approve", headers=approver, json={"password": world.PASSWORD})
    assert r.status_code == 409, r.text
    assert r.json()["rule"] == "verdict_unknown"
    assert client.get(f"/api/records/{record['id']}", headers=checker).json()["status"] == "checked"


def test_jjf1094_a_point_outside_the_budget_gets_no_u_and_its_error_alone_decides(ev) -> None:
    platform = ev.platform
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "%")
    # the budget of ev_charger_ac covers the energy point only; the clock point is judged by its error
    rid = ev.record("10.020", extra=[workflow.ReadingInput("clock", "0", "120")])
    energy, clock = points_of(platform, rid)
    assert energy.expanded_uncertainty == str(ev_u95("10.000", "10.020", "0.001", "0.5", "2"))
    assert clock.expanded_uncertainty is None and clock.uncertainty is None
    assert clock.rule_id == "clock_subsequent" and clock.advisory is False  # a confirmed rule (≤ 180 s)
    assert clock.decision["zone"] == "accept" and JJF1094_NOT_EVALUATED in clock.decision["note"]
    assert clock.conforms is True and record_row(platform, rid).verdict == "pass"
    assert record_row(platform, rid).advisory is True  # the energy point's rule is not confirmed


def test_jjf1094_error_beyond_mpev_plus_u95_fails(ev) -> None:
    platform = ev.platform
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "%")
    rid = ev.record("10.160")  # E = +1.6 % > MPEV + U95 = 1.5 %
    expected = ev_u95("10.000", "10.160", "0.001", "0.5", "2")
    assert Decimal("1.6") > MPEV + expected
    [p] = points_of(platform, rid)
    assert p.decision["zone"] == "reject" and p.conforms is False and record_row(platform, rid).verdict == "fail"


def test_jjf1094_u95_within_a_third_of_mpev_lets_the_error_alone_decide(ev) -> None:
    platform = ev.platform
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.05", "2", "%")
    rid = ev.record("10.097")  # E = +0.97 %: beyond MPEV − U95, but U95 ≤ MPEV/3 (JJF 1094 §5.3.1)
    expected = ev_u95("10.000", "10.097", "0.001", "0.05", "2")
    assert expected == Decimal("0.050") and expected * 3 <= MPEV
    [p] = points_of(platform, rid)
    assert p.expanded_uncertainty == str(expected)
    assert p.decision["zone"] == "accept" and Decimal(p.decision["guard_band"]) == 0
    assert (Decimal(p.decision["acceptance_lower"]), Decimal(p.decision["acceptance_upper"])) == (-MPEV, MPEV)
    assert "U95 ≤ MPEV/3" in p.decision["note"]
    assert p.conforms is True and record_row(platform, rid).verdict == "pass"


def test_jjf1094_without_a_standard_u_the_error_alone_decides_and_no_u_is_stored(ev) -> None:
    platform = ev.platform  # world.make_lab's standard calibration records no U
    rid = ev.record("10.080")  # E = +0.8 %, which a U of 0.5 % would have left undetermined
    [p] = points_of(platform, rid)
    assert p.expanded_uncertainty is None and p.coverage_factor is None
    assert set(p.uncertainty) == {"problem"} and STANDARD_U in p.uncertainty["problem"]
    assert p.decision["rule"] == "jjf1094" and p.decision["zone"] == "accept"
    assert JJF1094_NOT_EVALUATED in p.decision["note"] and "the error alone decides" in p.decision["note"]
    assert Decimal(p.decision["guard_band"]) == 0 and p.decision["ratio"] is None
    assert p.conforms is True and record_row(platform, rid).verdict == "pass"
    assert p.advisory is True and record_row(platform, rid).advisory is True


def test_standard_u_comes_from_the_first_standard_recording_it_in_the_procedures_unit(ev) -> None:
    platform = ev.platform
    today = shanghai_today()
    # the lab's own standard (the lower id) records U in kWh: not the relative U the budget asks for
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.002", "2", "kWh")
    second = registry.add_standard(
        platform.uow(),
        ev.lab.manager,
        ev.lab.institution_id,
        "标准电能表",
        "[2025]沪量标99号",
        today + timedelta(days=700),
        ["ev_charger"],
    )
    calibrate_standard(platform, ev.lab, second, "0.3", "2", "%")
    third = registry.add_standard(
        platform.uow(),
        ev.lab.manager,
        ev.lab.institution_id,
        "标准电能表 B",
        "[2025]沪量标100号",
        today + timedelta(days=700),
        ["ev_charger"],
    )
    calibrate_standard(platform, ev.lab, third, "0.05", "2", "%")
    rid = ev.record("10.020", standard_ids=[third, ev.lab.standard_id, second])
    [p] = points_of(platform, rid)
    assert p.expanded_uncertainty == str(ev_u95("10.000", "10.020", "0.001", "0.3", "2"))
    # only the kWh standard: no U in %, so none is evaluated
    rid = ev.record("10.020", standard_ids=[ev.lab.standard_id])
    [p] = points_of(platform, rid)
    assert p.expanded_uncertainty is None and STANDARD_U in p.uncertainty["problem"]


def test_standard_u_from_a_calibration_no_longer_in_force_is_not_used(ev) -> None:
    platform = ev.platform
    today = shanghai_today()
    registry.record_standard_calibration(
        platform.uow(),
        ev.lab.manager,
        ev.lab.standard_id,
        "NIM",
        "OLD-U",
        today - timedelta(days=60),
        today + timedelta(days=300),
        True,
        "0.5",
        "2",
        "%",
    )  # superseded by world.make_lab's calibration of 30 days ago, which records no U
    rid = ev.record("10.020")
    [p] = points_of(platform, rid)
    assert p.expanded_uncertainty is None and STANDARD_U in p.uncertainty["problem"]


# --- thermometer calibration by comparison ---------------------------------------------------------

BATH = {"bath_uniformity": "0.01", "bath_stability": "0.005"}


class ThermometerWorld:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.owner = world.make_owner(platform)
        self.lab = world.make_lab(platform, "SIMT", [])  # outside the catalogue: a city laboratory
        calibrate_standard(platform, self.lab, self.lab.standard_id, "0.02", "2", "°C")

    def task(self) -> int:
        iid = registry.register_instrument(
            self.platform.uow(),
            self.owner,
            registry.InstrumentRegistration(
                item_code=None,
                name="数字温度计",
                serial_no=f"TH-{next(_serial)}",
                use="safety",
                procedure_code="thermometer_calibration",
                parameters={"resolution": "0.01"},
            ),
        )
        [task] = workflow.apply(self.platform.uow(), self.owner, [iid], kind="calibration", conformity_statement=False)
        return task

    def record(
        self, environment: dict[str, str], on: date | None = None, readings: list[workflow.ReadingInput] | None = None
    ) -> int:
        return workflow.record_results(
            self.platform.uow(),
            world.confirm(self.platform, self.lab.verifier),
            self.task(),
            workflow.ResultsInput(
                performed_on=on or shanghai_today(),
                standard_ids=[self.lab.standard_id],
                readings=readings
                or [
                    # a U typed by the laboratory is replaced by the budget's
                    workflow.ReadingInput("t1", "20.000", "20.03", expanded_uncertainty="0.1", coverage_factor="3"),
                    workflow.ReadingInput("t3", "50.000", "49.98"),
                ],
                environment={"temperature": "20.5 °C", **environment},
            ),
        )


@pytest.fixture
def thermo(platform) -> ThermometerWorld:  # type: ignore[no-untyped-def]
    return ThermometerWorld(platform)


def test_thermometer_calibration_points_carry_the_computed_u_with_k_2(thermo) -> None:
    platform = thermo.platform
    rid = thermo.record(BATH)
    expected = thermometer_u("0.01", "0.02", "2", BATH["bath_uniformity"], BATH["bath_stability"])
    assert expected == Decimal("0.025")  # u_c = √(1.5·10⁻⁴) °C = 0.01225 °C, U = 2·u_c = 0.0245 °C
    rec = record_row(platform, rid)
    assert rec.kind == "calibration" and rec.verdict is None
    points = points_of(platform, rid)
    assert [(p.point_id, p.error, p.expanded_uncertainty, p.coverage_factor) for p in points] == [
        ("t1", "0.030", str(expected), "2.00"),
        ("t3", "-0.020", str(expected), "2.00"),
    ]
    for p in points:
        assert p.uncertainty["U"] == str(expected) and p.uncertainty["k"] == "2.00"
        assert p.uncertainty["unit"] == "°C" and p.uncertainty["largest"] == "t_s"
        assert p.decision is None and p.conforms is None  # a calibration without a statement of conformity
    workflow.check_record(platform.uow(), world.confirm(platform, thermo.lab.checker), rid)
    number = workflow.approve_record(platform.uow(), world.confirm(platform, thermo.lab.approver), rid)
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
    payload = json.loads(cert.payload)
    assert cert.kind == "calibration" and payload["record"]["verdict"] is None
    assert [(p["point_id"], p["expanded_uncertainty"], p["coverage_factor"]) for p in payload["points"]] == [
        ("t1", str(expected), "2.00"),
        ("t3", str(expected), "2.00"),
    ]
    assert all(p["uncertainty"]["U"] == str(expected) for p in payload["points"])


def test_a_batch_gives_each_record_the_u_of_its_own_environment_and_standard(thermo) -> None:
    """What a batch shares is worked out once (the standards' U and the environment as numbers, by
    procedure, date, standards and environment): records that differ in any of them keep their own U."""
    platform, lab = thermo.platform, thermo.lab
    other = registry.add_standard(
        platform.uow(),
        lab.manager,
        lab.institution_id,
        "二等标准铂电阻温度计",
        "[2024]沪量标T2",
        shanghai_today() + timedelta(days=700),
        [],
    )
    calibrate_standard(platform, lab, other, "0.04", "2", "°C")
    wide = {"bath_uniformity": "0.03", "bath_stability": "0.005"}
    cases = [(BATH, lab.standard_id), (wide, lab.standard_id), (BATH, other), (BATH, lab.standard_id)]
    entries = [
        (
            thermo.task(),
            workflow.ResultsInput(
                performed_on=shanghai_today(),
                standard_ids=[sid],
                readings=[workflow.ReadingInput("t1", "20.000", "20.03")],
                environment={"temperature": "20.5 °C", **bath},
            ),
        )
        for bath, sid in cases
    ]
    uow = platform.uow()
    with uow:
        rids = workflow.record_results_batch(uow, world.confirm(platform, lab.verifier), entries)
        uow.commit()
    expected = [
        thermometer_u("0.01", u, "2", bath["bath_uniformity"], bath["bath_stability"])
        for bath, u in ((BATH, "0.02"), (wide, "0.02"), (BATH, "0.04"), (BATH, "0.02"))
    ]
    assert len(set(expected)) == 3
    assert [points_of(platform, rid)[0].expanded_uncertainty for rid in rids] == [str(u) for u in expected]


def test_thermometer_calibration_without_the_bath_entries_names_them_as_the_problem(thermo) -> None:
    platform = thermo.platform
    rid = thermo.record({})
    points = points_of(platform, rid)
    for p in points:
        assert set(p.uncertainty) == {"problem"}
        assert (
            "恒温槽温场均匀性" in p.uncertainty["problem"] and "bath temperature stability" in p.uncertainty["problem"]
        )
    # nothing computed: what the laboratory typed is kept as it was
    assert [(p.expanded_uncertainty, p.coverage_factor) for p in points] == [("0.1", "3"), (None, None)]


def test_thermometer_calibration_with_a_standard_u_in_another_unit_names_standard_u(thermo) -> None:
    platform = thermo.platform
    calibrate_standard(platform, thermo.lab, thermo.lab.standard_id, "0.02", "2", "K")  # now in force
    rid = thermo.record(BATH)
    for p in points_of(platform, rid):
        assert STANDARD_U in p.uncertainty["problem"] and "恒温槽温场均匀性" not in p.uncertainty["problem"]


# --- the ledger ------------------------------------------------------------------------------------


def _ledgered_world(platform: Platform) -> dict[str, int]:
    ev = EvWorld(platform)
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "%")
    unknown = ev.record("10.080")
    workflow.check_record(platform.uow(), world.confirm(platform, ev.lab.checker), unknown)
    passed = ev.record("10.020")
    workflow.check_record(platform.uow(), world.confirm(platform, ev.lab.checker), passed)
    workflow.approve_record(platform.uow(), world.confirm(platform, ev.lab.approver), passed)
    thermo = ThermometerWorld(platform)
    calibrated = thermo.record(BATH)
    workflow.check_record(platform.uow(), world.confirm(platform, thermo.lab.checker), calibrated)
    workflow.approve_record(platform.uow(), world.confirm(platform, thermo.lab.approver), calibrated)
    issue_checkpoint(platform)
    return {"unknown": unknown, "passed": passed, "calibrated": calibrated}


def _latest_leaf(platform: Platform, kind: str, record_id: int):  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        data = (
            c.execute(
                select(ledger_leaves.c.data)
                .where(ledger_leaves.c.kind == kind, ledger_leaves.c.record_id == str(record_id))
                .order_by(ledger_leaves.c.idx.desc())
            )
            .scalars()
            .first()
        )
    return parse_leaf(bytes(data))


def test_ledger_audit_stays_clean_and_leaves_record_u_and_decision(platform) -> None:
    ids = _ledgered_world(platform)
    report = audit(platform)
    assert report.findings == [] and report.clean
    leaf = _latest_leaf(platform, "verification_record", ids["unknown"])
    assert leaf.projection == "verification_record/v4"
    [point] = leaf.fields["points"]
    assert point["expanded_uncertainty"] == "0.50" and point["coverage_factor"] == "1.96"
    assert point["decision"]["zone"] == "undetermined" and point["uncertainty"]["U"] == "0.50"
    with platform.engine.connect() as c:
        cid = c.execute(
            select(standard_calibrations.c.id).where(standard_calibrations.c.uncertainty_unit == "°C")
        ).scalar_one()
    leaf = _latest_leaf(platform, "standard_calibration", cid)
    assert leaf.projection == "standard_calibration/v3"  # v3 since migration 0013 (the DCC columns, ranges)
    assert {k: leaf.fields[k] for k in ("expanded_uncertainty", "coverage_factor", "uncertainty_unit")} == {
        "expanded_uncertainty": "0.02",
        "coverage_factor": "2",
        "uncertainty_unit": "°C",
    }


def test_ledger_audit_names_a_decision_or_a_standard_u_changed_with_sql(platform) -> None:
    ids = _ledgered_world(platform)
    [point] = points_of(platform, ids["unknown"])
    accepted = {**point.decision, "zone": "accept"}
    tamper.sql(
        platform, update(measurement_points).where(measurement_points.c.id == point.id).values(decision=accepted)
    )
    with platform.engine.connect() as c:
        cid = c.execute(
            select(standard_calibrations.c.id).where(standard_calibrations.c.uncertainty_unit == "%")
        ).scalar_one()
    tamper.sql(
        platform,
        update(standard_calibrations).where(standard_calibrations.c.id == cid).values(expanded_uncertainty="0.05"),
    )
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert found == {
        ("changed", "measurement_points", str(point.id)),
        ("changed", "verification_records", str(point.record_id)),  # no longer the content that was signed
        ("changed", "standard_calibrations", str(cid)),
    }


# --- what the record's environment may and may not feed into a budget ----------------------------------


def test_the_environment_cannot_stand_in_for_the_standards_certificate_or_the_instruments_parameters(ev) -> None:
    platform = ev.platform
    rid = workflow.record_results(
        platform.uow(),
        world.confirm(platform, ev.lab.verifier),
        ev.task(),
        workflow.ResultsInput(
            performed_on=shanghai_today(),
            standard_ids=[ev.lab.standard_id],  # its certificate records no U
            readings=[workflow.ReadingInput("energy", "10.000", "10.080")],
            stage="subsequent",
            environment={"standard_U": "0.01", "standard_k": "2"},
        ),
    )
    [point] = points_of(platform, rid)
    assert point.expanded_uncertainty is None and STANDARD_U in point.uncertainty["problem"]
    # with a certificate U of 0.5 %, a typed "resolution" does not replace the instrument's 0.001 kWh
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "%")
    rid = workflow.record_results(
        platform.uow(),
        world.confirm(platform, ev.lab.verifier),
        ev.task(),
        workflow.ResultsInput(
            performed_on=shanghai_today(),
            standard_ids=[ev.lab.standard_id],
            readings=[workflow.ReadingInput("energy", "10.000", "10.020")],
            stage="subsequent",
            environment={"resolution": "5", "standard_U": "0.0001"},
        ),
    )
    [point] = points_of(platform, rid)
    assert Decimal(point.expanded_uncertainty) == ev_u95("10.000", "10.020", "0.001", "0.5", "2")


def test_a_unit_typed_as_the_celsius_sign_or_a_full_width_percent_matches_the_procedures_unit(ev) -> None:
    platform = ev.platform
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "％")  # full-width, as Chinese IMEs type it
    rid = ev.record("10.020")
    [point] = points_of(platform, rid)
    assert Decimal(point.expanded_uncertainty) == ev_u95("10.000", "10.020", "0.001", "0.5", "2")


def test_a_calibration_that_asked_for_a_verdict_is_not_issued_from_the_undetermined_zone(platform) -> None:
    ev = EvWorld(platform)
    calibrate_standard(platform, ev.lab, ev.lab.standard_id, "0.5", "2", "%")
    instrument = ev_charger(platform, ev.owner)
    [task] = workflow.apply(platform.uow(), ev.owner, [instrument], kind="calibration", conformity_statement=True)
    rid = workflow.record_results(
        platform.uow(),
        world.confirm(platform, ev.lab.verifier),
        task,
        workflow.ResultsInput(
            performed_on=shanghai_today(),
            standard_ids=[ev.lab.standard_id],
            readings=[workflow.ReadingInput("energy", "10.000", "10.080")],  # +0.8 %: within 1.0 ± 0.5 %
        ),
    )
    assert record_row(platform, rid).verdict == "unknown"
    workflow.check_record(platform.uow(), world.confirm(platform, ev.lab.checker), rid)
    before = certificate_count(platform)
    with pytest.raises(RuleViolation) as refused:
        workflow.approve_record(platform.uow(), world.confirm(platform, ev.lab.approver), rid)
    assert refused.value.rule == "verdict_unknown" and certificate_count(platform) == before


# --- the thermometer's correction curve (GUM H.3 on a calibration) ------------------------------------

CURVE_POINTS = [  # (point, reference t_s, indication t_x) in °C
    ("t1", "0.000", "0.04"),
    ("t2", "20.000", "20.03"),
    ("t3", "40.000", "40.01"),
    ("t4", "60.000", "59.97"),
    ("t5", "80.000", "79.97"),
]


def textbook_line(points: list[tuple[str, str, str]], t0: float) -> dict[str, float]:
    """Ordinary least squares by hand (GUM H.3.2): b = t_s − t_x against t_x − t0."""
    x = [float(ind) - t0 for _, _, ind in points]
    y = [float(ref) - float(ind) for _, ref, ind in points]
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((xi - mx) ** 2 for xi in x)
    b1 = sum((xi - mx) * (yi - my) for xi, yi in zip(x, y, strict=True)) / sxx
    b0 = my - b1 * mx
    s2 = sum((yi - b0 - b1 * xi) ** 2 for xi, yi in zip(x, y, strict=True)) / (n - 2)
    u_b0, u_b1 = math.sqrt(s2 * (1 / n + mx**2 / sxx)), math.sqrt(s2 / sxx)
    return {"b0": b0, "b1": b1, "u_b0": u_b0, "u_b1": u_b1, "r": -s2 * mx / sxx / (u_b0 * u_b1), "s": math.sqrt(s2)}


def _record_curve(thermo: ThermometerWorld, points: list[tuple[str, str, str]]) -> int:
    return thermo.record(BATH, readings=[workflow.ReadingInput(p, ref, ind) for p, ref, ind in points])


def test_thermometer_calibration_states_its_least_squares_correction_curve(thermo) -> None:
    platform = thermo.platform
    rid = _record_curve(thermo, CURVE_POINTS)
    expected = textbook_line(CURVE_POINTS, 20.0)
    curve = record_row(platform, rid).correction_curve
    assert (curve["x_offset"], curve["unit"], curve["points"], curve["dof"]) == ("20", "°C", "5", "3")
    assert float(curve["b0"]) == pytest.approx(expected["b0"], abs=0.5 * 10 ** -(len(curve["b0"].split(".")[1])))
    assert float(curve["b1"]) == pytest.approx(expected["b1"], abs=0.5 * 10 ** -(len(curve["b1"].split(".")[1])))
    for key in ("u_b0", "u_b1", "s"):
        stored = curve["residual_sd" if key == "s" else key]
        assert float(stored) == pytest.approx(expected[key], rel=0.05), key  # two significant digits
    assert float(curve["r"]) == pytest.approx(expected["r"], abs=0.0005)
    workflow.check_record(platform.uow(), world.confirm(platform, thermo.lab.checker), rid)
    number = workflow.approve_record(platform.uow(), world.confirm(platform, thermo.lab.approver), rid)
    with platform.engine.connect() as c:
        stored = c.execute(select(certificates.c.payload).where(certificates.c.number == number)).scalar_one()
    payload = json.loads(stored)
    assert payload["correction_curve"] == curve  # signed with the certificate
    for lang, title in (("zh-CN", "修正值曲线"), ("en", "Correction curve")):
        for as_ in clients(platform):
            client = as_(thermo.lab.approver)
            client.get(f"/lang/{lang}?next=/")
            page = client.get(f"/work/certificates/{number}").text + client.get(f"/work/records/{rid}").text
        assert page.count(title) == 2
        assert f"b(t) = {curve['b0']} + {curve['b1']} · (t − 20 °C)" in page
        assert curve["u_b0"] in page and curve["r"] in page


def test_a_calibration_with_two_points_states_no_curve(thermo) -> None:
    rid = _record_curve(thermo, CURVE_POINTS[:2])
    assert record_row(thermo.platform, rid).correction_curve is None


def test_points_on_one_reading_name_why_the_curve_cannot_be_fitted(thermo) -> None:
    same = [(p, ref, "20.00") for p, ref, _ in CURVE_POINTS[:3]]
    curve = record_row(thermo.platform, _record_curve(thermo, same)).correction_curve
    assert "the x values must not all be equal" in curve["problem"]


def test_ledger_audit_names_a_correction_curve_changed_with_sql(platform) -> None:
    thermo = ThermometerWorld(platform)
    rid = _record_curve(thermo, CURVE_POINTS)
    issue_checkpoint(platform)
    assert audit(platform).clean
    forged = {**record_row(platform, rid).correction_curve, "b0": "0.000"}
    tamper.sql(
        platform, update(verification_records).where(verification_records.c.id == rid).values(correction_curve=forged)
    )
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert ("changed", "verification_records", str(rid)) in found
