"""The ledger as services write it: one leaf per changed record in the change's own transaction, a
stored tree whose roots and proofs equal the RFC 9162 reference over the same leaves, and signed
checkpoints."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from jiliang.errors import JiliangError
from jiliang.ledger import merkle
from jiliang.ledger.append import append_leaves
from jiliang.ledger.checkpoints import checkpoint_log_path, issue_checkpoint, read_checkpoint_log
from jiliang.ledger.keys import checkpoint_verifiers
from jiliang.ledger.leaf import parse_leaf
from jiliang.ledger.note import parse_note
from jiliang.ledger.tables import ledger_leaves
from jiliang.ledger.tiles import TileReader
from jiliang.verification import service as workflow
from tests.support import world


def _leaves(platform):  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return c.execute(select(ledger_leaves).order_by(ledger_leaves.c.idx)).all()


def test_a_verification_appends_its_records_and_certificate(platform) -> None:
    before = len(_leaves(platform))  # the catalogue and keys ledgered at init
    assert before > 0
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    number = world.verify(platform, lab, task)
    rows = _leaves(platform)
    assert [r.idx for r in rows] == list(range(len(rows)))  # gap-free
    kinds = [(r.kind, r.version) for r in rows[before:]]
    # recorded, checked, approved: three versions of the record, each step its own transaction
    assert [v for k, v in kinds if k == "verification_record"] == [1, 2, 3]
    cert = [parse_leaf(r.data) for r in rows if r.kind == "certificate"]
    assert [c.id for c in cert] == [number]
    assert cert[0].fields["status"] == "valid" and len(cert[0].fields["payload_sha256"]) == 64
    record = parse_leaf(next(r.data for r in reversed(rows) if r.kind == "verification_record"))
    assert record.fields["status"] == "approved"
    assert [s["step"] for s in record.fields["signoffs"]] == ["verify", "check", "approve"]
    assert [p["indication"] for p in record.fields["points"]] == [r.indication for r in world.SCALE_PASS]


def test_a_failed_step_leaves_no_leaf(platform) -> None:
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    rid = world.record(platform, lab, task)
    size = len(_leaves(platform))
    with pytest.raises(JiliangError):  # the verifier may not check their own record
        workflow.check_record(platform.uow(), world.confirm(platform, lab.verifier), rid)
    assert len(_leaves(platform)) == size


def test_stored_tree_matches_the_reference_at_every_size(platform) -> None:
    rng = random.Random(7)
    with platform.uow() as uow:
        base = len(_leaves(platform))
        for n in [1, 2, 3, 255, 256, 257, 700, 66000 - 1214]:  # crosses tile and level boundaries
            append_leaves(uow.conn, [("bench", str(k), 1, rng.randbytes(40)) for k in range(n)])
        uow.commit()
    hashes = [merkle.leaf_hash(r.data) for r in _leaves(platform)]
    assert len(hashes) > 65536 + base
    with platform.engine.connect() as c:
        reader = TileReader(c)
        for size in [1, 2, 7, 256, 257, 65536, 65537, len(hashes)]:
            assert reader.root(size) == merkle.root(hashes[:size])
        for _ in range(8):
            size = rng.randrange(1, len(hashes) + 1)
            index, first = rng.randrange(size), rng.randrange(1, size + 1)
            assert reader.inclusion(index, size) == merkle.inclusion_proof(hashes[:size], index)
            assert reader.consistency(first, size) == merkle.consistency_proof(hashes[:size], first)


def test_checkpoints_sign_the_tree_head_and_are_copied_outside(platform) -> None:
    first = issue_checkpoint(platform)
    assert first is not None and first.new
    assert issue_checkpoint(platform).new is False  # nothing appended since: no new checkpoint
    world.make_owner(platform, "310104")
    second = issue_checkpoint(platform)
    assert second.number == first.number + 1 and second.size > first.size
    hashes = [merkle.leaf_hash(r.data) for r in _leaves(platform)]
    cp, lines = parse_note(second.note)
    assert cp.size == len(hashes) and cp.root_hash == merkle.root(hashes)
    assert cp.origin == platform.settings.ledger_origin and cp.time is not None
    with platform.engine.connect() as c:
        verifiers = checkpoint_verifiers(c, cp.origin)
    body = second.note.split("\n\n")[0] + "\n"
    assert any(v.verify(body, lines[0]) for v, _ in verifiers.values())
    tampered = body.replace(str(cp.size), str(cp.size + 1), 1)
    assert not any(v.verify(tampered, lines[0]) for v, _ in verifiers.values())
    copies = read_checkpoint_log(checkpoint_log_path(platform.settings))
    assert copies[second.number] == second.note and copies[first.number] == first.note


def test_serving_signs_checkpoints_on_a_schedule(platform) -> None:
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from jiliang.api import create_app
    from jiliang.ledger.checkpoints import latest_checkpoint
    from jiliang.ledger.schedule import with_checkpoint_schedule
    from jiliang.platform import Platform

    scheduled = Platform(replace(platform.settings, checkpoint_interval=1), platform.engine)
    with TestClient(with_checkpoint_schedule(create_app(scheduled), scheduled)):
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with platform.engine.connect() as c:
                if latest_checkpoint(c) is not None:
                    break
            time.sleep(0.1)
        with platform.engine.connect() as c:
            first = latest_checkpoint(c)
        assert first is not None and first.size == len(_leaves(platform))  # signed at start-up
        world.make_owner(platform, "310104")
        while time.monotonic() < deadline + 5:
            with platform.engine.connect() as c:
                if latest_checkpoint(c).number > first.number:
                    break
            time.sleep(0.1)
        with platform.engine.connect() as c:
            assert latest_checkpoint(c).size == len(_leaves(platform))  # and again once the tree grew


def test_a_database_from_before_the_ledger_is_adopted_once(platform) -> None:
    from sqlalchemy import delete

    from jiliang.ledger.append import adopt_existing
    from jiliang.ledger.auditor import audit
    from jiliang.ledger.procedures import sync_procedures
    from jiliang.ledger.tables import ledger_head, ledger_tiles

    world.make_owner(platform, "310104")
    with platform.engine.begin() as c:  # as after upgrading a database of the foundation release
        for table in (ledger_leaves, ledger_tiles, ledger_head):
            c.execute(delete(table))
    assert adopt_existing(platform.uow()) > 50
    with platform.uow() as uow:
        sync_procedures(uow.conn, platform.procedures, platform.ledger_mac)
        uow.commit()
    assert audit(platform).clean
    assert adopt_existing(platform.uow()) == 0  # only ever into an empty ledger
