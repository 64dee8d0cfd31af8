"""A cheap guard on the hot path of issuing (instead of a timed test): a batch of certificates takes
the same number of SQL statements however many certificates it holds and however many readings each
record has (the regulation's whole JJG 539 test or an in-service weighing test), and so does a batch
mixing procedures with uncertainty budgets (EV chargers, thermometer calibrations)."""

from __future__ import annotations

from itertools import count

from sqlalchemy import select

from jiliang.auth import confirm_password, load_actor
from jiliang.platform import shanghai_today
from jiliang.verification import service as workflow
from jiliang.verification.tables import measurement_points
from tests.support import jjg539, world
from tests.support.lists import counted
from tests.support.uncertainty_world import budget_standards, register_ev_charger, register_thermometer

_serial = count(1)
# statements per batch, recorded 2026-12-01 (issue 14): 42 for scales, 44 with budgets (SQLite and PostgreSQL);
# 2026-12-02 (issue 17): 46 and 48, the coverage counts restated in the same transaction (the basis day, the
# instruments' counts before and after, one upsert: 4 statements a batch, whatever its size); then 49 and 51,
# the owners' reminders re-planned in the same transaction (the instruments' due dates, the owners' channels,
# the notices written: 3 statements a batch up to 500 instruments)
BUDGET = 52


def _issue_batch(platform, lab, owner, n: int, readings, stage: str) -> int:  # type: ignore[no-untyped-def]
    """Statements to record, check and approve n certificates in one transaction (as the batch API does)."""
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(n)])
    entries = [
        (t, workflow.ResultsInput(shanghai_today(), [lab.standard_id], readings, stage, {"temperature": "20 °C"}))
        for t in tasks
    ]
    return _statements(platform, lab, entries)


def _statements(platform, lab, entries) -> int:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        v, ch, ap = (
            confirm_password(c, load_actor(c, p.user_id), world.PASSWORD)
            for p in (lab.verifier, lab.checker, lab.approver)
        )
    with counted(platform) as statements:
        uow = platform.uow()
        with uow:
            ids = workflow.record_results_batch(uow, v, entries)
            workflow.check_records(uow, ch, ids)
            workflow.approve_records(uow, ap, ids)
            uow.commit()
    return len(statements)


def test_statements_per_batch_do_not_grow_with_certificates_or_readings(platform) -> None:
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    full, weighing = world.SCALE_PASS, jjg539.as_inputs(jjg539.weighing())
    assert len(full) == 20 and len(weighing) == 6
    # batches above bulk.insert_returning_ids's threshold of 8 rows (smaller ones insert row by row)
    twelve = _issue_batch(platform, lab, owner, 12, full, "subsequent")
    twenty_four = _issue_batch(platform, lab, owner, 24, full, "subsequent")
    assert twelve == twenty_four <= BUDGET, (twelve, twenty_four)
    # an in-service inspection renews nothing: one UPDATE of the instruments fewer (and, its passes leaving
    # every standing as it was, no coverage count to change), not more per reading
    assert _issue_batch(platform, lab, owner, 24, weighing, "in_service") in (twelve - 1, twelve - 2)


def _budget_batch(platform, lab, owner, standards: dict[str, int], n: int) -> int:  # type: ignore[no-untyped-def]
    """n EV AC chargers and n thermometers sent for calibration, alternating, in one batch at SIMT."""
    chargers = [register_ev_charger(platform, owner, f"EV-{next(_serial)}", "0.001") for _ in range(n)]
    thermometers = [register_thermometer(platform, owner, f"TH-{next(_serial)}") for _ in range(n)]
    ev_tasks = workflow.apply(platform.uow(), owner, chargers)
    th_tasks = workflow.apply(platform.uow(), owner, thermometers, kind="calibration", conformity_statement=False)
    today = shanghai_today()
    energy = [workflow.ReadingInput("energy", "10.000", "10.02")]
    bath = [workflow.ReadingInput("t1", "0.000", "0.02"), workflow.ReadingInput("t2", "20.000", "20.03")]
    env = {"temperature": "20.3 °C", "bath_uniformity": "0.01", "bath_stability": "0.005"}
    entries = []
    for ev, th in zip(ev_tasks, th_tasks, strict=True):
        entries.append((ev, workflow.ResultsInput(today, [standards["energy"]], energy, "subsequent", env)))
        entries.append((th, workflow.ResultsInput(today, [standards["thermometer"]], bath, None, env)))
    return _statements(platform, lab, entries)


def test_a_batch_with_uncertainty_budgets_takes_no_statement_per_certificate(platform) -> None:
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "SIMT", ["ev_charger"])  # chargers and calibrations go to the city institute
    standards = budget_standards(platform, lab)
    small = _budget_batch(platform, lab, owner, standards, 6)
    large = _budget_batch(platform, lab, owner, standards, 12)
    assert small == large <= BUDGET, (small, large)
    with platform.engine.connect() as c:
        units = c.execute(select(measurement_points.c.uncertainty)).scalars().all()
    assert {u["unit"] for u in units if u} == {"%", "°C"}  # both budgets were evaluated
