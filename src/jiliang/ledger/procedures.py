"""Procedures in the ledger. A procedure is a file (shipped or in JILIANG_PROCEDURES_DIR), not a row:
its leaf records the file's SHA-256, its regulation editions and the MPE rules an administrator has
confirmed. `sync_procedures` appends a leaf whenever that changed (at `jiliang init` / start-up and on
each rule confirmation), and the auditor holds the procedures in force against the latest leaves."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from ..registry.tables import rule_confirmations
from .append import append_leaves, latest_versions
from .leaf import leaf_data, parse_leaf
from .mac import LedgerMacKey
from .tables import ledger_leaves

__all__ = ["KIND", "PROJECTION", "procedure_fields", "recorded_procedures", "sync_procedures"]

KIND = "procedure"
PROJECTION = "procedure/v1"


def procedure_fields(conn: Connection, procedures: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    confirmed: dict[str, list[dict[str, Any]]] = {}
    rows = conn.execute(
        select(rule_confirmations).order_by(rule_confirmations.c.procedure_code, rule_confirmations.c.rule_id)
    )
    for r in rows:
        confirmed.setdefault(r.procedure_code, []).append(
            {"rule_id": r.rule_id, "confirmed_by": r.confirmed_by, "confirmed_at": r.confirmed_at.isoformat()}
        )
    return {
        code: {
            "code": code,
            "name_zh": p.name_zh,
            "file_sha256": hashlib.sha256(p.path.read_bytes()).hexdigest() if p.path else None,
            "regulations": [e.regulation for e in p.editions],
            "confirmed_rules": confirmed.get(code, []),
        }
        for code, p in procedures.items()
    }


def recorded_procedures(conn: Connection) -> dict[str, tuple[int, Any]]:
    """Latest leaf (index, Leaf) of each procedure."""
    out: dict[str, tuple[int, Any]] = {}
    rows = conn.execute(
        select(ledger_leaves.c.idx, ledger_leaves.c.data)
        .where(ledger_leaves.c.kind == KIND)
        .order_by(ledger_leaves.c.idx)
    )
    for idx, data in rows:
        leaf = parse_leaf(bytes(data))
        out[leaf.id] = (idx, leaf)
    return out


def sync_procedures(conn: Connection, procedures: Mapping[str, Any], mac: LedgerMacKey | None) -> int:
    """Append a leaf for each procedure whose recorded fields differ (or that disappeared). Runs inside
    the caller's transaction; returns the number of leaves."""
    current = procedure_fields(conn, procedures)
    recorded = recorded_procedures(conn)
    changed = [c for c in current if c not in recorded or recorded[c][1].fields != current[c]]
    removed = [c for c, (_, leaf) in recorded.items() if c not in current and leaf.fields is not None]
    versions = latest_versions(conn, KIND, changed + removed)
    leaves = [
        (
            KIND,
            code,
            versions.get(code, 0) + 1,
            leaf_data(KIND, code, versions.get(code, 0) + 1, PROJECTION, current.get(code)),
        )
        for code in changed + removed
    ]
    append_leaves(conn, leaves, mac)
    return len(leaves)
