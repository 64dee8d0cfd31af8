"""The coverage counts the dashboard reads (supervision/counts.py) stay equal to a full recount of the
instruments through every change the services make — registration, a verification passed or failed, a
revocation, a move to another district, scrapping, a catalogue type's period corrected — on the basis
day and on any other day (corrected by the instruments whose dates lie between), also after the basis
advances; and a count edited in the database is named by the audit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from jiliang.certificates import service as certificates
from jiliang.ledger.auditor import audit
from jiliang.platform import shanghai_today
from jiliang.registry import catalogue_admin
from jiliang.registry import service as registry
from jiliang.registry.tables import instruments
from jiliang.supervision.counts import advance, counts_on, coverage_counts, differences, recount
from jiliang.verification import service as workflow
from tests.support import world


def _agree(platform, *days) -> None:  # type: ignore[no-untyped-def]
    """The kept counts, corrected to each day, equal a recount on that day (non-empty, to mean something)."""
    with platform.engine.connect() as c:
        for day in days:
            everything = instruments.c.id.is_not(None)
            kept = counts_on(c, day, everything, coverage_counts.c.n.is_not(None))
            assert kept == recount(c, day), day
            assert differences(c, day) == {}
    assert kept


def test_the_kept_counts_equal_a_recount_through_every_change_and_on_every_day(platform) -> None:
    today = shanghai_today()
    days = (today, today - timedelta(days=30), today + timedelta(days=200), today + timedelta(days=400))
    scale_type = world.type_id(platform, "nawi", "数字指示秤/电子计价秤")
    admin, source = world.admin(platform), "沪市监计量〔2026〕9 号"
    # the shipped catalogue leaves the scales' period unknown: a regulator's notice gives it (12 months)
    yearly = catalogue_admin.TypeCorrection(source=source, mode="periodic", period_months=12)
    catalogue_admin.correct_catalogue_type(platform.uow(), admin, scale_type, yearly)
    lab = world.make_lab(platform, "D310104", ["nawi", "water_meter"])
    xuhui = world.make_owner(platform, "310104")
    scales = [world.scale(platform, xuhui) for _ in range(5)]
    meter = world.water_meter(platform, xuhui)
    _agree(platform, *days)  # registered: never verified

    tasks = workflow.apply(platform.uow(), xuhui, [*scales[:3], scales[4]])
    passed = world.verify(platform, lab, tasks[0])  # covered for a year, then overdue
    world.verify(platform, lab, tasks[1], world.SCALE_FAIL)  # barred
    world.verify(platform, lab, tasks[2], stage="in_service")  # an inspection: renews nothing
    world.verify(platform, lab, tasks[3])  # kept as it is: covered until its valid-until passes
    _agree(platform, *days)

    registry.relocate_instrument(platform.uow(), xuhui, scales[0], "310101", "黄浦区门店")  # another district
    registry.scrap_instrument(platform.uow(), xuhui, scales[3])  # leaves the register
    _agree(platform, *days)

    certificates.revoke_certificate(platform.uow(), world.confirm(platform, lab.approver), passed, "证书信息错误")
    _agree(platform, *days)

    # the basis moves on (the daily job): the counts then hold that day, and still correct to others
    with platform.engine.begin() as c:
        assert advance(c, today + timedelta(days=400)) > 0  # the verified scale fell overdue meanwhile
    _agree(platform, *days)

    # the scales' period is withdrawn as unsourced: every scale's standing is restated at once
    unknown = catalogue_admin.TypeCorrection(source=source, mode="unknown")
    catalogue_admin.correct_catalogue_type(platform.uow(), admin, scale_type, unknown)
    _agree(platform, *days)
    with platform.engine.connect() as c:
        assert {k[3] for k in recount(c, today) if k[2] == "nawi"} == {"unknown"}
    assert meter  # the water meter (limited use, never verified) was counted throughout


def test_a_count_edited_in_the_database_is_named_by_the_audit(platform) -> None:
    owner = world.make_owner(platform, "310104")
    world.scale(platform, owner)
    assert [f for f in audit(platform).findings if f.table == "coverage_counts"] == []
    with platform.engine.begin() as c:
        c.execute(
            update(coverage_counts).where(coverage_counts.c.item_code == "nawi").values(n=coverage_counts.c.n + 5)
        )
    found = [f for f in audit(platform).findings if f.table == "coverage_counts"]
    assert len(found) == 1 and found[0].id.startswith("310104/-/nawi/") and "kept 6, recounted 1" in found[0].detail
