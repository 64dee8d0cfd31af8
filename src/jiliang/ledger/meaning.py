"""What the data means, checked beside the ledger: a leaf only proves that a row looked so when it was
recorded, and `track()` needs no key, so someone with write access to the database could change a
signed row and record the change as a new version. Signatures do not move with it:

- a verification record that was signed must still have the content hash each signatory signed
  (the verifier, the checker, the approver), recomputed from its rows and points;
- an issued certificate's columns must say what its signed payload says (number, kind, valid-until)
  and its payload must name the content hash its record's signatories signed;
- a task is issued exactly when a certificate was issued for one of its records (its state is not
  ledgered: it follows from the certificates, which are)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, and_, or_, select

__all__ = ["audit_trail_findings", "meaning_findings", "task_state_findings"]

_CHUNK = 1000


def _chunks(conn: Connection, stmt: Any) -> Iterator[list[Any]]:
    rows = conn.execute(stmt).fetchall()
    for k in range(0, len(rows), _CHUNK):
        yield list(rows[k : k + _CHUNK])


def meaning_findings(conn: Connection) -> list[Any]:
    from ..certificates.tables import certificates
    from ..verification.model import content_hash
    from ..verification.signoff import load_contents
    from ..verification.tables import signoffs, verification_records
    from .auditor import Finding

    found: list[Finding] = []
    signed: dict[int, dict[str, str]] = defaultdict(dict)  # record → step → hash signed
    for rid, step, digest in conn.execute(select(signoffs.c.record_id, signoffs.c.step, signoffs.c.content_hash)):
        signed[rid][step] = digest
    for records in _chunks(conn, select(verification_records).where(verification_records.c.id.in_(list(signed)))):
        for rid, content in load_contents(conn, records).items():
            now = content_hash(content)
            for step, digest in sorted(signed[rid].items()):
                if digest != now:
                    found.append(
                        Finding(
                            "verification_records",
                            str(rid),
                            "changed",
                            f"its content no longer has the hash signed at the {step} step "
                            f"({digest[:12]}…, now {now[:12]}…)",
                        )
                    )
    columns = (certificates.c.id, certificates.c.number, certificates.c.kind, certificates.c.valid_until)
    for rows in _chunks(conn, select(*columns, certificates.c.record_id, certificates.c.payload)):
        for _, number, kind, valid_until, record_id, payload in rows:
            try:
                p = json.loads(payload)
            except ValueError:
                found.append(Finding("certificates", number, "changed", "its signed payload is not JSON any more"))
                continue
            stated = {"number": p.get("number"), "kind": p.get("kind"), "valid_until": p.get("valid_until")}
            live = {"number": number, "kind": kind, "valid_until": None if valid_until is None else str(valid_until)}
            for name in stated:
                if stated[name] != live[name]:
                    found.append(
                        Finding(
                            "certificates",
                            number,  # as the ledger names certificates
                            "changed",
                            f"{name} is {live[name]!r} but the signed certificate says {stated[name]!r}",
                        )
                    )
            approved = signed.get(record_id, {}).get("approve")
            if approved is not None and p.get("content_hash") != approved:
                found.append(
                    Finding(
                        "certificates",
                        number,
                        "changed",
                        "its payload names a record content other than the one the approver signed",
                    )
                )
    return found


TASK_STATES = ("assigned", "issued")


def task_state_findings(conn: Connection) -> list[Any]:
    from ..certificates.tables import certificates
    from ..verification.tables import tasks, verification_records
    from .auditor import Finding

    issued = select(verification_records.c.task_id).join(
        certificates, certificates.c.record_id == verification_records.c.id
    )
    stmt = select(tasks.c.id, tasks.c.state).where(
        or_(
            tasks.c.state.not_in(TASK_STATES),
            and_(tasks.c.state == "issued", tasks.c.id.not_in(issued)),
            and_(tasks.c.state != "issued", tasks.c.id.in_(issued)),
        )
    )
    found = []
    for tid, state in conn.execute(stmt.order_by(tasks.c.id)):
        says = "a certificate was issued for it" if state != "issued" else "no certificate was issued for it"
        found.append(Finding("tasks", str(tid), "changed", f"its state is {state!r} but {says}"))
    return found


def audit_trail_findings(
    conn: Connection, audit_leaves: Iterable[tuple[int, str, dict[str, Any] | None]] | None = None
) -> list[Any]:
    """The audit trail against the ledger's audit leaves: each event written since they began must
    still have the digest recorded with its transaction; none may be missing or added. `audit_leaves`:
    (index, projection, fields) of the audit leaves as the auditor's pass read them (else read here)."""
    from ..audit import audit_events, event_digest
    from ..audit_archive import archived_up_to
    from .append import AUDIT_KIND
    from .auditor import Finding
    from .leaf import parse_leaf
    from .tables import ledger_leaves

    recorded: dict[int, str] = {}
    if audit_leaves is None:
        stmt = select(ledger_leaves.c.data).where(ledger_leaves.c.kind == AUDIT_KIND)
        for (data,) in conn.execution_options(yield_per=5000).execute(stmt):
            fields = parse_leaf(bytes(data)).fields or {}
            recorded.update((int(i), digest) for i, digest in fields.get("events", ()))
    else:
        for _, _, leaf_fields in audit_leaves:
            recorded.update((int(i), digest) for i, digest in (leaf_fields or {}).get("events", ()))
    if not recorded:
        return []  # a trail older than its ledgering
    found = []
    seen = set()
    rows = select(audit_events).where(audit_events.c.id >= min(recorded)).order_by(audit_events.c.id)
    for row in conn.execution_options(yield_per=5000).execute(rows).mappings():
        eid = row["id"]
        seen.add(eid)
        if eid not in recorded:
            found.append(Finding("audit_events", str(eid), "inserted", "an event no transaction of the platform wrote"))
        elif event_digest(dict(row)) != recorded[eid]:
            found.append(Finding("audit_events", str(eid), "changed", "differs from the event its transaction wrote"))
    archived = archived_up_to(conn)  # moved out by `jiliang audit-archive`, which says so in an event
    for eid in sorted(set(recorded) - seen):
        if eid > archived:
            found.append(Finding("audit_events", str(eid), "deleted", "recorded in the ledger, no longer in the trail"))
    return found
