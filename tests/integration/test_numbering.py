"""Certificate numbers are unique and gap-free per institution and year, also with concurrent issuers,
and a rolled-back issuance consumes no number."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import select

from jiliang.certificates.tables import certificates
from jiliang.platform import shanghai_today
from jiliang.verification import service as workflow
from tests.support import issuer, world


def _checked_records(platform, lab, owner, n):
    ids = []
    for _ in range(n):
        [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
        rid = world.record(platform, lab, task)
        workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)
        ids.append(rid)
    return ids


def _seqs(platform, institution_id):
    with platform.engine.connect() as c:
        return sorted(
            c.execute(
                select(certificates.c.seq).where(
                    certificates.c.institution_id == institution_id, certificates.c.year == shanghai_today().year
                )
            ).scalars()
        )


def test_two_processes_issuing_at_once_get_unique_gap_free_numbers(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    records = _checked_records(platform, lab, owner, 24)
    platform.engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            jobs = [
                pool.apply_async(
                    issuer.approve_all,
                    (
                        platform.settings.database_url,
                        str(platform.settings.data_dir),
                        lab.approver.user_id,
                        world.PASSWORD,
                        part,
                        start,
                    ),
                )
                for part in (records[0::2], records[1::2])
            ]
            numbers = [n for j in jobs for n in j.get(timeout=120)]
    assert len(set(numbers)) == 24
    assert _seqs(platform, lab.institution_id) == list(range(1, 25))


def test_rolled_back_issuance_consumes_no_number(platform):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    first, second = _checked_records(platform, lab, owner, 2)
    approver = world.confirm(platform, lab.approver)
    uow = platform.uow()
    with pytest.raises(RuntimeError), uow:
        workflow.approve_record(uow, approver, first)
        raise RuntimeError("e.g. the disk filled up after signing")
    assert _seqs(platform, lab.institution_id) == []
    n1 = workflow.approve_record(platform.uow(), approver, second)
    n2 = workflow.approve_record(platform.uow(), approver, first)
    assert _seqs(platform, lab.institution_id) == [1, 2]
    assert n1.endswith("-000001") and n2.endswith("-000002")
