"""Issuing hands the ledger the rows it just wrote instead of reading them back (issue 14): each such
leaf must be byte for byte the leaf the row read back from the database gives, for every shape of
record (a scale's whole JJG 539 test, an EV charger with its budget and JJF 1094 decision, a
thermometer calibration with its correction curve), and the audit must find nothing."""

from __future__ import annotations

from sqlalchemy import select

from jiliang.ledger.append import track
from jiliang.ledger.auditor import audit
from jiliang.ledger.leaf import leaf_data
from jiliang.ledger.projections import CURRENT, load_fields
from jiliang.ledger.tables import ledger_leaves
from jiliang.platform import shanghai_today
from jiliang.verification import service as workflow
from jiliang.verification.store import set_where_in
from jiliang.verification.tables import verification_records
from tests.support import world
from tests.support.uncertainty_world import ev_charger_task, thermometer_task

BATH = {"bath_uniformity": "0.01", "bath_stability": "0.005"}


def _issue(platform, lab, entries) -> list[int]:  # type: ignore[no-untyped-def]
    """Record, check and approve in one transaction, as a batch does."""
    v, c, a = (world.confirm(platform, p) for p in (lab.verifier, lab.checker, lab.approver))
    uow = platform.uow()
    with uow:
        records = workflow.record_results_batch(uow, v, entries)
        workflow.check_records(uow, c, records)
        workflow.approve_records(uow, a, records)
        uow.commit()
    return records


def _results(standard_id: int, readings, stage, **environment: str) -> workflow.ResultsInput:  # type: ignore[no-untyped-def]
    return workflow.ResultsInput(
        performed_on=shanghai_today(),
        standard_ids=[standard_id],
        readings=readings,
        stage=stage,
        environment={"温度": "20.3 °C", **environment},
    )


def _leaves_equal_rows_read_back(platform) -> int:  # type: ignore[no-untyped-def]
    """Every record and certificate leaf against the leaf its live row gives; returns how many."""
    compared = 0
    with platform.engine.connect() as c:
        for kind in ("verification_record", "certificate"):
            projection = CURRENT[kind]
            leaves = c.execute(
                select(ledger_leaves.c.record_id, ledger_leaves.c.version, ledger_leaves.c.data).where(
                    ledger_leaves.c.kind == kind
                )
            ).all()
            rows = load_fields(c, projection, [leaf.record_id for leaf in leaves])
            for leaf in leaves:
                expected = leaf_data(kind, leaf.record_id, leaf.version, projection.name, rows[leaf.record_id])
                assert bytes(leaf.data) == expected, (kind, leaf.record_id)
                compared += 1
    return compared


def test_leaves_handed_over_are_the_leaves_read_back_for_every_record_shape(platform) -> None:
    owner = world.make_owner(platform)
    scales = world.make_lab(platform, "D310104", ["nawi"])
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(4)])
    _issue(
        platform,
        scales,
        [
            (t, _results(scales.standard_id, world.SCALE_PASS if i % 2 else world.SCALE_FAIL, "subsequent"))
            for i, t in enumerate(tasks)
        ],
    )
    ev = ev_charger_task(platform, standard_U="0.2")
    _issue(
        platform,
        ev.lab,
        [
            (
                ev.task_id,
                _results(ev.lab.standard_id, [workflow.ReadingInput("energy", "10.000", "10.02")], "subsequent"),
            )
        ],
    )
    th = thermometer_task(platform)
    readings = [
        workflow.ReadingInput("t1", "0.000", "0.02"),
        workflow.ReadingInput("t2", "20.000", "20.03"),
        workflow.ReadingInput("t3", "40.000", "39.98"),
    ]
    _issue(platform, th.lab, [(th.task_id, _results(th.lab.standard_id, readings, None, **BATH))])

    assert _leaves_equal_rows_read_back(platform) == 2 * 6  # 6 records, 6 certificates
    assert [f for f in audit(platform).findings] == []


def test_a_record_changed_another_way_in_the_same_transaction_is_read_back(platform) -> None:
    """A service that changes a handed-over record without saying what it set: the leaf holds the
    row as committed, not the row as first written."""
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    uow = platform.uow()
    with uow:
        [rid] = workflow.record_results_batch(
            uow,
            world.confirm(platform, lab.verifier),
            [(task, _results(lab.standard_id, world.SCALE_PASS, "subsequent"))],
        )
        set_where_in(uow.conn, verification_records, [rid], period_note="changed after it was written")
        track(uow, "verification_record", [rid])
        uow.commit()
    assert _leaves_equal_rows_read_back(platform) == 1
    with platform.engine.connect() as c:
        data = c.execute(select(ledger_leaves.c.data).where(ledger_leaves.c.kind == "verification_record")).scalar_one()
    assert b"changed after it was written" in bytes(data)
