"""`jiliang audit`: recompute the ledger from its leaves and hold every record against it.

1. Leaves: indexes gap-free; each leaf's columns agree with its data; versions of a record run 1, 2, …
2. Tree: every leaf hash recomputed, every stored tile rebuilt and compared; a leaf whose hash sits
   at another index is *reordered*, one that matches nowhere is *rewritten*.
3. Checkpoints: each signature verified against the platform keys (and flagged when the key was
   reported compromised), each root recomputed from the leaves, each compared with its copy outside
   the database and with what the witness cosigned — a database rewritten and re-signed with the
   platform key still disagrees with those.
4. Records: every live row of a ledgered table, re-serialised under the projection of its latest
   leaf, must be byte-identical to that leaf's data; rows without a leaf were *inserted*, leaves
   without a row were *deleted*, differing rows were *changed* (naming the child row and field).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, select

from ..platform import Platform
from .checkpoints import checkpoint_log_path, read_checkpoint_log
from .keys import checkpoint_verifiers
from .leaf import leaf_data
from .merkle import leaf_hash
from .note import NoteVerifier, parse_note, split_note
from .procedures import KIND as PROCEDURE
from .procedures import procedure_fields
from .projections import BY_NAME, CURRENT, iter_fields
from .tables import checkpoints, ledger_head, ledger_leaves, ledger_tiles
from .tiles import HASH, TILE_WIDTH, TileReader, fold

__all__ = ["Finding", "AuditReport", "audit"]

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Finding:
    table: str
    id: str
    what: str  # changed | deleted | inserted | reordered | rewritten | unsigned | compromised
    detail: str

    def __str__(self) -> str:
        return f"{self.what:<10} {self.table} {self.id}: {self.detail}"


@dataclass
class AuditReport:
    leaves: int = 0
    records: int = 0
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


class _MemoryTiles(TileReader):
    """The tree rebuilt from recomputed leaf hashes, read through the same code as the stored one."""

    def __init__(self, tiles: dict[tuple[int, int], bytes]) -> None:
        self._tiles = tiles

    def tile(self, level: int, index: int) -> bytes:
        return self._tiles.get((level, index), b"")


def _build_tiles(level0: list[bytes]) -> dict[tuple[int, int], bytes]:
    tiles: dict[tuple[int, int], bytes] = {}
    level, entries = 0, level0
    while entries:
        ups = []
        for t in range(0, len(entries), TILE_WIDTH):
            chunk = entries[t : t + TILE_WIDTH]
            tiles[(level, t // TILE_WIDTH)] = b"".join(chunk)
            if len(chunk) == TILE_WIDTH:
                ups.append(fold(chunk))
        level, entries = level + 1, ups
    return tiles


def _stored_tiles(conn: Connection) -> dict[tuple[int, int], bytes]:
    rows = conn.execute(select(ledger_tiles.c.level, ledger_tiles.c.idx, ledger_tiles.c.hashes))
    return {(lv, ix): bytes(h) for lv, ix, h in rows}


def _stored_hash(stored: dict[tuple[int, int], bytes], index: int) -> bytes | None:
    blob = stored.get((0, index // TILE_WIDTH), b"")
    at = (index % TILE_WIDTH) * HASH
    return blob[at : at + HASH] if len(blob) >= at + HASH else None


class _Auditor:
    def __init__(self, conn: Connection, platform: Platform, progress: Progress | None) -> None:
        self.conn, self.platform = conn, platform
        self.progress = progress or (lambda stage, done, total: None)
        self.report = AuditReport()
        self.latest: dict[tuple[str, str], tuple[int, int, bytes, str | None]] = {}  # → idx, version, data, projection

    def find(self, table: str, rid: object, what: str, detail: str) -> None:
        self.report.findings.append(Finding(table, str(rid), what, detail))

    # 1 and 2: leaves and tree
    def leaves(self, trusted_size: int, stored: dict[tuple[int, int], bytes]) -> list[bytes]:
        conn = self.conn
        total = int(conn.execute(select(ledger_head.c.size)).scalar_one_or_none() or 0)
        hashes: list[bytes] = []
        expected = 0
        stmt = select(
            ledger_leaves.c.idx,
            ledger_leaves.c.kind,
            ledger_leaves.c.record_id,
            ledger_leaves.c.version,
            ledger_leaves.c.data,
        ).order_by(ledger_leaves.c.idx)
        for idx, kind, rid, version, data in conn.execution_options(yield_per=20000).execute(stmt):
            data = data.encode() if isinstance(data, str) else bytes(data)  # raw SQL may leave text
            if idx != expected:
                self.find("ledger_leaves", f"{expected}…{idx - 1}", "deleted", "leaves missing from the sequence")
                hashes.extend(_stored_hash(stored, i) or b"\0" * HASH for i in range(expected, idx))
            expected = idx + 1
            hashes.append(leaf_hash(data) if idx >= trusted_size else (_stored_hash(stored, idx) or b""))
            self._leaf(idx, kind, rid, version, data)
            if idx % 50000 == 0:
                self.progress("leaves", idx, total)
        self.report.leaves = expected
        if expected != total:
            self.find("ledger_head", 1, "rewritten", f"the head says {total} leaves, the table holds {expected}")
        self.progress("leaves", expected, max(total, expected))
        return hashes

    def _leaf(self, idx: int, kind: str, rid: str, version: int, data: bytes) -> None:
        try:
            obj = orjson.loads(data)
            key = (obj["kind"], obj["id"])
            leaf_version, projection, fields = obj["version"], obj["projection"], obj["fields"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.find("ledger_leaves", idx, "rewritten", "the leaf data is not a ledger leaf")
            return
        if (kind, rid, version) != (key[0], key[1], leaf_version):
            self.find("ledger_leaves", idx, "rewritten", "the index columns disagree with the hashed leaf data")
        previous = self.latest.get(key)
        expected_version = previous[1] + 1 if previous else 1
        if leaf_version != expected_version:
            what = "reordered" if previous and leaf_version < expected_version else "deleted"
            self.find(
                "ledger_leaves",
                idx,
                what,
                f"{key[0]} {key[1]} version {leaf_version} follows version {expected_version - 1}",
            )
        self.latest[key] = (idx, leaf_version, data, projection if fields is not None else None)

    def tree(self, hashes: list[bytes], stored: dict[tuple[int, int], bytes]) -> _MemoryTiles:
        self.progress("tree", 0, len(hashes))
        rebuilt = _build_tiles(hashes)
        bad_leaves = []
        for key, blob in rebuilt.items():
            if stored.get(key) != blob:
                if key[0] == 0:
                    base = key[1] * TILE_WIDTH
                    theirs = stored.get(key, b"")
                    bad_leaves += [
                        base + k
                        for k in range(len(blob) // HASH)
                        if blob[k * HASH : (k + 1) * HASH] != theirs[k * HASH : (k + 1) * HASH]
                    ]
                else:
                    self.find(
                        "ledger_tiles",
                        f"{key[0]}/{key[1]}",
                        "rewritten",
                        "stored interior hashes differ from the leaves",
                    )
        for key in stored.keys() - rebuilt.keys():
            self.find("ledger_tiles", f"{key[0]}/{key[1]}", "inserted", "a tile beyond the leaves")
        stored_at = {i: _stored_hash(stored, i) for i in bad_leaves}
        by_hash = {h: i for i, h in stored_at.items() if h}
        for i in bad_leaves:
            j = by_hash.get(hashes[i])
            if j is not None and j != i:
                self.find("ledger_leaves", i, "reordered", f"holds the leaf recorded at index {j}")
            else:
                self.find("ledger_leaves", i, "rewritten", "its data no longer hashes to the recorded leaf hash")
        self.progress("tree", len(hashes), len(hashes))
        return _MemoryTiles(rebuilt)

    # 3: checkpoints
    def checkpoints(
        self, tree: _MemoryTiles, size: int, first: int, witness_log: Path | None, witness: NoteVerifier | None
    ) -> None:
        settings = self.platform.settings
        verifiers = checkpoint_verifiers(self.conn, settings.ledger_origin)
        rows = self.conn.execute(
            select(checkpoints).where(checkpoints.c.number >= first).order_by(checkpoints.c.number)
        ).all()
        copies = read_checkpoint_log(checkpoint_log_path(settings))
        for n, row in enumerate(rows, 1):
            self.report.checkpoints += 1
            self._checkpoint(row, tree, size, verifiers, copies.get(row.number), witness)
            self.progress("checkpoints", n, len(rows))
        in_db = {r.number for r in rows}
        for number in sorted(copies):
            if number >= first and number not in in_db:
                self.find(
                    "checkpoints", number, "deleted", "the copy outside the database has it, the database does not"
                )
        if witness_log is not None:
            self._witnessed(tree, size, witness_log, witness, {r.size: r for r in rows})

    def _checkpoint(
        self, row: Any, tree: _MemoryTiles, size: int, verifiers: dict, copy: str | None, witness: NoteVerifier | None
    ) -> None:
        try:
            body, lines = split_note(row.note)
            cp, _ = parse_note(row.note)
        except ValueError as exc:
            self.find("checkpoints", row.number, "rewritten", f"not a signed checkpoint ({exc})")
            return
        signed = [(v, key) for v, key in verifiers.values() if (line := v.find(lines)) and v.verify(body, line)]
        if not signed:
            self.find("checkpoints", row.number, "unsigned", "no valid signature of a platform key")
        for _, key in signed:
            if key.compromised_from is not None and (cp.time or "") >= key.compromised_from.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ):
                self.find(
                    "checkpoints", row.number, "compromised", f"signed by {key.kid} after it was reported compromised"
                )
        if (cp.size, cp.root_hash) != (row.size, bytes(row.root_hash)):
            self.find("checkpoints", row.number, "rewritten", "the stored size or root differs from the signed note")
        if cp.size > size:
            self.find("checkpoints", row.number, "deleted", f"signed a tree of {cp.size} leaves; only {size} remain")
        elif tree.root(cp.size) != cp.root_hash:
            self.find(
                "checkpoints", row.number, "rewritten", f"the leaves 0…{cp.size - 1} no longer give the signed root"
            )
        if copy is None:
            self.find("checkpoints", row.number, "inserted", "no copy outside the database")
        elif split_note(copy)[0] != body:
            self.find("checkpoints", row.number, "rewritten", "differs from its copy outside the database")
        if witness is not None and (line := witness.find(lines)) is not None and not witness.verify(body, line):
            self.find("checkpoints", row.number, "rewritten", f"the cosignature of {witness.name} does not verify")

    def _witnessed(
        self, tree: _MemoryTiles, size: int, path: Path, witness: NoteVerifier | None, by_size: dict[int, Any]
    ) -> None:
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            note = orjson.loads(line)["note"]
            body, lines = split_note(note)
            cp, _ = parse_note(note)
            if witness is not None and not any(witness.verify(body, s) for s in lines):
                self.find("witness", n, "rewritten", "an entry of the witness log without a valid cosignature")
                continue
            ours = by_size.get(cp.size)
            if ours is not None and bytes(ours.root_hash) != cp.root_hash:
                self.find("checkpoints", ours.number, "rewritten", "differs from the checkpoint the witness cosigned")
            if cp.size > size:
                self.find("ledger_leaves", f"{size}…{cp.size - 1}", "deleted", f"the witness cosigned {cp.size} leaves")
            elif tree.root(cp.size) != cp.root_hash:
                self.find(
                    "ledger_leaves",
                    f"0…{cp.size - 1}",
                    "rewritten",
                    f"the witness cosigned another root for these {cp.size} leaves",
                )

    # 4: records
    def records(self) -> None:
        seen: set[tuple[str, str]] = set()
        for kind, projection in CURRENT.items():
            for rid, fields in iter_fields(self.conn, projection):
                self.report.records += 1
                key = (kind, rid)
                seen.add(key)
                latest = self.latest.get(key)
                if latest is None or latest[3] is None:
                    self.find(
                        projection.table.name,
                        rid,
                        "inserted",
                        "a row the ledger never recorded" if latest is None else "a row the ledger recorded as deleted",
                    )
                    continue
                idx, version, data, name = latest[0], latest[1], latest[2], str(latest[3])
                under = BY_NAME.get(name)
                if under is not None and under is not projection:
                    fields = _reproject(self.conn, under, rid)
                if leaf_data(kind, rid, version, name, fields) != data:
                    self._changed(under or projection, rid, idx, fields, orjson.loads(data)["fields"])
                if self.report.records % 20000 == 0:
                    self.progress("records", self.report.records, 0)
        self._procedures(seen)
        for (kind, rid), (idx, _, _, projection_name) in self.latest.items():
            if projection_name is not None and (kind, rid) not in seen and kind in CURRENT:
                self.find(CURRENT[kind].table.name, rid, "deleted", f"recorded in leaf {idx}, no longer in the table")

    def _procedures(self, seen: set[tuple[str, str]]) -> None:
        """Procedures are files: hold the ones in force against their latest leaves."""
        for code, fields in procedure_fields(self.conn, self.platform.procedures).items():
            self.report.records += 1
            seen.add((PROCEDURE, code))
            latest = self.latest.get((PROCEDURE, code))
            if latest is None or latest[3] is None:
                self.find("procedures", code, "inserted", "a procedure in force that the ledger never recorded")
                continue
            recorded = orjson.loads(latest[2])["fields"]
            for name in sorted(fields):
                if fields[name] != recorded.get(name):
                    self.find(
                        "procedures",
                        code,
                        "changed",
                        f"{name}: {recorded.get(name)!r} in leaf {latest[0]}, now {fields[name]!r}",
                    )
        for (kind, code), (idx, _, _, live) in self.latest.items():
            if kind == PROCEDURE and live is not None and (kind, code) not in seen:
                self.find("procedures", code, "deleted", f"recorded in leaf {idx}, no longer in force")

    def _changed(self, projection: Any, rid: str, idx: int, live: dict[str, Any], recorded: dict[str, Any]) -> None:
        table = projection.table.name
        children = {c.name: c.table.name for c in projection.children}
        for name in sorted(live.keys() | recorded.keys()):
            a, b = recorded.get(name), live.get(name)
            if a == b:
                continue
            if name in children and isinstance(a, list) and isinstance(b, list):
                self._changed_children(table, rid, children[name], a, b)
            else:
                self.find(table, rid, "changed", f"{name}: {a!r} in leaf {idx}, now {b!r}")

    def _changed_children(self, table: str, rid: str, child: str, recorded: list[Any], live: list[Any]) -> None:
        def keyed(rows: Iterable[Any]) -> dict[Any, Any]:
            return {
                (r.get("id") if isinstance(r, dict) and "id" in r else orjson.dumps(r, option=orjson.OPT_SORT_KEYS)): r
                for r in rows
            }

        before, after = keyed(recorded), keyed(live)
        for k in before.keys() - after.keys():
            self.find(child, k if isinstance(k, int) else f"{rid}", "deleted", f"of {table} {rid}: {before[k]}")
        for k in after.keys() - before.keys():
            self.find(child, k if isinstance(k, int) else f"{rid}", "inserted", f"of {table} {rid}: {after[k]}")
        for k in before.keys() & after.keys():
            if before[k] != after[k]:
                diffs = ", ".join(
                    f"{f}: {before[k].get(f)!r} → {after[k].get(f)!r}"
                    for f in sorted(after[k])
                    if before[k].get(f) != after[k].get(f)
                )
                self.find(child, k, "changed", f"of {table} {rid}: {diffs}")


def _reproject(conn: Connection, projection: Any, rid: str) -> dict[str, Any]:
    from .projections import load_fields

    return load_fields(conn, projection, [rid]).get(rid, {})


def audit(
    platform: Platform,
    from_checkpoint: int | None = None,
    witness_log: Path | None = None,
    witness: NoteVerifier | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit the whole ledger (or the leaves after checkpoint `from_checkpoint`, whose root the stored
    tree must reproduce) in one read transaction."""
    engine = platform.engine
    if engine.dialect.name == "postgresql":  # one snapshot for every query of the audit
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as conn:
        auditor = _Auditor(conn, platform, progress)
        stored = _stored_tiles(conn)
        trusted = 0
        if from_checkpoint is not None:
            row = conn.execute(select(checkpoints).where(checkpoints.c.number == from_checkpoint)).first()
            if row is None:
                raise ValueError(f"no checkpoint {from_checkpoint}")
            if _MemoryTiles(stored).root(row.size) != bytes(row.root_hash):
                auditor.find(
                    "ledger_tiles",
                    "*",
                    "rewritten",
                    f"the stored tree no longer gives checkpoint {from_checkpoint}'s root",
                )
            else:
                trusted = row.size
        hashes = auditor.leaves(trusted, stored)
        tree = auditor.tree(hashes, stored)
        auditor.checkpoints(tree, len(hashes), from_checkpoint or 0, witness_log, witness)
        auditor.records()
        conn.rollback()
        return auditor.report
