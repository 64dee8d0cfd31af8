"""The auditor's one pass over the leaves: each leaf read once, straight from the driver, and, in the
worker that reads its range, hashed, its MAC checked, its JSON parsed once and its level-0 tiles
rebuilt and held against the stored ones. What the later checks need of the leaves (each record's
first and last version in the range, the leaves the rights check judges, the audit leaves, the user
and procedure leaves) comes back in one `Chunk`; nothing reads a leaf again unless a finding needs it.

A range starts at a multiple of the tile width, so each level-0 tile is rebuilt by one worker.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .append import AUDIT_KIND
from .mac import LEAF_MAC_BYTES, leaf_mac
from .procedures import KIND as PROCEDURE
from .tiles import HASH, TILE_WIDTH, interior_nodes

__all__ = ["NEEDS_FIELDS", "PER_LEAF", "Chunk", "WalkBuilder", "scan", "version_finding"]

# kinds the rights check judges leaf by leaf (their record id, version or fields matter); the
# others are handed over as runs of consecutive leaves of one kind, judged once per transaction
PER_LEAF = frozenset(
    {"user", "second_factor", "verification_record", "certificate", "institution", "institution_seal", AUDIT_KIND}
)
NEEDS_FIELDS = frozenset({"user", "verification_record", "certificate", "institution"})

Summary = tuple[int, int, int, int, str | None]  # first version, its index, last version, its index, live projection


@dataclass
class Chunk:
    """What one pass over leaves lo … hi − 1 found and what the later checks need of them."""

    lo: int
    hi: int
    hashes: bytes = b""  # the leaf hashes, 32 bytes each
    tops: list[bytes] = field(default_factory=list)  # roots of the full level-0 tiles, in order
    gaps: list[Any] = field(default_factory=list)  # findings: leaves missing from the sequence
    tiles: list[Any] = field(default_factory=list)  # findings: stored level-0 interior nodes that differ
    bad: list[tuple[int, bytes | None]] = field(default_factory=list)  # leaves whose stored hash differs
    # only with `parse` (the full audit, not the tree check alone):
    leaves: list[Any] = field(default_factory=list)  # findings: not a leaf, columns vs data, versions
    summary: dict[tuple[str, str], Summary] = field(default_factory=dict)
    late: list[tuple[str, str]] = field(default_factory=list)  # records whose first version here is not 1
    unsigned: list[Any] = field(default_factory=list)  # findings: a leaf MAC (older ledgers) that is wrong
    batches: list[tuple[int, bytes]] = field(default_factory=list)  # (first index, batch MAC) as stored
    bare: list[list[int]] = field(default_factory=list)  # [first, end) runs of leaves with no MAC of their own
    saw_mac: bool = False  # a leaf carries a MAC (matters when the key is missing)
    walk: list[tuple[Any, ...]] = field(default_factory=list)  # see WalkBuilder
    audit: list[tuple[int, str, dict[str, Any] | None]] = field(default_factory=list)  # (idx, projection, fields)
    users: list[tuple[int, str, dict[str, Any] | None]] = field(default_factory=list)  # (idx, id in data, fields)
    procedures: dict[str, tuple[int, dict[str, Any] | None]] = field(default_factory=dict)  # code → last (idx, fields)


class WalkBuilder:
    """The leaves as the rights check walks them, in index order: `(idx, kind, record id, version,
    fields)` for the kinds in PER_LEAF (fields only for NEEDS_FIELDS, else None), and `(first idx,
    kind, count)` for a run of consecutive leaves of any other kind, whose record ids the check looks
    up only if it names them. Kinds and ids come from the leaf's columns, as the check reads them."""

    def __init__(self) -> None:
        self.walk: list[tuple[Any, ...]] = []
        self.audit: list[tuple[int, str, dict[str, Any] | None]] = []
        self.users: list[tuple[int, str, dict[str, Any] | None]] = []
        self._run: list[Any] | None = None  # [first idx, kind, count] of the run under way

    def add(self, idx: int, kind: str, rid: str, version: int, obj: dict[str, Any] | None) -> None:
        """`obj`: the parsed leaf, None when its data is not a ledger leaf."""
        if kind in PER_LEAF:
            self._close()
            fields = obj["fields"] if obj is not None and kind in NEEDS_FIELDS else None
            self.walk.append((idx, sys.intern(kind), rid, version, fields))
            if obj is not None and kind == AUDIT_KIND:
                self.audit.append((idx, obj["projection"], obj["fields"]))
            elif obj is not None and kind == "user":
                self.users.append((idx, obj["id"], obj["fields"]))
            return
        run = self._run
        if run is not None and run[1] == kind and run[0] + run[2] == idx:
            run[2] += 1
        else:
            self._close()
            self._run = [idx, sys.intern(kind), 1]

    def _close(self) -> None:
        if self._run is not None:
            self.walk.append(tuple(self._run))
            self._run = None

    def done(self) -> WalkBuilder:
        self._close()
        return self

    @classmethod
    def joined(cls, chunks: Iterable[Chunk]) -> WalkBuilder:
        """The walks of consecutive ranges as one (a run cut at a range's end stays two runs)."""
        out = cls()
        for chunk in chunks:
            out.walk += chunk.walk
            out.audit += chunk.audit
            out.users += chunk.users
        return out


def _finding(table: str, rid: object, what: str, detail: str) -> Any:
    from .auditor import Finding

    return Finding(table, str(rid), what, detail)


def version_finding(idx: int, key: tuple[str, str], version: int, previous: int) -> Any:
    what = "reordered" if version <= previous else "deleted"
    return _finding("ledger_leaves", idx, what, f"{key[0]} {key[1]} version {version} follows version {previous}")


def scan(
    rows: Iterable[tuple[Any, ...]],
    stored: dict[int, tuple[bytes, bytes | None]],
    lo: int,
    hi: int,
    trusted: int,
    mac: Any,
    parse: bool,
) -> Chunk:
    """One pass over leaves lo … hi − 1: `rows` are (idx, kind, record_id, version, data, mac) in index
    order, or (idx, data) for the tree check alone (`parse` false: no MACs, no contents); `stored` the
    stored level-0 tiles of the range by tile index (hashes, interior nodes). Leaves below `trusted`
    take their hashes from the stored tiles. `mac`: the ledger MAC key (or None)."""
    from .auditor import Finding

    if not parse:
        return _hashes_only(rows, stored, lo, hi, trusted)
    chunk = Chunk(lo, hi)
    out, expected, zero, sha256 = bytearray(), lo, bytes(HASH), hashlib.sha256
    key, required_from = (mac.key, mac.required_from) if mac is not None else (None, 0)
    loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
    summary, walk, procedures = chunk.summary, WalkBuilder(), chunk.procedures
    bare, batches = chunk.bare, chunk.batches
    for idx, kind, rid, version, data, stored_mac in rows:
        if idx != expected:
            chunk.gaps.append(
                Finding("ledger_leaves", f"{expected}…{idx - 1}", "deleted", "leaves missing from the sequence")
            )
            out += zero * (idx - expected)
        expected = idx + 1
        if type(data) is not bytes:
            data = data.encode() if isinstance(data, str) else bytes(data)  # text: a leaf written with raw SQL
        if idx < trusted:
            blob = stored.get(idx // TILE_WIDTH, (b"", None))[0]
            at = (idx % TILE_WIDTH) * HASH
            out += blob[at : at + HASH] if len(blob) >= at + HASH else zero
        else:
            out += sha256(b"\x00" + data).digest()
        if key is None:
            chunk.saw_mac = chunk.saw_mac or stored_mac is not None
        elif stored_mac is None:
            if idx >= required_from:  # fine only inside an append whose batch MAC covers it
                if bare and bare[-1][1] == idx:
                    bare[-1][1] += 1
                else:
                    bare.append([idx, idx + 1])
        elif len(stored_mac) != LEAF_MAC_BYTES:
            batches.append((idx, bytes(stored_mac)))  # checked over the leaf hashes once all are read
        elif bytes(stored_mac) != leaf_mac(key, idx, data):
            chunk.unsigned.append(
                Finding(
                    "ledger_leaves",
                    str(idx),
                    "unsigned",
                    "carries a MAC the ledger key did not make: changed, or appended without the ledger key",
                )
            )
        try:
            obj = loads(data)
            record = (obj["kind"], obj["id"])
            v, projection, fields = obj["version"], obj["projection"], obj["fields"]
            seen = summary.get(record)
        except (JSONDecodeError, KeyError, TypeError):
            chunk.leaves.append(Finding("ledger_leaves", str(idx), "rewritten", "the leaf data is not a ledger leaf"))
            walk.add(idx, kind, rid, version, None)
            continue
        walk.add(idx, kind, rid, version, obj)
        if kind != record[0] or rid != record[1] or version != v:
            chunk.leaves.append(
                Finding("ledger_leaves", str(idx), "rewritten", "the index columns disagree with the hashed leaf data")
            )
        live = projection if fields is not None else None
        if seen is None:
            summary[record] = (v, idx, v, idx, live)
            if v != 1:
                chunk.late.append(record)
        else:
            if v != seen[2] + 1:
                chunk.leaves.append(version_finding(idx, record, v, seen[2]))
            summary[record] = (seen[0], seen[1], v, idx, live)
        if record[0] == PROCEDURE:
            procedures[record[1]] = (idx, fields)
    if expected < hi:
        chunk.gaps.append(
            Finding("ledger_leaves", f"{expected}…{hi - 1}", "deleted", "leaves missing from the sequence")
        )
        out += zero * (hi - expected)
    chunk.hashes = bytes(out)
    walk.done()
    chunk.walk, chunk.audit, chunk.users = walk.walk, walk.audit, walk.users
    _tiles(chunk, stored)
    return chunk


def _hashes_only(
    rows: Iterable[tuple[Any, ...]], stored: dict[int, tuple[bytes, bytes | None]], lo: int, hi: int, trusted: int
) -> Chunk:
    """The tree check alone: `rows` are (idx, data)."""
    from .auditor import Finding

    chunk = Chunk(lo, hi)
    out, expected, zero, sha256 = bytearray(), lo, bytes(HASH), hashlib.sha256
    for idx, data in rows:
        if idx != expected:
            chunk.gaps.append(
                Finding("ledger_leaves", f"{expected}…{idx - 1}", "deleted", "leaves missing from the sequence")
            )
            out += zero * (idx - expected)
        expected = idx + 1
        if idx < trusted:
            blob = stored.get(idx // TILE_WIDTH, (b"", None))[0]
            at = (idx % TILE_WIDTH) * HASH
            out += blob[at : at + HASH] if len(blob) >= at + HASH else zero
        else:
            out += sha256(b"\x00" + (data.encode() if isinstance(data, str) else data)).digest()
    if expected < hi:
        chunk.gaps.append(
            Finding("ledger_leaves", f"{expected}…{hi - 1}", "deleted", "leaves missing from the sequence")
        )
        out += zero * (hi - expected)
    chunk.hashes = bytes(out)
    _tiles(chunk, stored)
    return chunk


def _tiles(chunk: Chunk, stored: dict[int, tuple[bytes, bytes | None]]) -> None:
    """Rebuild the level-0 tiles of the range, compare them and their interior nodes with the
    stored ones, and keep the roots of the full ones (the entries of level 1)."""
    from .auditor import Finding

    hashes, base = chunk.hashes, chunk.lo // TILE_WIDTH
    for t in range(0, -(-len(hashes) // (TILE_WIDTH * HASH))):
        blob = hashes[t * TILE_WIDTH * HASH : (t + 1) * TILE_WIDTH * HASH]
        theirs, their_nodes = stored.get(base + t, (None, None))
        interior = None
        if len(blob) == TILE_WIDTH * HASH:
            interior, top = interior_nodes([blob[k : k + HASH] for k in range(0, len(blob), HASH)])
            chunk.tops.append(top)
        if their_nodes is not None and their_nodes != interior:  # tiles written before migration 0003 have none
            chunk.tiles.append(
                Finding("ledger_tiles", f"0/{base + t}", "rewritten", "stored interior nodes differ from the leaves")
            )
        if theirs != blob:
            first, theirs = (base + t) * TILE_WIDTH, theirs or b""
            for k in range(0, len(blob), HASH):
                if blob[k : k + HASH] != theirs[k : k + HASH]:
                    chunk.bad.append((first + k // HASH, theirs[k : k + HASH] if len(theirs) >= k + HASH else None))
