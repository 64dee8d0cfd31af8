"""The regulator's dashboard queries: coverage of mandatory verification by district × item, the
overdue drill-down, certificates issued per institution per month — on a world built by hand, with
every expected number counted here from that world."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select, update

from jiliang.auth import Actor, load_actor
from jiliang.certificates.service import revoke_certificate
from jiliang.errors import Forbidden
from jiliang.platform import SHANGHAI, Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.periods import add_months
from jiliang.registry.tables import instruments, regulators
from jiliang.supervision import CoverageCount, certificates_per_month, coverage, overdue
from jiliang.supervision.counts import restating
from jiliang.types import clock_at
from jiliang.verification import service as workflow
from tests.support import world

XUHUI, HUANGPU, PUDONG = "310104", "310101", "310115"
FUEL_PASS = [workflow.ReadingInput("volume", "20.00", "20.02")]  # +0.10 %, MPE ±0.30 % (JJG 443)
FUEL_FAIL = [workflow.ReadingInput("volume", "20.00", "20.20")]  # +1.0 %
WATER = [
    workflow.ReadingInput("Q1", "10.00", "10.30"),
    workflow.ReadingInput("Q2", "10.00", "10.10"),
    workflow.ReadingInput("Q3", "100.0", "101.0"),
]
GAS = [
    workflow.ReadingInput("qmin", "10.00", "10.10"),
    workflow.ReadingInput("qt", "100.0", "100.5"),
    workflow.ReadingInput("qmax", "100.0", "100.5"),
]


# ------------------------------------------------------------------ helpers


def regulator(platform: Platform, code: str) -> Actor:
    adm = world.admin(platform)
    with platform.engine.connect() as c:
        rid = c.execute(select(regulators.c.id).where(regulators.c.code == code)).scalar_one()
    uid = registry.create_user(
        platform.uow(), adm, f"reg-{code.lower()}", world.PASSWORD, f"监管 {code}", ["regulator"], regulator_id=rid
    )
    with platform.engine.connect() as c:
        return load_actor(c, uid)


def backdate_standard(platform: Platform, lab: world.Lab, since: date) -> None:
    """A calibration of the lab's standard in force since `since`, so verifications may be dated back."""
    registry.record_standard_calibration(
        platform.uow(),
        lab.manager,
        lab.standard_id,
        "上海市计量测试技术研究院",
        f"CAL-back-{lab.standard_id}",
        since,
        shanghai_today() + timedelta(days=100),
        True,
    )


def verified(
    platform: Platform,
    lab: world.Lab,
    owner: Actor,
    iid: int,
    readings: list[workflow.ReadingInput],
    stage: str = "subsequent",
    on: date | None = None,
) -> str:
    [task] = workflow.apply(platform.uow(), owner, [iid])
    return world.verify(platform, lab, task, readings, stage=stage, on=on)


def register(platform: Platform, owner: Actor, item: str, type_name: str | None, **kw: object) -> int:
    reg = registry.InstrumentRegistration(
        item_code=item,
        name=f"{item} 器具",
        serial_no=f"X{world.new_credit_code()[-8:]}",
        use="trade",
        type_id=world.type_id(platform, item, type_name) if type_name else None,
        procedure_code=item if item in platform.procedures else None,
        parameters={},
    )
    return registry.register_instrument(
        platform.uow(), owner, registry.InstrumentRegistration(**{**reg.__dict__, **kw})
    )


def gas_meter(platform: Platform, owner: Actor) -> int:
    return register(
        platform, owner, "gas_meter", "膜式燃气表 (天然气)", parameters={"accuracy_class": "1.5", "resolution": "0.01"}
    )


def fuel_due(on: date) -> date:
    """verification_periods.csv: 燃油加油机 JJG 443-2015 "<= 6 months": valid until on + 6 months − 1 day."""
    return add_months(on, 6) - timedelta(days=1)


def counts(cell: CoverageCount | None) -> tuple[int, int, int, int, int, int, float | None]:
    """(eligible, covered, overdue, never_verified, barred, no_valid_date, share)"""
    assert cell is not None
    return (cell.eligible, cell.covered, cell.overdue, cell.never_verified, cell.barred, cell.no_valid_date, cell.share)


# ------------------------------------------------------------------ the world


@pytest.fixture
def conn(platform: Platform) -> Iterator[Connection]:
    """A reading connection, closed before the test database goes (first used after the world is built)."""
    with platform.engine.connect() as c:
        yield c


@pytest.fixture
def city(platform: Platform) -> dict[str, Any]:
    """Xuhui owner A and Huangpu owner B with instruments in every standing (see the comments)."""
    today = shanghai_today()
    xlab = world.make_lab(platform, "D310104", ["fuel_dispenser", "water_meter", "nawi"])
    hlab = world.make_lab(platform, "D310101", ["fuel_dispenser"])
    backdate_standard(platform, xlab, today - timedelta(days=240))
    a = world.make_owner(platform, XUHUI)
    b = world.make_owner(platform, HUANGPU)
    w: dict[str, Any] = {"today": today, "xlab": xlab, "a": a, "b": b}

    # Xuhui, fuel dispensers (periodic, 6 months): one in each standing, registered in this order
    w["fd_late2"] = world.fuel_dispenser(platform, a)  # verified 200 days ago: overdue, the lesser
    w["fd_ok"] = world.fuel_dispenser(platform, a)  # verified 3 days ago: covered
    w["fd_late"] = world.fuel_dispenser(platform, a)  # verified 215 days ago: overdue, the most
    w["fd_new"] = world.fuel_dispenser(platform, a)  # never verified
    w["fd_fail"] = world.fuel_dispenser(platform, a)  # failed: barred
    w["fd_rev"] = world.fuel_dispenser(platform, a)  # passed, certificate revoked: no date in force
    w["fd_scrap"] = world.fuel_dispenser(platform, a)  # scrapped: not counted at all
    w["fd_moved"] = world.fuel_dispenser(platform, a)  # owner in Xuhui, used in Huangpu, never verified
    verified(platform, xlab, a, w["fd_late2"], FUEL_PASS, on=today - timedelta(days=200))
    verified(platform, xlab, a, w["fd_ok"], FUEL_PASS, on=today - timedelta(days=3))
    verified(platform, xlab, a, w["fd_late"], FUEL_PASS, on=today - timedelta(days=215))
    verified(platform, xlab, a, w["fd_fail"], FUEL_FAIL)
    number = verified(platform, xlab, a, w["fd_rev"], FUEL_PASS, on=today - timedelta(days=3))
    revoke_certificate(platform.uow(), world.confirm(platform, xlab.approver), number, "检定数据录入错误")
    registry.scrap_instrument(platform.uow(), a, w["fd_scrap"])
    registry.relocate_instrument(platform.uow(), a, w["fd_moved"], HUANGPU, "黄浦区某加油站")

    # Xuhui, domestic water meters (first verification only, service life 6 years)
    w["wm_ok"] = world.water_meter(platform, a)  # verified 10 days ago: covered until replace-by
    w["wm_new"] = world.water_meter(platform, a)  # never verified
    w["wm_untyped"] = world.water_meter(platform, a, type_name=None)  # no type: period unknown
    verified(platform, xlab, a, w["wm_ok"], WATER, stage="initial", on=today - timedelta(days=10))

    # Xuhui, scales: the catalogue gives no confirmed period for 电子计价秤, so both are "unknown"
    w["sc_ok"] = world.scale(platform, a)
    w["sc_fail"] = world.scale(platform, a)
    verified(platform, xlab, a, w["sc_ok"], world.SCALE_PASS)
    verified(platform, xlab, a, w["sc_fail"], world.SCALE_FAIL)

    # Xuhui, glass clinical thermometers (first verification only, scrapped when inaccurate)
    w["th_ok"] = register(platform, a, "clinical_thermometer", "玻璃体温计", use="medical")
    w["th_new"] = register(platform, a, "clinical_thermometer", "玻璃体温计", use="medical")
    with platform.engine.begin() as c:
        # No procedure for clinical thermometers ships, so the services cannot verify one: set the
        # cached columns exactly as an approved passing verification would (no end date: scrap mode),
        # restating the coverage counts as the services do
        with restating(c, instruments.c.id == w["th_ok"]):
            c.execute(
                update(instruments)
                .where(instruments.c.id == w["th_ok"])
                .values(last_verified_on=today - timedelta(days=20), last_conclusion="pass")
            )

    # outside the mandatory catalogue (calibration only): never counted
    w["outside"] = world.scale(platform, a, item_code=None, type_id=None, procedure_code=None, name="温湿度计")

    # Huangpu
    w["fd_b_ok"] = world.fuel_dispenser(platform, b)
    w["fd_b_new"] = world.fuel_dispenser(platform, b)
    verified(platform, hlab, b, w["fd_b_ok"], FUEL_PASS)
    return w


# ------------------------------------------------------------------ coverage


def test_city_regulator_sees_every_district_with_exact_counts_and_shares(platform, city, conn):
    table = coverage(conn, regulator(platform, "SAMR-SH"), city["today"])
    # (eligible, covered, overdue, never_verified, barred, no_valid_date, share)
    # fuel, Xuhui: fd_ok covered; fd_late and fd_late2 overdue; fd_new never; fd_fail barred; fd_rev revoked
    assert counts(table.cell(XUHUI, "fuel_dispenser")) == (6, 1, 2, 1, 1, 1, 1 / 6)
    # water meters: wm_ok covered until its replace-by date, wm_new never verified (wm_untyped apart)
    assert counts(table.cell(XUHUI, "water_meter")) == (2, 1, 0, 1, 0, 0, 1 / 2)
    # thermometers: verified once is covered (no end date); never verified is not
    assert counts(table.cell(XUHUI, "clinical_thermometer")) == (2, 1, 0, 1, 0, 0, 1 / 2)
    # Huangpu: fd_b_ok covered; fd_b_new and fd_moved (the instrument's district, not its owner's) never
    assert counts(table.cell(HUANGPU, "fuel_dispenser")) == (3, 1, 0, 2, 0, 0, 1 / 3)
    assert table.cell(XUHUI, "nawi") is None  # scales have no known period: never in a share
    assert len(table.cells) == 4

    assert [
        (u.district_code, u.item_code, u.instruments, u.never_verified, u.barred) for u in table.unknown_period
    ] == [
        (XUHUI, "nawi", 2, 0, 1),
        (XUHUI, "water_meter", 1, 1, 0),
    ]

    assert len(table.districts) == 16 and table.districts[0].code == HUANGPU
    assert [(d.code, d.name_zh, d.name_en) for d in table.districts[:2]] == [
        (HUANGPU, "黄浦区", "Huangpu"),
        (XUHUI, "徐汇区", "Xuhui"),
    ]
    by_district = {c.district_code: counts(c) for c in table.by_district}
    assert by_district[XUHUI] == (10, 3, 2, 3, 1, 1, 3 / 10)
    assert by_district[HUANGPU] == (3, 1, 0, 2, 0, 0, 1 / 3)
    assert by_district["310105"] == (0, 0, 0, 0, 0, 0, None)  # Changning: nothing registered
    assert [(i.code, i.name_zh) for i in table.items] == [
        ("clinical_thermometer", "体温计"),
        ("fuel_dispenser", "燃油加油机"),
        ("nawi", "非自动衡器"),
        ("water_meter", "水表"),
    ]
    by_item = {c.item_code: counts(c) for c in table.by_item}
    assert by_item == {
        "clinical_thermometer": (2, 1, 0, 1, 0, 0, 1 / 2),
        "fuel_dispenser": (9, 2, 2, 3, 1, 1, 2 / 9),
        "nawi": (0, 0, 0, 0, 0, 0, None),
        "water_meter": (2, 1, 0, 1, 0, 0, 1 / 2),
    }
    assert counts(table.total) == (13, 4, 2, 5, 1, 1, 4 / 13)


def test_district_regulator_sees_its_district_only_and_admin_sees_the_city(platform, city, conn):
    xuhui_regulator, huangpu_regulator = regulator(platform, "SAMR-310104"), regulator(platform, "SAMR-310101")
    xuhui = coverage(conn, xuhui_regulator, city["today"])
    assert [d.code for d in xuhui.districts] == [XUHUI]
    assert {c.district_code for c in xuhui.cells} == {XUHUI}
    assert {u.district_code for u in xuhui.unknown_period} == {XUHUI}
    assert counts(xuhui.total) == (10, 3, 2, 3, 1, 1, 3 / 10)
    huangpu = coverage(conn, huangpu_regulator, city["today"])
    assert counts(huangpu.total) == (3, 1, 0, 2, 0, 0, 1 / 3) and huangpu.unknown_period == ()
    assert [i.code for i in huangpu.items] == ["fuel_dispenser"]
    as_admin = coverage(conn, world.admin(platform), city["today"])
    assert counts(as_admin.total) == (13, 4, 2, 5, 1, 1, 4 / 13) and len(as_admin.districts) == 16


def test_verifier_and_owner_may_not_read_supervision_figures(platform, city, conn):
    for actor in (city["xlab"].verifier, city["xlab"].manager, city["a"]):
        with pytest.raises(Forbidden) as err:
            coverage(conn, actor, city["today"])
        assert err.value.status == 403
        with pytest.raises(Forbidden):
            overdue(conn, actor, city["today"])
        with pytest.raises(Forbidden):
            certificates_per_month(conn, actor, city["today"])


def test_initial_verification_only_instrument_is_covered_until_its_replace_by_date_then_overdue(platform, conn):
    lab = world.make_lab(platform, "D310104", ["water_meter", "fuel_dispenser"])
    owner = world.make_owner(platform, XUHUI)
    reg = regulator(platform, "SAMR-310104")
    on = shanghai_today() - timedelta(days=10)
    wm = world.water_meter(platform, owner)
    verified(platform, lab, owner, wm, WATER, stage="initial", on=on)
    replace_by = add_months(on, 72) - timedelta(days=1)  # JJG 162-2019: service life <= 6 years
    assert counts(coverage(conn, reg, replace_by).cell(XUHUI, "water_meter")) == (1, 1, 0, 0, 0, 0, 1.0)
    after = replace_by + timedelta(days=1)
    assert counts(coverage(conn, reg, after).cell(XUHUI, "water_meter")) == (1, 0, 1, 0, 0, 0, 0.0)
    [late] = overdue(conn, reg, after)
    assert (late.instrument_id, late.status, late.replace_by, late.due_on, late.days_overdue) == (
        wm,
        "overdue",
        replace_by,
        replace_by,
        1,
    )


def test_periodic_instrument_is_covered_on_its_last_valid_day_and_overdue_the_day_after(platform, conn):
    lab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    owner = world.make_owner(platform, XUHUI)
    reg = regulator(platform, "SAMR-310104")
    on = shanghai_today() - timedelta(days=3)
    fd = world.fuel_dispenser(platform, owner)
    verified(platform, lab, owner, fd, FUEL_PASS, on=on)
    assert coverage(conn, reg, fuel_due(on)).total.covered == 1
    assert overdue(conn, reg, fuel_due(on)) == []
    assert counts(coverage(conn, reg, fuel_due(on) + timedelta(days=1)).total) == (1, 0, 1, 0, 0, 0, 0.0)


# ------------------------------------------------------------------ overdue drill-down


def test_overdue_list_puts_the_most_overdue_first_then_the_rest_in_registration_order(platform, city, conn):
    today = city["today"]
    rows = overdue(conn, regulator(platform, "SAMR-310104"), today)
    late, late2 = fuel_due(today - timedelta(days=215)), fuel_due(today - timedelta(days=200))
    assert [(r.instrument_id, r.status, r.due_on, r.days_overdue) for r in rows] == [
        (city["fd_late"], "overdue", late, (today - late).days),
        (city["fd_late2"], "overdue", late2, (today - late2).days),
        (city["fd_new"], "never_verified", None, None),
        (city["fd_fail"], "barred", None, None),
        (city["fd_rev"], "no_valid_date", None, None),
        (city["wm_new"], "never_verified", None, None),
        (city["th_new"], "never_verified", None, None),
    ]
    first = rows[0]
    assert first.valid_until == late and first.last_verified_on == today - timedelta(days=215)
    assert (first.district_code, first.district_name_zh, first.item_code, first.item_name_zh) == (
        XUHUI,
        "徐汇区",
        "fuel_dispenser",
        "燃油加油机",
    )
    assert first.owner_id == city["a"].owner_id and first.owner_name.startswith("测试商户")
    assert first.type_name_zh == "燃油加油机" and first.serial_no.startswith("FD")
    # the barred scale has no known period: it is in coverage's unknown list, not in this one
    assert city["sc_fail"] not in {r.instrument_id for r in rows}


def test_overdue_filters_by_district_and_item_and_pages(platform, city, conn):
    today = city["today"]
    reg = regulator(platform, "SAMR-SH")
    assert [r.instrument_id for r in overdue(conn, reg, today, district=HUANGPU)] == [
        city["fd_moved"],  # registered before fd_b_new
        city["fd_b_new"],
    ]
    assert [r.instrument_id for r in overdue(conn, reg, today, district=XUHUI, item="water_meter")] == [city["wm_new"]]
    assert [r.instrument_id for r in overdue(conn, reg, today, item="clinical_thermometer")] == [city["th_new"]]
    everything = [r.instrument_id for r in overdue(conn, reg, today)]
    assert len(everything) == 7 + 2  # the 9 not-covered eligible instruments of the coverage total (13 − 4)
    assert [r.instrument_id for r in overdue(conn, reg, today, limit=3, offset=2)] == everything[2:5]


def test_asking_for_another_districts_overdue_list_is_forbidden_not_empty(platform, city, conn):
    xuhui = regulator(platform, "SAMR-310104")
    with pytest.raises(Forbidden):
        overdue(conn, xuhui, city["today"], district=HUANGPU)
    assert len(overdue(conn, xuhui, city["today"], district=XUHUI)) == 7


def test_lingang_regulator_counts_only_instruments_registered_in_its_zone(platform, conn):
    owner = world.make_owner(platform, PUDONG)
    in_zone = register(
        platform, owner, "fuel_dispenser", "燃油加油机", zone="lingang", parameters={"resolution": "0.01"}
    )
    register(platform, owner, "fuel_dispenser", "燃油加油机", parameters={"resolution": "0.01"})
    lingang = regulator(platform, "SAMR-LG")
    today = shanghai_today()
    table = coverage(conn, lingang, today)
    assert [d.code for d in table.districts] == [PUDONG]
    assert counts(table.total) == (1, 0, 0, 1, 0, 0, 0.0)
    assert [r.instrument_id for r in overdue(conn, lingang, today, district=PUDONG)] == [in_zone]
    # a zone is not tied to district codes: another district is allowed and simply has nothing of the zone
    assert overdue(conn, lingang, today, district=XUHUI) == []


# ------------------------------------------------------------------ certificates per month


def _shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def test_certificates_per_institution_per_shanghai_month_in_the_jurisdiction(platform, conn):
    today = shanghai_today()
    m0 = today.replace(day=1)
    m1, m2, m3 = add_months(m0, -1), add_months(m0, -2), add_months(m0, -3)
    xlab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    hlab = world.make_lab(platform, "D310101", ["fuel_dispenser"])
    simt = world.make_lab(platform, "SIMT", ["gas_meter"])
    for lab in (xlab, hlab, simt):
        backdate_standard(platform, lab, m3 - timedelta(days=1))
    a, b = world.make_owner(platform, XUHUI), world.make_owner(platform, HUANGPU)

    def issue_at(
        moment: datetime | None, lab: world.Lab, owner: Actor, kind: str, readings: list[workflow.ReadingInput]
    ) -> None:
        if moment is None:
            iid = gas_meter(platform, owner) if kind == "gas" else world.fuel_dispenser(platform, owner)
            verified(platform, lab, owner, iid, readings, stage="initial" if kind == "gas" else "subsequent")
            return
        with clock_at(moment):
            issue_at(None, lab, owner, kind, readings)

    # Xuhui instruments
    issue_at(_shanghai(m1, 0, 30), xlab, a, "fuel", FUEL_PASS)  # 00:30 Shanghai = previous UTC day: month m1
    issue_at(_shanghai(m1 - timedelta(days=1), 23, 30), xlab, a, "fuel", FUEL_PASS)  # last evening of m2
    issue_at(_shanghai(m2 + timedelta(days=9), 10), xlab, a, "fuel", FUEL_FAIL)  # a notice counts too: m2
    issue_at(_shanghai(m3 + timedelta(days=4), 10), xlab, a, "fuel", FUEL_PASS)  # m3: outside 3 months
    issue_at(_shanghai(m1 + timedelta(days=3), 10), simt, a, "gas", GAS)  # the city institute, Xuhui meter: m1
    # Huangpu instruments
    issue_at(_shanghai(m1 + timedelta(days=2), 10), hlab, b, "fuel", FUEL_PASS)  # m1
    issue_at(None, simt, b, "gas", GAS)  # now: m0

    city_regulator, xuhui_regulator = regulator(platform, "SAMR-SH"), regulator(platform, "SAMR-310104")
    city = certificates_per_month(conn, city_regulator, today, months=3)
    assert city.months == (m2, m1, m0)
    assert [(s.code, s.name_zh, s.counts, s.total) for s in city.institutions] == [
        ("D310101", "黄浦区计量所", (0, 1, 0), 1),
        ("D310104", "徐汇区计量所", (2, 1, 0), 3),
        ("SIMT", "上海市计量测试技术研究院", (0, 1, 1), 2),
    ]
    assert city.totals == (2, 3, 1) and city.total == 6

    xuhui = certificates_per_month(conn, xuhui_regulator, today, months=3)
    # the city institute's certificate for the Huangpu meter is not Xuhui's to see
    assert [(s.code, s.counts) for s in xuhui.institutions] == [("D310104", (2, 1, 0)), ("SIMT", (0, 1, 0))]
    assert xuhui.totals == (2, 2, 0) and xuhui.total == 4

    four = certificates_per_month(conn, xuhui_regulator, today, months=4)
    assert four.months == (m3, m2, m1, m0)
    assert [(s.code, s.counts) for s in four.institutions] == [("D310104", (1, 2, 1, 0)), ("SIMT", (0, 0, 1, 0))]

    as_admin = certificates_per_month(conn, world.admin(platform), today, months=3)
    assert as_admin.totals == city.totals


def test_revoking_the_certificate_of_an_initial_only_instrument_uncovers_it(platform, conn):
    # a first-only instrument's certificate has no valid-until; revoking it must still end its cover
    lab = world.make_lab(platform, "D310104", ["water_meter"])
    owner = world.make_owner(platform, XUHUI)
    reg = regulator(platform, "SAMR-310104")
    today = shanghai_today()
    wm = world.water_meter(platform, owner)
    number = verified(platform, lab, owner, wm, WATER, stage="initial", on=today - timedelta(days=3))
    assert counts(coverage(conn, reg, today).cell(XUHUI, "water_meter")) == (1, 1, 0, 0, 0, 0, 1.0)
    revoke_certificate(platform.uow(), world.confirm(platform, lab.approver), number, "检定数据录入错误")
    conn.rollback()  # a new snapshot
    assert counts(coverage(conn, reg, today).cell(XUHUI, "water_meter")) == (1, 0, 0, 0, 0, 1, 0.0)
    [row] = overdue(conn, reg, today)
    assert (row.instrument_id, row.status) == (wm, "no_valid_date")
