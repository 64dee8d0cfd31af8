"""The checker's and the approver's steps: each re-hashes what the verifier signed, enforces
separation of duties, and signs; approval issues the certificates and keeps each instrument's
current status in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from ..audit import record_event
from ..auth import Actor, Confirmation
from ..bulk import insert_with_ids
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound, RuleViolation
from ..ledger.append import track, track_children, written
from ..registry.tables import instruments
from ..reminders.planning import replan
from ..supervision.counts import restating
from ..types import utcnow
from .model import content_hash, record_content
from .store import by_id, set_task_states, set_where_in, signed_contents
from .tables import measurement_points, record_standards, signoffs, verification_records

__all__ = ["check_record", "check_records", "approve_record", "approve_records", "load_contents"]


def _contents_and_hashes(uow: UnitOfWork, recs: Sequence[Any]) -> tuple[dict[int, dict], dict[int, str]]:
    cache = signed_contents(uow)
    missing = [r for r in recs if r.id not in cache]
    if missing:
        contents, signed = load_contents(uow.conn, missing), _verify_hashes(uow.conn, [r.id for r in missing])
        for rec in missing:
            cache[rec.id] = (contents[rec.id], _verified_hash(rec, contents[rec.id], signed))
    return {r.id: cache[r.id][0] for r in recs}, {r.id: cache[r.id][1] for r in recs}


def load_contents(conn: Connection, records: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """The signed content of each record, read back from the database (what the next person sees)."""
    ids = [r.id for r in records]
    points: dict[int, list[Any]] = defaultdict(list)
    for p in conn.execute(select(measurement_points).where(measurement_points.c.record_id.in_(ids))):
        points[p.record_id].append(p._mapping)
    stds: dict[int, list[int]] = defaultdict(list)
    for rid, sid in conn.execute(select(record_standards).where(record_standards.c.record_id.in_(ids))):
        stds[rid].append(sid)
    return {r.id: record_content(r._mapping, points[r.id], stds[r.id]) for r in records}


class _Written:
    """A record as this transaction wrote it, read like a database row."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)
        self._mapping = row


def _records(uow: UnitOfWork, record_ids: Sequence[int]) -> tuple[dict[int, Any], dict[int, dict[str, int]]]:
    """The records and who signed which step: those this transaction wrote from what it wrote (a batch
    that records, checks and approves at once), the others from the database."""
    known = written(uow, "verification_record")
    found: dict[int, Any] = {}
    signers: dict[int, dict[str, int]] = defaultdict(dict)
    for rid in record_ids:
        entry = known.get(str(rid))
        if entry is not None:
            found[rid] = _Written(entry[0])
            signers[rid] = {s["step"]: s["user_id"] for s in entry[1]["signoffs"]}
    rest = [rid for rid in record_ids if rid not in found]
    if rest:
        found.update(by_id(uow.conn, verification_records, rest))
        for r in uow.conn.execute(
            select(signoffs.c.record_id, signoffs.c.step, signoffs.c.user_id).where(signoffs.c.record_id.in_(rest))
        ):
            signers[r.record_id][r.step] = r.user_id
    return found, signers


def _records_for_step(
    uow: UnitOfWork, actor: Actor, record_ids: Sequence[int], status: str
) -> tuple[list[Any], dict[int, dict[str, int]]]:
    found, signers = _records(uow, record_ids)
    out = []
    for rid in record_ids:
        rec = found.get(rid)
        if rec is None or rec.institution_id != actor.institution_id:
            raise NotFound(f"本机构没有记录 {rid} / no record {rid} at your institution")
        if rec.status != status:
            raise RuleViolation(
                f"记录 {rid} 状态为 {rec.status}，需要 {status} / the record is {rec.status}, expected {status}",
                rule="state",
            )
        out.append(rec)
    if len(set(record_ids)) != len(record_ids):
        raise InvalidInput("记录重复 / a record appears twice in the batch")
    return out, signers


def _verified_hash(rec: Any, content: dict[str, Any], signed: dict[int, str]) -> str:
    """Recompute the content hash and insist it is what the verifier signed: no silent edits between steps."""
    digest = content_hash(content)
    if signed.get(rec.id) != digest:
        raise RuleViolation(
            f"记录 {rec.id} 在签名后被改动 / record {rec.id} changed after it was signed", rule="content_changed"
        )
    return digest


def _verify_hashes(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    return dict(
        conn.execute(
            select(signoffs.c.record_id, signoffs.c.content_hash).where(
                signoffs.c.record_id.in_(ids), signoffs.c.step == "verify"
            )
        ).all()
    )


def _sign(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """Store sign-offs and hand them to the ledger with their records."""
    track_children(uow, "verification_record", "signoffs", insert_with_ids(uow.conn, signoffs, rows))


def check_records(
    uow: UnitOfWork, confirmation: Confirmation, record_ids: Sequence[int], accept: bool = True, remark: str = ""
) -> None:
    """核验: a second person checks what the verifier entered; returning it sends the task back."""
    actor = confirmation.actor
    actor.require("checker")
    if not accept and not remark.strip():
        raise InvalidInput("退回必须说明原因 / say why the record is returned")
    with uow:
        conn, now = uow.conn, utcnow()
        recs, signers = _records_for_step(uow, actor, record_ids, "recorded")
        for rec in recs:
            if signers[rec.id].get("verify") == actor.user_id:
                raise RuleViolation(
                    "核验员不能核验自己检定的记录 / the checker must not be the verifier (separation of duties)",
                    rule="separation_of_duties",
                )
        status = "checked" if accept else "returned"
        set_where_in(conn, verification_records, [r.id for r in recs], status=status)
        track(uow, "verification_record", [r.id for r in recs], changed={"status": status})
        if not accept:
            for rec in recs:
                record_event(
                    uow,
                    actor.user_id,
                    "verification.returned",
                    "verification_record",
                    rec.id,
                    {"status": "recorded"},
                    {"status": "returned", "remark": remark},
                    rec.institution_id,
                )
            uow.commit()
            return
        _, hashes = _contents_and_hashes(uow, recs)
        rows = []
        for rec in recs:
            h = hashes[rec.id]
            rows.append(
                {"record_id": rec.id, "step": "check", "user_id": actor.user_id, "signed_at": now, "content_hash": h}
            )
            record_event(
                uow,
                actor.user_id,
                "verification.checked",
                "verification_record",
                rec.id,
                {"status": "recorded"},
                {"status": "checked", "content_hash": h, "remark": remark},
                rec.institution_id,
            )
        _sign(uow, rows)
        uow.commit()


def check_record(
    uow: UnitOfWork, confirmation: Confirmation, record_id: int, accept: bool = True, remark: str = ""
) -> None:
    check_records(uow, confirmation, [record_id], accept, remark)


def approve_records(uow: UnitOfWork, confirmation: Confirmation, record_ids: Sequence[int]) -> list[str]:
    """批准: a third person approves; certificates (or notices of non-conformity) are issued at once.
    Returns the certificate numbers in the order of `record_ids`."""
    from ..certificates.service import issue_for_records  # issuing belongs to the certificates context

    actor = confirmation.actor
    actor.require("approver")
    with uow:
        conn, now = uow.conn, utcnow()
        recs, signers = _records_for_step(uow, actor, record_ids, "checked")
        for rec in recs:
            if rec.verdict == "unknown":  # a verification, or a calibration that asked for a verdict
                raise RuleViolation(
                    f"记录 {rec.id}：结论未定（规程对部分检定点没有给出允许误差，或误差落在判定规则的待定区），"
                    "不能出具证书 / the verdict is undetermined (the procedure gives no MPE for some points, "
                    "or an error lies in the decision rule's undetermined zone), so no certificate can be issued",
                    rule="verdict_unknown",
                )
            if actor.user_id in (signers[rec.id].get("verify"), signers[rec.id].get("check")):
                raise RuleViolation(
                    "批准人不能是该记录的检定员或核验员 / the approver must be neither the verifier "
                    "nor the checker (separation of duties)",
                    rule="separation_of_duties",
                )
        contents, hashes = _contents_and_hashes(uow, recs)
        _sign(
            uow,
            [
                {
                    "record_id": r.id,
                    "step": "approve",
                    "user_id": actor.user_id,
                    "signed_at": now,
                    "content_hash": hashes[r.id],
                }
                for r in recs
            ],
        )
        set_where_in(conn, verification_records, [r.id for r in recs], status="approved")
        track(uow, "verification_record", [r.id for r in recs], changed={"status": "approved"})
        set_task_states(conn, [r.task_id for r in recs], "issued", now)
        with restating(conn, instruments.c.id.in_({r.instrument_id for r in recs})):  # the coverage counts
            _update_instruments(conn, recs)
        replan(conn, instruments.c.id.in_({r.instrument_id for r in recs}))  # the owners' reminders
        numbers = issue_for_records(uow, actor, recs, contents, hashes)
        for rec, number in zip(recs, numbers, strict=True):
            record_event(
                uow,
                actor.user_id,
                "verification.approved",
                "verification_record",
                rec.id,
                {"status": "checked"},
                {"status": "approved", "certificate": number, "content_hash": hashes[rec.id]},
                rec.institution_id,
            )
        uow.commit()
        return numbers


def approve_record(uow: UnitOfWork, confirmation: Confirmation, record_id: int) -> str:
    return approve_records(uow, confirmation, [record_id])[0]


def _update_instruments(conn: Connection, recs: Sequence[Any]) -> None:
    """Keep each instrument's latest verification current in the same transaction (dashboards read it)."""
    verified = [r for r in recs if r.kind == "verification" and r.stage != "in_service"]
    # an in-service inspection (使用中检查) never renews the period; failing it bars the instrument
    failed_inspections = [
        r.instrument_id for r in recs if r.kind == "verification" and r.stage == "in_service" and r.verdict == "fail"
    ]
    calibrated = [r for r in recs if r.kind != "verification"]
    if failed_inspections:
        conn.execute(update(instruments).where(instruments.c.id.in_(failed_inspections)).values(barred=True))
    if verified:
        conn.execute(
            update(instruments)
            .where(instruments.c.id == bindparam("iid"))
            .values(
                last_verified_on=bindparam("on"),
                last_conclusion=bindparam("verdict"),
                barred=bindparam("failed"),
                # a first-only instrument keeps its replace-by date through later (failed) checks
                valid_until=bindparam("until"),
                replace_by=func.coalesce(bindparam("rb"), instruments.c.replace_by),
            ),
            [
                {
                    "iid": r.instrument_id,
                    "on": r.performed_on,
                    "verdict": r.verdict,
                    "failed": r.verdict == "fail",
                    "until": None if r.verdict == "fail" else r.valid_until,
                    "rb": r.replace_by,
                }
                for r in verified
            ],
        )
    if calibrated:
        conn.execute(
            update(instruments)
            .where(instruments.c.id == bindparam("iid"))
            .values(last_verified_on=bindparam("on"), last_conclusion="calibrated"),
            [{"iid": r.instrument_id, "on": r.performed_on} for r in calibrated],
        )
