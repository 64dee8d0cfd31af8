"""`jiliang audit` finds every kind of tampering named in the issue, on SQLite and PostgreSQL, and
passes a clean database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert, select, update

from jiliang.ledger.auditor import audit
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.ledger.tables import ledger_leaves
from jiliang.registry.tables import qualifications, standard_calibrations
from jiliang.types import utcnow
from jiliang.verification.tables import measurement_points
from tests.support import tamper, world


@pytest.fixture
def ledgered(platform):  # type: ignore[no-untyped-def]
    lab, number = world.issued_certificate(platform)
    issue_checkpoint(platform)
    return platform, lab, number


def _findings(platform, **kw):  # type: ignore[no-untyped-def]
    report = audit(platform, **kw)
    return {(f.what, f.table, f.id) for f in report.findings}, report


def test_a_clean_ledger_passes(ledgered) -> None:
    platform, _, _ = ledgered
    found, report = _findings(platform)
    assert found == set()
    assert report.leaves > 50 and report.records > 50 and report.checkpoints == 1


def test_a_reading_changed_with_sql_is_named(ledgered) -> None:
    platform, _, _ = ledgered
    point = tamper.change_last_reading(platform, "4.999")
    found, report = _findings(platform)
    # the row differs from its leaf, and the record no longer has the content its signatories signed
    assert found == {
        ("changed", "measurement_points", str(point.id)),
        ("changed", "verification_records", str(point.record_id)),
    }
    assert f"'{point.indication}' → '4.999'" in report.findings[0].detail


def test_a_deleted_row_is_named(ledgered) -> None:
    platform, lab, _ = ledgered
    with platform.engine.connect() as c:
        qid = c.execute(select(qualifications.c.id).where(qualifications.c.user_id == lab.verifier.user_id)).scalar()
    tamper.sql(platform, qualifications.delete().where(qualifications.c.id == qid))
    assert _findings(platform)[0] == {("deleted", "qualifications", str(qid))}


def test_an_inserted_row_is_named(ledgered) -> None:
    platform, lab, _ = ledgered
    tamper.sql(
        platform,
        insert(standard_calibrations).values(
            id=999,
            standard_id=lab.standard_id,
            calibrated_by="x",
            certificate_no="forged",
            calibrated_on=date(2026, 1, 1),
            due=date(2027, 1, 1),
            in_tolerance=True,
        ),
    )
    assert _findings(platform)[0] == {("inserted", "standard_calibrations", "999")}


def test_a_standards_u_per_range_changed_or_added_with_sql_is_named(ledgered) -> None:
    """The U a standard's imported DCC states per range is ledgered with its calibration: a range row
    changed with SQL (a smaller U would shrink every budget that uses it) or slipped in is named."""
    from jiliang.registry.dcc_calibration import import_dcc_calibration
    from jiliang.registry.tables import standard_calibration_ranges as ranges
    from tests.integration.test_dcc_import import _ranged

    platform, lab, _ = ledgered
    done = import_dcc_calibration(platform.uow(), lab.manager, lab.standard_id, _ranged(), 12)
    assert _findings(platform)[0] == set()
    with platform.engine.connect() as c:
        rid = c.execute(
            select(ranges.c.id).where(ranges.c.calibration_id == done.calibration_id, ranges.c.seq == 1)
        ).scalar_one()
    tamper.sql(platform, update(ranges).where(ranges.c.id == rid).values(expanded_uncertainty="0.006"))
    tamper.sql(
        platform,
        insert(ranges).values(
            id=999,
            calibration_id=done.calibration_id,
            seq=2,
            quantity="示值误差",
            lower="100",
            upper="200",
            unit="°C",
            expanded_uncertainty="0.001",
            coverage_factor="2",
            uncertainty_unit="°C",
        ),
    )
    found, report = _findings(platform)
    assert found == {
        ("changed", "standard_calibration_ranges", str(rid)),
        ("inserted", "standard_calibration_ranges", "999"),
    }
    assert "expanded_uncertainty: '0.06' → '0.006'" in " ".join(f.detail for f in report.findings)


def test_a_rewritten_leaf_is_named(ledgered) -> None:
    platform, _, number = ledgered
    with platform.engine.connect() as c:
        idx, data = c.execute(
            select(ledger_leaves.c.idx, ledger_leaves.c.data).where(ledger_leaves.c.record_id == number)
        ).one()
    forged = bytes(data).replace(b'"status":"valid"', b'"status":"revoked"')
    tamper.sql(platform, update(ledger_leaves).where(ledger_leaves.c.idx == idx).values(data=forged))
    found, _ = _findings(platform)
    assert ("rewritten", "ledger_leaves", str(idx)) in found
    assert ("rewritten", "checkpoints", "1") in found  # its root no longer follows from the leaves
    assert ("changed", "certificates", number) in found  # and the row no longer matches its leaf


def test_two_swapped_leaves_are_named(ledgered) -> None:
    platform, _, _ = ledgered
    with platform.engine.begin() as c:
        a, b = c.execute(
            select(ledger_leaves).where(ledger_leaves.c.idx.in_([20, 21])).order_by(ledger_leaves.c.idx)
        ).all()
        for row, other in ((a, b), (b, a)):
            c.execute(
                update(ledger_leaves)
                .where(ledger_leaves.c.idx == row.idx)
                .values(kind=other.kind, record_id=other.record_id, version=other.version, data=other.data)
            )
    found, _ = _findings(platform)
    assert {("reordered", "ledger_leaves", "20"), ("reordered", "ledger_leaves", "21")} <= found


def test_a_history_rewritten_and_resigned_is_exposed_by_the_copy_outside_the_database(ledgered) -> None:
    platform, _, _ = ledgered
    point = tamper.change_last_reading(platform, "4.999")
    idx = tamper.rewrite_leaf_of(platform, "verification_record", str(point.record_id))
    tamper.rebuild_and_resign(platform, rewrite_file=False)
    found, _ = _findings(platform)
    # leaves, tiles, rows and checkpoint signatures agree with each other now; the outside copy
    # disagrees, and the record's content is not what its signatories signed
    assert found == {
        ("rewritten", "checkpoints", "1"),
        ("changed", "verification_records", str(point.record_id)),
        ("unsigned", "ledger_leaves", tamper.append_holding(platform, idx)),  # its append's MAC breaks
    }


def test_from_checkpoint_audits_what_follows_a_trusted_checkpoint(ledgered) -> None:
    platform, _, _ = ledgered
    world.make_owner(platform, "310105")
    second = issue_checkpoint(platform)
    assert _findings(platform, from_checkpoint=1)[0] == set()
    with platform.engine.connect() as c:
        last = c.execute(select(ledger_leaves.c.idx, ledger_leaves.c.data).order_by(ledger_leaves.c.idx.desc())).first()
    tamper.sql(
        platform, update(ledger_leaves).where(ledger_leaves.c.idx == last.idx).values(data=bytes(last.data) + b" ")
    )
    found, report = _findings(platform, from_checkpoint=1)
    assert ("rewritten", "ledger_leaves", str(last.idx)) in found and (
        "rewritten",
        "checkpoints",
        str(second.number),
    ) in found
    assert report.checkpoints == 2


def test_procedure_files_and_rule_confirmations_are_ledgered(platform_with_procedures) -> None:
    import shutil

    from jiliang.ledger.procedures import sync_procedures
    from jiliang.measurement.procedure import SHIPPED_DIR
    from jiliang.registry.catalogue_admin import confirm_rule
    from jiliang.registry.tables import rule_confirmations

    platform = platform_with_procedures
    assert audit(platform).clean  # the shipped procedures were recorded at init
    # an administrator drops in a local edition of the water-meter procedure: a change until recorded
    local = platform.settings.procedures_dir / "water_meter.yaml"
    shutil.copy(SHIPPED_DIR / "water_meter.yaml", local)
    local.write_text(local.read_text(encoding="utf-8") + "\n# local copy\n", encoding="utf-8")
    platform.__dict__.pop("procedures", None)
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert found == {("changed", "procedures", "water_meter")}
    with platform.uow() as uow:
        assert sync_procedures(uow.conn, platform.procedures, platform.ledger_mac) == 1
        uow.commit()
    assert audit(platform).clean
    # a rule confirmation goes through the ledger; one slipped in with SQL does not
    proc = platform.procedures["fuel_dispenser"]
    rule = proc.editions[0].rules[0].id
    confirm_rule(platform.uow(), world.admin(platform), "fuel_dispenser", rule)
    assert audit(platform).clean
    other = platform.procedures["gas_meter"].editions[0].rules[0].id
    tamper.sql(
        platform,
        insert(rule_confirmations).values(
            procedure_code="gas_meter", rule_id=other, confirmed_by=world.admin(platform).user_id, confirmed_at=utcnow()
        ),
    )
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert found == {("changed", "procedures", "gas_meter")}


def test_forked_workers_find_the_same(ledgered, monkeypatch) -> None:
    from jiliang.ledger import auditor

    platform, lab, number = ledgered
    with platform.engine.connect() as c:
        point = c.execute(select(measurement_points).order_by(measurement_points.c.id.desc())).first()
        qid = c.execute(select(qualifications.c.id).where(qualifications.c.user_id == lab.verifier.user_id)).scalar()
    tamper.sql(platform, update(measurement_points).where(measurement_points.c.id == point.id).values(indication="4.9"))
    tamper.sql(platform, qualifications.delete().where(qualifications.c.id == qid))
    tamper.sql(platform, update(ledger_leaves).where(ledger_leaves.c.idx == 5).values(data=b"{}"))
    single = _findings(platform, workers=1)[0]
    monkeypatch.setattr(auditor, "_PARALLEL_FROM", 0)
    forked, report = _findings(platform, workers=2)
    assert forked == single
    assert {("changed", "measurement_points", str(point.id)), ("deleted", "qualifications", str(qid))} <= forked
    assert ("rewritten", "ledger_leaves", "5") in forked
    assert set(report.timings) == {"tree check", "leaves", "records", "signatures", "rights"}


def test_tampered_interior_nodes_of_a_full_tile_are_named(platform) -> None:
    from jiliang.ledger.append import append_leaves
    from jiliang.ledger.tables import ledger_tiles

    with platform.uow() as uow:  # enough leaves for full tiles, whose interior nodes are stored
        append_leaves(uow.conn, [("bench", str(k), 1, b"x%d" % k) for k in range(600)])
        uow.commit()
    with platform.engine.connect() as c:
        nodes = c.execute(
            select(ledger_tiles.c.nodes).where(ledger_tiles.c.level == 0, ledger_tiles.c.idx == 1)
        ).scalar_one()
    assert nodes is not None and len(nodes) == 254 * 32
    tamper.sql(
        platform,
        update(ledger_tiles)
        .where(ledger_tiles.c.level == 0, ledger_tiles.c.idx == 1)
        .values(nodes=bytes(32) + bytes(nodes)[32:]),
    )
    found = {(f.what, f.table, f.id) for f in audit(platform, records=False).findings}
    assert found == {("rewritten", "ledger_tiles", "0/1")}


def _retracked(platform, kind: str, record_id: object) -> None:  # type: ignore[no-untyped-def]
    """What anyone with database access can do: `track()` needs no key, so the change gets a new leaf."""
    from jiliang.ledger.append import track

    uow = platform.uow()
    with uow:
        track(uow, kind, [record_id])
        uow.commit()


def test_a_signed_reading_changed_and_ledgered_again_is_still_named(ledgered) -> None:
    platform, _, _ = ledgered
    point = tamper.change_last_reading(platform, "4.999")
    _retracked(platform, "verification_record", point.record_id)
    found, report = _findings(platform)
    # the ledger itself agrees now, but the new version names no one who could make it
    assert found == {
        ("changed", "verification_records", str(point.record_id)),
        ("unauthorised", "verification_records", str(point.record_id)),
    }
    said = " ".join(f.detail for f in report.findings)
    for step in ("verify", "check", "approve"):
        assert f"no longer has the hash signed at the {step} step" in said
    assert "written by the platform, without the right to change a verification_record" in said


def test_a_certificates_valid_until_changed_and_ledgered_again_is_named(ledgered) -> None:
    from jiliang.certificates.tables import certificates

    platform, _, number = ledgered
    with platform.engine.connect() as c:
        cid, until = c.execute(
            select(certificates.c.id, certificates.c.valid_until).where(certificates.c.number == number)
        ).one()
    later = date(until.year + 5, until.month, 1) if until else date(2099, 1, 1)
    tamper.sql(platform, update(certificates).where(certificates.c.id == cid).values(valid_until=later))
    _retracked(platform, "certificate", number)
    found, report = _findings(platform)
    assert found == {("changed", "certificates", number), ("unauthorised", "certificates", number)}
    [changed] = [f for f in report.findings if f.what == "changed"]
    assert "valid_until" in changed.detail and "the signed certificate says" in changed.detail


# --- what grants rights is ledgered: users (roles, institution, active, password digest), institutions
# with their authorised items (issue 13)


def _user_row(platform, username: str):  # type: ignore[no-untyped-def]
    from jiliang.registry.tables import users

    with platform.engine.connect() as c:
        return c.execute(select(users).where(users.c.username == username)).one()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"roles": "admin"}, "roles"),
        ({"password_hash": "$argon2id$v=19$m=19456,t=2,p=1$forged"}, "password_hash_sha256"),
        ({"active": False}, "active"),
        ({"institution_id": None}, "institution_id"),
        ({"display_name": "someone else"}, "display_name"),
    ],
)
def test_a_user_changed_with_sql_is_named(ledgered, change, says) -> None:
    from jiliang.registry.tables import users

    platform, lab, _ = ledgered
    tamper.sql(platform, update(users).where(users.c.id == lab.verifier.user_id).values(**change))
    found, report = _findings(platform)
    assert found == {("changed", "users", str(lab.verifier.user_id))}
    assert says in report.findings[0].detail
    assert "$argon2" not in report.findings[0].detail  # a hash is never shown, only its digest


def test_an_institutions_authorisations_removed_with_sql_are_named(ledgered) -> None:
    from jiliang.registry.tables import authorisations

    platform, lab, _ = ledgered
    tamper.sql(platform, authorisations.delete().where(authorisations.c.institution_id == lab.institution_id))
    found, _ = _findings(platform)
    assert found == {("deleted", "authorisations", str(lab.institution_id))}


def test_a_user_slipped_in_with_sql_is_named_and_never_adopted(ledgered) -> None:
    from jiliang.auth import hash_password
    from jiliang.ledger.append import adopt_new_kinds
    from jiliang.registry.tables import users

    platform, _, _ = ledgered
    tamper.sql(
        platform,
        insert(users).values(
            username="intruder", password_hash=hash_password("x" * 12), display_name="x", roles="admin", active=True
        ),
    )
    assert adopt_new_kinds(platform.uow()) == []  # users are in the ledger already: nothing is laundered
    intruder = _user_row(platform, "intruder")
    found, _ = _findings(platform)
    assert found == {("inserted", "users", str(intruder.id))}


def test_a_leaf_appended_with_database_access_alone_is_named(ledgered) -> None:
    """The attacker's own session: the database URL, no key folder. The owner's new name is recorded
    in the ledger, the tree and the row agree, but the leaf has no MAC under the ledger key."""
    from jiliang.db import UnitOfWork
    from jiliang.ledger.append import track
    from jiliang.registry.tables import owners

    platform, _, _ = ledgered
    with platform.engine.connect() as c:
        owner_id = c.execute(select(owners.c.id).order_by(owners.c.id)).scalars().first()
        size = c.execute(select(ledger_leaves.c.idx).order_by(ledger_leaves.c.idx.desc())).scalars().first()
    uow = UnitOfWork(platform.engine)  # no platform: no key
    with uow:
        uow.conn.execute(update(owners).where(owners.c.id == owner_id).values(name="冒名使用单位"))
        track(uow, "owner", [owner_id])
        uow.commit()
    found, report = _findings(platform)
    assert found == {("unsigned", "ledger_leaves", str(size + 1)), ("unauthorised", "owners", str(owner_id))}
    assert "appended without the ledger key" in report.findings[0].detail


def test_the_ledger_key_lives_in_the_key_folder_not_the_database(platform) -> None:
    from jiliang.ledger.mac import load_mac_key

    key = load_mac_key(platform.settings.data_dir)
    assert key is not None and len(key.key) == 32 and key.required_from == 0  # a fresh ledger: every leaf
    path = platform.settings.data_dir / "keys" / "ledger-mac.json"
    assert path.stat().st_mode & 0o777 == 0o600
    with platform.engine.connect() as c:
        leaves = c.execute(select(ledger_leaves.c.idx, ledger_leaves.c.mac).order_by(ledger_leaves.c.idx)).all()
    macs = [(idx, bytes(m)) for idx, m in leaves if m is not None]
    # the appends' MACs cover every leaf once: each opens where the one before it ended
    assert macs and macs[0][0] == 0
    ends = [idx + int.from_bytes(m[:4], "big") for idx, m in macs]
    assert [idx for idx, _ in macs[1:]] == ends[:-1] and ends[-1] == len(leaves)
    assert all(len(m) == 36 for _, m in macs) and key.key not in b"".join(m for _, m in macs)


def _last_append(platform):  # type: ignore[no-untyped-def]
    """(first index, count, MAC) of the ledger's last append."""
    with platform.engine.connect() as c:
        first, mac = c.execute(
            select(ledger_leaves.c.idx, ledger_leaves.c.mac)
            .where(ledger_leaves.c.mac.is_not(None))
            .order_by(ledger_leaves.c.idx.desc())
        ).first()
    return first, int.from_bytes(bytes(mac)[:4], "big"), bytes(mac)


def test_an_append_cut_short_is_named(ledgered) -> None:
    """The insider removes the last leaf of the last append and winds the head and tiles back: the tree
    agrees with itself and no checkpoint covers the leaf yet, but the append's MAC counted it."""
    from jiliang.ledger.tables import ledger_head

    platform, _, _ = ledgered
    world.make_owner(platform, "310105")
    first, count, _ = _last_append(platform)
    assert count >= 2  # the owner's leaf and its transaction's audit leaf
    last = first + count - 1
    tamper.sql(platform, ledger_leaves.delete().where(ledger_leaves.c.idx == last))
    tamper.sql(platform, update(ledger_head).values(size=last))
    tamper.rebuild_and_resign(platform)
    found, _ = _findings(platform)
    assert ("unsigned", "ledger_leaves", f"{first}…{last}") in found


def test_a_mac_moved_to_another_append_is_named(ledgered) -> None:
    platform, _, _ = ledgered
    world.make_owner(platform, "310105")
    first, count, mac = _last_append(platform)
    world.make_owner(platform, "310106")  # an append of the same shape after it
    second, second_count, _ = _last_append(platform)
    assert second_count == count
    tamper.sql(platform, update(ledger_leaves).where(ledger_leaves.c.idx == second).values(mac=mac))
    found, _ = _findings(platform)
    assert found == {("unsigned", "ledger_leaves", f"{second}…{second + count - 1}")}


def test_leaf_macs_of_an_older_ledger_are_still_checked(ledgered) -> None:
    """A ledger written before batch MACs carries HMAC-SHA256(key, index ‖ data) on every leaf: the
    audit accepts those and names a leaf whose MAC is wrong, one by one."""
    import hashlib
    import hmac

    platform, _, _ = ledgered
    key = platform.ledger_mac.key
    first, count, _ = _last_append(platform)
    assert count >= 2
    with platform.engine.begin() as c:
        for idx, data in c.execute(
            select(ledger_leaves.c.idx, ledger_leaves.c.data).where(ledger_leaves.c.idx >= first)
        ).all():
            old = hmac.new(key, idx.to_bytes(8, "big") + bytes(data), hashlib.sha256).digest()
            c.execute(update(ledger_leaves).where(ledger_leaves.c.idx == idx).values(mac=old))
    assert _findings(platform)[0] == set()
    tamper.sql(platform, update(ledger_leaves).where(ledger_leaves.c.idx == first + 1).values(mac=bytes(32)))
    assert _findings(platform)[0] == {("unsigned", "ledger_leaves", str(first + 1))}


# --- the audit trail itself: each transaction's events are recorded with it in the ledger


def _an_event(platform, action: str):  # type: ignore[no-untyped-def]
    from jiliang.audit import audit_events

    with platform.engine.connect() as c:
        return c.execute(select(audit_events).where(audit_events.c.action == action)).first()


def test_an_audit_event_changed_with_sql_is_named(ledgered) -> None:
    from jiliang.audit import audit_events

    platform, _, _ = ledgered
    event = _an_event(platform, "verification.recorded")
    forged = {**event.after, "verdict": "pass" if event.after.get("verdict") != "pass" else "fail"}
    tamper.sql(platform, update(audit_events).where(audit_events.c.id == event.id).values(after=forged))
    assert _findings(platform)[0] == {("changed", "audit_events", str(event.id))}


def test_an_audit_event_deleted_or_forged_with_sql_is_named(ledgered) -> None:
    from jiliang.audit import audit_events

    platform, lab, _ = ledgered
    event = _an_event(platform, "certificate.issued") or _an_event(platform, "verification.recorded")
    tamper.sql(platform, audit_events.delete().where(audit_events.c.id == event.id))
    forged = {
        "at": utcnow(),
        "actor_id": lab.approver.user_id,  # a forged actor
        "action": "user.created",
        "record_type": "user",
        "record_id": "999",
        "institution_id": None,
        "before": None,
        "after": {"roles": ["admin"]},
    }
    tamper.sql(platform, insert(audit_events).values(**forged))
    with platform.engine.connect() as c:
        forged_id = c.execute(select(audit_events.c.id).order_by(audit_events.c.id.desc())).scalars().first()
    found, _ = _findings(platform)
    assert found == {("deleted", "audit_events", str(event.id)), ("inserted", "audit_events", str(forged_id))}


# --- tasks: which institution was given which instrument is ledgered; the state follows the certificates


def _a_task(platform):  # type: ignore[no-untyped-def]
    from jiliang.verification.tables import tasks

    with platform.engine.connect() as c:
        return c.execute(select(tasks).order_by(tasks.c.id)).first()


@pytest.mark.parametrize("state", ["assigned", "cancelled"])
def test_a_tasks_state_changed_with_sql_is_named(ledgered, state) -> None:
    from jiliang.verification.tables import tasks

    platform, _, _ = ledgered
    task = _a_task(platform)
    assert task.state == "issued"
    tamper.sql(platform, update(tasks).where(tasks.c.id == task.id).values(state=state))
    found, report = _findings(platform)
    assert found == {("changed", "tasks", str(task.id))}
    assert f"its state is '{state}'" in report.findings[0].detail


def test_a_task_moved_to_another_institution_or_slipped_in_is_named(ledgered) -> None:
    from jiliang.verification.tables import tasks

    platform, _, _ = ledgered
    task = _a_task(platform)
    other = world.make_lab(platform, "D310105", ["nawi"]).institution_id
    tamper.sql(platform, update(tasks).where(tasks.c.id == task.id).values(institution_id=other))
    row = {k: v for k, v in task._mapping.items() if k != "id"} | {"id": 999, "state": "assigned"}
    tamper.sql(platform, insert(tasks).values(**row))
    found, report = _findings(platform)
    assert found == {("changed", "tasks", str(task.id)), ("inserted", "tasks", "999")}
    assert "institution_id" in " ".join(f.detail for f in report.findings)


def test_an_assigned_task_is_ledgered_as_it_is_made(platform) -> None:
    owner = world.make_owner(platform, "310104")
    world.make_lab(platform, "D310104", ["nawi"])
    from jiliang.verification import service as workflow

    [tid] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    with platform.engine.connect() as c:
        leaf = c.execute(
            select(ledger_leaves.c.version).where(ledger_leaves.c.kind == "task", ledger_leaves.c.record_id == str(tid))
        ).scalar_one()
    assert leaf == 1
    assert _findings(platform)[0] == set()


# --- every leaf names an actor who held the right to make that change at that time (ledger/rights.py).
# These changes go through the platform's own unit of work, with its ledger key and an audit event
# naming the actor: what a flaw in a service's checks would let through.


def _acting(platform, actor_id: int, kind: str, record_id: object, statement=None) -> None:  # type: ignore[no-untyped-def]
    from jiliang.audit import record_event
    from jiliang.ledger.append import track

    uow = platform.uow()
    with uow:
        if statement is not None:
            uow.conn.execute(statement)
        track(uow, kind, [record_id])
        record_event(uow, actor_id, f"{kind}.changed", kind, record_id, None, {"by": actor_id})
        uow.commit()


def test_a_verifier_who_promotes_themselves_is_named(ledgered) -> None:
    from jiliang.registry.tables import users

    platform, lab, _ = ledgered
    uid = lab.verifier.user_id
    _acting(platform, uid, "user", uid, update(users).where(users.c.id == uid).values(roles="admin verifier"))
    found, report = _findings(platform)
    assert found == {("unauthorised", "users", str(uid))}
    assert f"written by user {uid}" in report.findings[0].detail


def test_a_certificate_changed_by_someone_whose_approver_role_was_withdrawn_is_named(ledgered) -> None:
    from jiliang.registry.tables import users

    platform, lab, number = ledgered
    _acting(  # the administrator withdraws the role, rightly
        platform,
        world.admin(platform).user_id,
        "user",
        lab.approver.user_id,
        update(users).where(users.c.id == lab.approver.user_id).values(roles="verifier"),
    )
    assert _findings(platform)[0] == set()
    _acting(platform, lab.approver.user_id, "certificate", number)  # later, as if still an approver
    assert _findings(platform)[0] == {("unauthorised", "certificates", number)}


def test_a_record_touched_by_another_institutions_verifier_is_named(ledgered) -> None:
    platform, _, _ = ledgered
    other = world.make_lab(platform, "D310105", ["nawi"])
    with platform.engine.connect() as c:
        rid = c.execute(select(measurement_points.c.record_id)).scalars().first()
    _acting(platform, other.verifier.user_id, "verification_record", rid)
    assert _findings(platform)[0] == {("unauthorised", "verification_records", str(rid))}


def test_a_lab_manager_may_add_staff_but_not_an_administrator(ledgered) -> None:
    from jiliang.registry import staff

    platform, lab, _ = ledgered
    uid = staff.create_user(
        platform.uow(), lab.manager, "new-checker", world.PASSWORD, "新核验员", ["checker"], lab.institution_id
    )
    assert _findings(platform)[0] == set()
    from jiliang.registry.tables import users

    _acting(platform, lab.manager.user_id, "user", uid, update(users).where(users.c.id == uid).values(roles="admin"))
    assert _findings(platform)[0] == {("unauthorised", "users", str(uid))}


def test_an_approved_record_or_issued_certificate_changed_without_amendment_is_named(ledgered) -> None:
    """Even by their own approver: a signed record never changes; a certificate only by amendment or
    revocation, each with its own event."""
    from jiliang.certificates.tables import certificates

    platform, lab, number = ledgered
    with platform.engine.connect() as c:
        rid = c.execute(select(certificates.c.record_id).where(certificates.c.number == number)).scalar_one()
    _acting(platform, lab.approver.user_id, "certificate", number)
    _acting(platform, lab.approver.user_id, "verification_record", rid)
    found, report = _findings(platform)
    assert found == {("unauthorised", "certificates", number), ("unauthorised", "verification_records", str(rid))}
    said = " ".join(f.detail for f in report.findings)
    assert "without an amendment or revocation" in said and "already approved and signed" in said


def test_an_amended_and_a_revoked_certificate_audit_clean(ledgered) -> None:
    from jiliang.certificates import service as certs

    platform, lab, number = ledgered
    confirmation = world.confirm(platform, lab.approver)
    new = certs.amend_certificate(platform.uow(), confirmation, number, {"remarks": "更正"}, "笔误")
    certs.revoke_certificate(platform.uow(), confirmation, new, "器具已报废")
    assert _findings(platform)[0] == set()


def test_the_platform_may_create_the_first_administrator_but_not_change_a_user_unaudited(ledgered) -> None:
    from jiliang.ledger.append import track
    from jiliang.registry.tables import users

    platform, lab, _ = ledgered
    uow = platform.uow()  # the platform's key, but no audit event: no one answers for the change
    with uow:
        uow.conn.execute(update(users).where(users.c.id == lab.checker.user_id).values(roles="checker approver"))
        track(uow, "user", [lab.checker.user_id])
        uow.commit()
    assert _findings(platform)[0] == {("unauthorised", "users", str(lab.checker.user_id))}
