"""The witness: a separate process with its own key cosigns only checkpoints consistent with the last
one it cosigned; its cosigned copies expose a database that was rewritten and re-signed with the
platform's own key, even when the copy file beside the database was rewritten too."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import select

from jiliang.certificates.tables import signing_keys
from jiliang.ledger.auditor import audit
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.ledger.keys import PLATFORM
from jiliang.ledger.note import split_note
from jiliang.ledger.witness import Witness, WitnessRefusal, init_witness, serve_witness, witness_verifier
from jiliang.platform import Platform
from tests.support import tamper, world


@pytest.fixture
def witnessed(platform, tmp_path):  # type: ignore[no-untyped-def]
    """The platform configured with a running witness that trusts its checkpoint key."""
    wdir = tmp_path / "witness"
    public = init_witness(wdir, "samr.sh.example/witness")
    (tmp_path / "witness.pub").write_text(public, encoding="utf-8")
    witness = Witness(wdir)
    with platform.engine.connect() as c:
        pem = c.execute(select(signing_keys.c.public_key_pem).where(signing_keys.c.owner == PLATFORM)).scalar_one()
    witness.trust_log(platform.settings.ledger_origin, pem)
    server = serve_witness(witness, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = replace(
        platform.settings,
        witness_url=f"http://127.0.0.1:{server.server_address[1]}",
        witness_key=tmp_path / "witness.pub",
    )
    yield Platform(settings, platform.engine), witness, witness_verifier(public)
    server.shutdown()


def test_the_witness_cosigns_consistent_checkpoints(witnessed) -> None:
    platform, witness, verifier = witnessed
    first = issue_checkpoint(platform)
    world.make_owner(platform, "310104")
    second = issue_checkpoint(platform)
    for cp in (first, second):
        body, lines = split_note(cp.note)
        assert verifier.verify(body, verifier.find(lines))  # the cosignature is in the stored note
    log = (witness.directory / "cosigned.log").read_bytes().splitlines()
    assert len(log) == 2
    assert audit(platform, witness_log=witness.directory / "cosigned.log", witness=verifier).clean


def test_the_witness_refuses_a_fork_and_exposes_the_rewrite(witnessed) -> None:
    platform, witness, verifier = witnessed
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = world.workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    world.verify(platform, lab, task)
    cosigned = issue_checkpoint(platform)
    assert verifier.find(split_note(cosigned.note)[1]) is not None
    # the insider changes a reading, rewrites its leaf, rebuilds the tree, re-signs every checkpoint with
    # the platform key and rewrites the copy file: the database alone now looks perfect
    point = tamper.change_last_reading(platform, "4.999")
    idx = tamper.rewrite_leaf_of(platform, "verification_record", str(point.record_id))
    tamper.rebuild_and_resign(platform, rewrite_file=True)
    # without the witness the tree agrees with itself: the record's signatures and the leaf's MAC do not
    alone = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert alone == {
        ("changed", "verification_records", str(point.record_id)),
        ("unsigned", "ledger_leaves", tamper.append_holding(platform, idx)),  # its append's MAC breaks
    }
    report = audit(platform, witness_log=witness.directory / "cosigned.log", witness=verifier)
    found = {(f.what, f.table, f.id) for f in report.findings}
    assert ("rewritten", "ledger_leaves", f"0…{cosigned.size - 1}") in found
    assert ("rewritten", "checkpoints", str(cosigned.number)) in found  # its cosignature no longer verifies
    # and the witness will not cosign the forked tree's next checkpoint
    world.make_owner(platform, "310105")
    forked = issue_checkpoint(platform)  # the refusal is logged, the checkpoint stands uncosigned
    assert verifier.find(split_note(forked.note)[1]) is None
    with pytest.raises(WitnessRefusal) as refused:
        witness.add_checkpoint(f"old {cosigned.size}\n\n" + forked.note)
    assert refused.value.status == 422


def test_the_witness_refuses_a_checkpoint_not_signed_by_the_log(witnessed) -> None:
    platform, witness, _ = witnessed
    cp = issue_checkpoint(platform)
    body, _ = split_note(cp.note)
    forged = body + "\n" + "\u2014 " + platform.settings.ledger_origin + " AAAAAAAA" + "A" * 84 + "\n"
    with pytest.raises(WitnessRefusal) as refused:
        witness.add_checkpoint(f"old {cp.size}\n\n" + forged)
    assert refused.value.status == 403
