"""The audit reads each leaf once, in ranges of whole tiles (issue 14): what it finds does not depend on
where the ranges fall or on how many workers read them, and the rows it reads straight from the driver
give the very fields the ledger writes leaves from."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import update

from jiliang.ledger import auditor
from jiliang.ledger.append import append_leaves
from jiliang.ledger.auditor import audit
from jiliang.ledger.leaf import leaf_data
from jiliang.ledger.projections import BY_NAME, iter_driver_fields, iter_fields
from jiliang.ledger.rights import rights_findings
from jiliang.registry.tables import instruments
from tests.support import tamper, world


def test_the_driver_reader_gives_the_fields_the_ledger_writes_for_every_projection(platform) -> None:
    lab, _ = world.issued_certificate(platform)  # records with points, standards and sign-offs; a certificate
    owner = world.make_owner(platform, "310105")
    odd = world.scale(platform, owner)
    # a JSON document with a float takes the reference serialiser: `checked` must say so
    tamper.sql(platform, update(instruments).where(instruments.c.id == odd).values(parameters={"e": 0.5, "n": [1]}))
    with platform.engine.connect() as conn:
        for projection in BY_NAME.values():  # the older projections too: a leaf may name any of them
            expected = list(iter_fields(conn, projection))
            for batch in (2, 5000):  # several keyset pages, and one
                got = list(iter_driver_fields(conn, projection, batch=batch))
                assert got == expected, projection.name
                assert [f.checked for _, f in got] == [f.checked for _, f in expected], projection.name
            if len(expected) > 2:  # a range within the table, as a worker reads it
                lo, hi = expected[1][1][projection.key], expected[-2][1][projection.key]
                within = list(iter_driver_fields(conn, projection, batch=2, bounds=(lo, hi)))
                assert within == list(iter_fields(conn, projection, batch=2, bounds=(lo, hi)))
                assert len(within) == len(expected) - 2
        assert any(not f.checked for _, f in iter_driver_fields(conn, BY_NAME["instrument/v1"]))


def _bench_leaves(n: int) -> list[tuple[str, str, int, bytes]]:
    """Leaves of a kind no one may write, each record twice: version 1 in the first half, version 2
    in the second, so most records' versions lie in different ranges of tiles; three do not follow on."""
    leaves = []
    for k in range(n):
        rid, version = str(k % (n // 2)), 1 if k < n // 2 else 2
        if k == n // 2 + 7:
            version = 3  # record 7: version 3 follows version 1
        elif k == 9:
            rid = "x9"  # record 9: version 2 follows none
        elif k == n // 2 + 11:
            version = 1  # record 11: version 1 again
        leaves.append(("bench", rid, version, leaf_data("bench", rid, version, "bench/v1", {"k": k})))
    return leaves


@pytest.mark.parametrize("workers", [1, 2])
def test_an_audit_read_in_ranges_of_tiles_finds_versions_across_them_and_names_each_leaf_once(
    platform, monkeypatch, workers
) -> None:
    world.make_owner(platform)  # an audited transaction: the rights check judges what follows
    monkeypatch.setattr(auditor, "_PARALLEL_FROM", 0)
    n = 700  # several ranges of whole tiles, one worker or two
    with platform.uow() as uow:
        first = append_leaves(uow.conn, _bench_leaves(n), platform.ledger_mac)
        uow.commit()
    report = audit(platform, workers=workers)
    assert report.leaves == first + n and report.records > 0
    found = Counter((f.what, f.table, f.id, f.detail) for f in report.findings)
    half = first + n // 2
    expected = Counter(
        {
            ("deleted", "ledger_leaves", str(half + 7), "bench 7 version 3 follows version 1"): 1,
            ("deleted", "ledger_leaves", str(half + 9), "bench 9 version 2 follows version 0"): 1,
            ("reordered", "ledger_leaves", str(half + 11), "bench 11 version 1 follows version 1"): 1,
        }
    )
    rid = {first + k: leaf[1] for k, leaf in enumerate(_bench_leaves(n))}
    for idx in range(first, first + n):  # every leaf of the run, named once, by its own record id
        why = f"leaf {idx} was written by the platform, without the right to change a bench then"
        expected[("unauthorised", "bench", rid[idx], why)] += 1
    assert found == expected
    # the rights check reading the leaves itself judges the same
    with platform.engine.connect() as conn:
        alone = rights_findings(conn)
    assert alone == [f for f in report.findings if f.what == "unauthorised"]
