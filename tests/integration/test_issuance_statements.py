"""A cheap guard on the hot path of issuing (instead of a timed test): a batch of certificates takes
the same number of SQL statements however many certificates it holds and however many readings each
record has (the regulation's whole JJG 539 test or an in-service weighing test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from jiliang.auth import confirm_password, load_actor
from jiliang.platform import shanghai_today
from jiliang.verification import service as workflow
from tests.support import jjg539, world


@contextmanager
def counted(platform) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(platform.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(platform.engine, "before_cursor_execute", count)


def _issue_batch(platform, lab, owner, n: int, readings, stage: str) -> int:  # type: ignore[no-untyped-def]
    """Statements to record, check and approve n certificates in one transaction (as the batch API does)."""
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(n)])
    with platform.engine.connect() as c:
        v, ch, ap = (
            confirm_password(c, load_actor(c, p.user_id), world.PASSWORD)
            for p in (lab.verifier, lab.checker, lab.approver)
        )
    entries = [
        (t, workflow.ResultsInput(shanghai_today(), [lab.standard_id], readings, stage, {"temperature": "20 °C"}))
        for t in tasks
    ]
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
    assert twelve == twenty_four <= 50, (twelve, twenty_four)
    # an in-service inspection renews nothing: one UPDATE of the instruments fewer, not more per reading
    assert _issue_batch(platform, lab, owner, 24, weighing, "in_service") == twelve - 1
