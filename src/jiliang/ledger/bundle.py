"""A record's ledger proof, self-contained: the leaf, its index, the inclusion proof and the signed
(and cosigned) checkpoint. It travels in exported certificates and public answers, and is checked
with nothing but keys the checker trusts."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from ..certificates.signing import KeySet
from .checkpoints import get_checkpoint, latest_checkpoint
from .leaf import parse_leaf
from .merkle import leaf_hash, verify_inclusion
from .note import NoteVerifier, parse_note, split_note
from .tables import ledger_leaves
from .tiles import TileReader

__all__ = ["BUNDLE_FORMAT", "latest_leaf", "ledger_bundle", "verify_bundle", "platform_verifiers"]

BUNDLE_FORMAT = "jiliang-ledger-proof/1"


def latest_leaf(conn: Connection, kind: str, record_id: str) -> Any:
    return conn.execute(
        select(ledger_leaves.c.idx, ledger_leaves.c.data)
        .where(ledger_leaves.c.kind == kind, ledger_leaves.c.record_id == record_id)
        .order_by(ledger_leaves.c.idx.desc())
        .limit(1)
    ).first()


def ledger_bundle(conn: Connection, kind: str, record_id: str, checkpoint: int | None = None) -> dict[str, Any] | None:
    """The proof of the record's latest leaf against `checkpoint` (default: the latest). Without a
    checkpoint that covers the leaf yet, the answer says so (`pending`) and holds no proof."""
    leaf = latest_leaf(conn, kind, record_id)
    if leaf is None:
        return None
    cp = latest_checkpoint(conn) if checkpoint is None else get_checkpoint(conn, checkpoint)
    out: dict[str, Any] = {"format": BUNDLE_FORMAT, "index": leaf.idx, "leaf": bytes(leaf.data).decode()}
    if cp is None or cp.size <= leaf.idx:
        return out | {"pending": "not yet in a checkpoint; the next scheduled checkpoint will include it"}
    proof = TileReader(conn).inclusion(leaf.idx, cp.size)
    return out | {
        "checkpoint_number": cp.number,
        "checkpoint": cp.note,
        "inclusion_proof": [base64.b64encode(p).decode() for p in proof],
    }


def platform_verifiers(keyset: KeySet, origin: str) -> list[tuple[NoteVerifier, Any]]:
    """Note verifiers for the platform's checkpoint keys in a trusted key set."""
    types = {"platform": "ed25519", "platform-sm2": "sm2-sm3"}
    return [(NoteVerifier(origin, types[e.owner], e.public_key_pem, e.kid), e) for e in keyset.keys if e.owner in types]  # type: ignore[arg-type]


def verify_bundle(
    bundle: Mapping[str, Any],
    keyset: KeySet,
    witnesses: Sequence[NoteVerifier] = (),
    expect: Mapping[str, Any] | None = None,
) -> tuple[list[str], dict[str, Any] | None]:
    """Problems found (empty: the proof holds) and the leaf. `expect` holds fields the leaf must
    carry (e.g. the certificate's signature); each witness named must have cosigned."""
    problems: list[str] = []
    try:
        index, data = int(bundle["index"]), str(bundle["leaf"]).encode()
        leaf = parse_leaf(data)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"the ledger proof is incomplete or damaged ({exc})"], None
    if "checkpoint" not in bundle:
        return ["the record is not yet covered by a checkpoint: verify again later"], leaf.__dict__
    try:
        cp, lines = parse_note(str(bundle["checkpoint"]))
        body, _ = split_note(str(bundle["checkpoint"]))
        proof = [base64.b64decode(p, validate=True) for p in bundle["inclusion_proof"]]
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        return [f"the checkpoint or the inclusion proof is damaged ({exc})"], leaf.__dict__
    signed_by = [
        (v, e) for v, e in platform_verifiers(keyset, cp.origin) if (line := v.find(lines)) and v.verify(body, line)
    ]
    if not signed_by:
        problems.append("the checkpoint is not signed by any trusted platform key")
    for _, entry in signed_by:
        if entry.compromised_at(cp.time):
            problems.append(f"the checkpoint was signed by key {entry.kid} after it was reported compromised")
    for w in witnesses:
        line = w.find(lines)
        if line is None or not w.verify(body, line):
            problems.append(f"the checkpoint carries no valid cosignature of witness {w.name}")
    if not verify_inclusion(leaf_hash(data), index, cp.size, proof, cp.root_hash):
        problems.append(f"the inclusion proof does not place this leaf at index {index} of the checkpoint's tree")
    fields = leaf.fields or {}
    for key, value in (expect or {}).items():
        if fields.get(key) != value:
            problems.append(f"the ledger leaf records {key} = {fields.get(key)!r}, the document says {value!r}")
    return problems, {"kind": leaf.kind, "id": leaf.id, "version": leaf.version, "fields": leaf.fields, "size": cp.size}
