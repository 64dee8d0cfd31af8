"""A batch (many records in one transaction) stores exactly what single steps store; on PostgreSQL
this is the COPY path of `jiliang.bulk`."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from jiliang.audit import audit_events, history
from jiliang.certificates.queries import signature_valid
from jiliang.certificates.tables import certificates
from jiliang.platform import shanghai_today
from jiliang.verification import service as workflow
from jiliang.verification.tables import measurement_points, signoffs, verification_records
from tests.support import world


def test_a_batch_of_twelve_in_one_transaction_is_complete_and_signed(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(12)])
    v, c, a = (world.confirm(platform, p) for p in (lab.verifier, lab.checker, lab.approver))
    uow = platform.uow()
    with uow:
        entries = [
            (
                t,
                workflow.ResultsInput(
                    performed_on=shanghai_today(),
                    standard_ids=[lab.standard_id],
                    readings=world.SCALE_PASS if i % 4 else world.SCALE_FAIL,
                    stage="subsequent",
                    environment={"温度": "20 °C"},
                ),
            )
            for i, t in enumerate(tasks)
        ]
        records = workflow.record_results_batch(uow, v, entries)
        workflow.check_records(uow, c, records)
        numbers = workflow.approve_records(uow, a, records)
        uow.commit()
    assert [int(n[-6:]) for n in numbers] == list(range(1, 13))
    with platform.engine.connect() as conn:
        n_points = conn.execute(
            select(func.count()).select_from(measurement_points).where(measurement_points.c.record_id.in_(records))
        ).scalar_one()
        assert n_points == 9 * len(world.SCALE_PASS) + 3 * len(world.SCALE_FAIL)
        assert (
            conn.execute(
                select(func.count()).select_from(signoffs).where(signoffs.c.record_id.in_(records))
            ).scalar_one()
            == 36
        )
        kinds = [r.kind for r in conn.execute(select(certificates).order_by(certificates.c.seq))]
        assert kinds.count("nonconformity") == 3 and kinds.count("verification") == 9
        for cert in conn.execute(select(certificates)):
            assert signature_valid(conn, cert)
            assert json.loads(cert.payload)["record"]["environment"] == {"温度": "20 °C"}
        assert conn.execute(select(verification_records.c.status).distinct()).scalars().all() == ["approved"]
        events = history(conn, "verification_record", records[0])
        assert [e["action"] for e in events] == [
            "verification.recorded",
            "verification.checked",
            "verification.approved",
        ]
        assert events[-1]["after"]["certificate"] == numbers[0]  # JSON read back as JSON
        assert (
            conn.execute(
                select(func.count()).select_from(audit_events).where(audit_events.c.action == "certificate.issued")
            ).scalar_one()
            == 12
        )
