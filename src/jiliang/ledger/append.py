"""Appending to the ledger inside the change's own transaction.

Services say which records they touched (`track`); just before the unit of work commits,
`flush_ledger` writes one leaf per record with its state as it will be committed (its next version,
or a deletion), and stores the new tree nodes. A record touched several times in one transaction
(recorded, checked and approved in one batch) gets one leaf with its final state.

A record this transaction created can be handed over as written (`track(..., rows=…)`, its child
rows with `track_children`, later UPDATEs with `track(..., changed=…)`), and its leaf is built from
that instead of read back; any other change to it (`track` alone) makes the flush read it back, as it
does every record it was not handed. Values that would not come back from the database exactly as
given (a JSON document with a number that is not an integer, say) also make it read the row back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, func, select

from ..bulk import among, insert_tuples
from ..db import UnitOfWork
from .leaf import leaf_data
from .mac import LedgerMacKey, batch_mac
from .merkle import LEAF_STATE
from .projections import CURRENT, Fields, Projection, load_fields
from .tables import ledger_leaves
from .tiles import append_hashes, reserve_and_read, tree_size

__all__ = [
    "track",
    "track_children",
    "written",
    "flush_ledger",
    "append_leaves",
    "leaf_rows",
    "latest_versions",
    "adopt_existing",
]

_LEAF_COLUMNS = ("idx", "kind", "record_id", "version", "data", "mac")


def _written(uow: UnitOfWork) -> dict[str, dict[str, tuple[dict[str, Any], dict[str, list[Mapping[str, Any]]]]]]:
    """kind → record id → (its row as written, its child rows by name): the records this transaction
    created and handed over. In the unit of work's memo, so a rolled-back savepoint forgets them."""
    return uow.memo.setdefault("ledger_written", {})


def written(uow: UnitOfWork, kind: str) -> Mapping[str, tuple[dict[str, Any], dict[str, list[Mapping[str, Any]]]]]:
    """The records of `kind` this transaction created and handed over, by record id, as they stand
    now (their row and child rows): the later steps of a batch read them here, not from the database."""
    return _written(uow).get(kind, {})


def track(
    uow: UnitOfWork,
    kind: str,
    ids: Iterable[object],
    new: bool = False,
    rows: Sequence[Mapping[str, Any]] | None = None,
    changed: Mapping[str, Any] | None = None,
) -> None:
    """Record that rows of `kind` changed in this transaction; `new` when this transaction created
    them (their first version needs no look-up). With `new`, `rows` may give each row as inserted
    (every column, its id included); `changed`: the values an UPDATE just set on all of them."""
    projection = CURRENT.get(kind)
    if projection is None:
        raise KeyError(f"no ledger projection for {kind!r}")
    keys = [str(i) for i in ids]
    handed = _written(uow).setdefault(kind, {})
    if rows is not None and new:
        for key, row in zip(keys, rows, strict=True):
            handed[key] = (dict(row), {child.name: [] for child in projection.children})
    elif changed is not None:
        for key in keys:
            if key in handed:
                handed[key][0].update(changed)
    else:
        for key in keys:
            handed.pop(key, None)  # changed some other way: read it back
    uow.pending_ledger.extend((kind, key, new) for key in keys)


def track_children(uow: UnitOfWork, kind: str, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows of the child table `name` (a record's points, standards used, sign-offs) just inserted,
    each naming its parent, ids included; those of records handed over with `track(rows=…)` join them."""
    handed = _written(uow).get(kind)
    if not handed:
        return
    [child] = [c for c in CURRENT[kind].children if c.name == name]
    for row in rows:
        entry = handed.get(str(row[child.parent]))
        if entry is not None:
            entry[1][name].append(row)


@cache
def _getters(projection: Projection) -> tuple[itemgetter[Any], dict[str, tuple[itemgetter[Any], itemgetter[Any]]]]:
    """Pick a row's selected columns, and each child's columns and order, at C speed."""
    return itemgetter(*projection.selected), {
        child.name: (itemgetter(*child.columns), itemgetter(*child.order)) for child in projection.children
    }


def _fields_as_written(
    projection: Projection, row: dict[str, Any], children: dict[str, list[Mapping[str, Any]]]
) -> Fields | None:
    """The ledgered fields of a row handed over as written, or None when it must be read back."""
    pick, child_getters = _getters(projection)
    try:
        values = pick(row)
        kids = {}
        for child in projection.children:
            columns, order = child_getters[child.name]
            one = len(child.columns) == 1  # itemgetter of one column gives the value, not a tuple
            ordered = sorted(children[child.name], key=order)
            picked = [(columns(r),) for r in ordered] if one else list(map(columns, ordered))
            kids[child.name] = child.shape.rows(picked)
    except KeyError:  # a column it was not given
        return None
    fields = projection.fields(values, kids)
    return fields if fields.checked else None


def latest_versions(conn: Connection, kind: str, ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in range(0, len(ids), 1000):
        stmt = (
            select(ledger_leaves.c.record_id, func.max(ledger_leaves.c.version))
            .where(ledger_leaves.c.kind == kind, among(conn, ledger_leaves.c.record_id, ids[k : k + 1000]))
            .group_by(ledger_leaves.c.record_id)
        )
        out.update({r: int(v) for r, v in conn.execute(stmt)})
    return out


def append_leaves(
    conn: Connection, leaves: Sequence[tuple[str, str, int, bytes]], mac: LedgerMacKey | None = None
) -> int:
    """Append (kind, record id, version, data) leaves, each with its MAC under the ledger key (none
    without the key: the auditor names such leaves); returns the index of the first."""
    if not leaves:
        return -1
    start, extended = reserve_and_read(conn, len(leaves))
    rows, hashes = leaf_rows(start, leaves, None if mac is None else mac.key)
    insert_tuples(conn, ledger_leaves, _LEAF_COLUMNS, rows)
    append_hashes(conn, start, hashes, extended)
    return start


def leaf_rows(
    start: int, leaves: Sequence[tuple[str, str, int, bytes]], key: bytes | None
) -> tuple[list[tuple[int, str, str, int, bytes, bytes | None]], list[bytes]]:
    """The leaves' rows from index `start` on — (idx, kind, record id, version, data, MAC), the first
    carrying the batch's mac.batch_mac under `key` (none without a key), the others None — and their
    merkle.leaf_hash, each leaf hashed here once."""
    rows: list[tuple[int, str, str, int, bytes, bytes | None]] = []
    hashes: list[bytes] = []
    add_row, add_hash, leaf_state = rows.append, hashes.append, LEAF_STATE.copy
    for i, (kind, rid, version, data) in enumerate(leaves, start):
        add_row((i, kind, rid, version, data, None))
        h = leaf_state()
        h.update(data)
        add_hash(h.digest())
    if rows and key is not None:
        rows[0] = (*rows[0][:5], batch_mac(key, start, b"".join(hashes)))
    return rows, hashes


AUDIT_KIND = "audit_events"  # one leaf per transaction: the events it wrote, each with its digest
# v2 adds `records`: how many record leaves of the same transaction precede it (ledger/rights.py)
AUDIT_PROJECTION = "audit_events/v2"


def flush_ledger(uow: UnitOfWork) -> None:
    conn = uow.conn
    mac = None if uow.platform is None else uow.platform.ledger_mac
    leaves = _record_leaves(uow) if uow.pending_ledger else []
    events, uow.flushed_audit = uow.flushed_audit, []
    if events:  # after the records, naming how many: their actors are these events' actors
        first = str(events[0][0])
        written = {"events": [[str(i), digest] for i, digest in events], "records": len(leaves)}
        leaves.append((AUDIT_KIND, first, 1, leaf_data(AUDIT_KIND, first, 1, AUDIT_PROJECTION, written)))
    append_leaves(conn, leaves, mac)


def _record_leaves(uow: UnitOfWork) -> list[tuple[str, str, int, bytes]]:
    conn = uow.conn
    touched: dict[str, dict[str, bool]] = {}  # kind → record id → created in this transaction
    for kind, rid, new in uow.pending_ledger:
        seen = touched.setdefault(kind, {})
        seen[rid] = seen.get(rid, True) and new
    uow.pending_ledger.clear()
    leaves: list[tuple[str, str, int, bytes]] = []
    handed = _written(uow)
    for kind, ids in touched.items():
        projection = CURRENT[kind]
        fields, given = {}, handed.get(kind, {})
        for rid in ids:
            entry = given.get(rid)
            found = None if entry is None else _fields_as_written(projection, *entry)
            if found is not None:
                fields[rid] = found
        if len(fields) < len(ids):
            fields.update(load_fields(conn, projection, [i for i in ids if i not in fields]))
        versions = latest_versions(conn, kind, [i for i, new in ids.items() if not new])
        for rid, new in ids.items():
            current = fields.get(rid)
            if current is None and (new or rid not in versions):
                continue  # created and removed again in this transaction, or never ledgered
            version = versions.get(rid, 0) + 1
            leaves.append((kind, rid, version, leaf_data(kind, rid, version, projection.name, current)))
    handed.clear()
    return leaves


def adopt_new_kinds(uow: UnitOfWork) -> list[str]:
    """Kinds of record this version ledgers for the first time (users and institutions in issue 13):
    record their rows once, as first versions, while the ledger holds no leaf of that kind, with an
    audit event naming what was adopted. A kind already in the ledger is never adopted again."""
    from ..audit import record_event

    adopted = []
    with uow:
        if tree_size(uow.conn) == 0:
            return []  # adopt_existing records everything
        for kind, projection in CURRENT.items():
            if uow.conn.execute(select(ledger_leaves.c.idx).where(ledger_leaves.c.kind == kind).limit(1)).first():
                continue
            ids = list(uow.conn.execute(select(projection.table.c[projection.key])).scalars())
            if ids:
                track(uow, kind, ids, new=True)
                record_event(uow, None, "ledger.adopted", "ledger", kind, None, {"kind": kind, "rows": len(ids)})
                adopted.append(kind)
        uow.commit()
    return adopted


def adopt_existing(uow: UnitOfWork) -> int:
    """A database that predates the ledger: record each ledgered row once, as its first version, when
    the ledger is still empty (never later: that would launder rows slipped in behind its back)."""
    with uow:
        if tree_size(uow.conn) > 0:
            return 0
        for kind, projection in CURRENT.items():
            track(uow, kind, uow.conn.execute(select(projection.table.c[projection.key])).scalars(), new=True)
        count = len(uow.pending_ledger)
        uow.commit()
        return count
