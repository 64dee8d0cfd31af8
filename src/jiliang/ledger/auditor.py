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
5. Signatures, the audit trail and the MACs (meaning.py), and who made each change (rights.py).

Each leaf is read once (scan.py): the pass that hashes it also checks its MAC, parses its JSON and
keeps what the later checks need of it, and rebuilds its level-0 tile, in the worker that reads its
range. The rows are read straight from the driver and re-serialised in the workers as well.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from ..bulk import driver_cursor
from ..platform import Platform, shanghai_today
from ..supervision.counts import coverage_findings
from ..tokens import seal_findings
from .checkpoints import checkpoint_log_path, read_checkpoint_log
from .keys import checkpoint_verifiers
from .leaf import leaf_data
from .mac import batch_count, batch_mac
from .meaning import audit_trail_findings, meaning_findings, task_state_findings
from .merkle import leaf_hash
from .note import NoteVerifier, parse_note, split_note
from .procedures import KIND as PROCEDURE
from .procedures import procedure_fields
from .projections import BY_NAME, CURRENT, iter_driver_fields, load_fields
from .rights import rights_findings
from .scan import Chunk, WalkBuilder, scan, version_finding
from .tables import checkpoints, ledger_head, ledger_leaves, ledger_tiles
from .tiles import HASH, TILE_BYTES, TILE_WIDTH, TileReader, interior_nodes

__all__ = ["Finding", "AuditReport", "audit"]

Progress = Callable[[str, int, int], None]  # (stage, done, total)
_PARALLEL_FROM = 50_000  # leaves: below this, forking costs more than it saves


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
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def clean(self) -> bool:
        return not self.findings


class _MemoryTiles(TileReader):
    """The tree rebuilt from recomputed leaf hashes, read through the same code as the stored one:
    level 0 from the leaf hashes themselves (32 bytes each, concatenated), the levels above from `tiles`."""

    def __init__(self, tiles: dict[tuple[int, int], bytes], level0: bytes | None = None) -> None:
        self._tiles, self._level0 = tiles, level0

    def tile(self, level: int, index: int) -> bytes:
        if level == 0 and self._level0 is not None:
            return self._level0[index * TILE_BYTES : (index + 1) * TILE_BYTES]
        return self._tiles.get((level, index), b"")


def _build_tiles(
    entries: list[bytes], level: int = 0
) -> tuple[dict[tuple[int, int], bytes], dict[tuple[int, int], bytes]]:
    """The tiles from `level` up, and the interior nodes of the full ones, rebuilt from the entries
    of `level` (the leaf hashes for level 0)."""
    tiles: dict[tuple[int, int], bytes] = {}
    nodes: dict[tuple[int, int], bytes] = {}
    while entries:
        ups = []
        for t in range(0, len(entries), TILE_WIDTH):
            chunk = entries[t : t + TILE_WIDTH]
            tiles[(level, t // TILE_WIDTH)] = b"".join(chunk)
            if len(chunk) == TILE_WIDTH:
                interior, top = interior_nodes(chunk)
                nodes[(level, t // TILE_WIDTH)] = interior
                ups.append(top)
        level, entries = level + 1, ups
    return tiles, nodes


def _stored_tiles(conn: Connection) -> dict[tuple[int, int], bytes]:
    """Every stored tile's hashes (to check a trusted checkpoint's root against the stored tree)."""
    rows = conn.execute(select(ledger_tiles.c.level, ledger_tiles.c.idx, ledger_tiles.c.hashes))
    return {(lv, ix): bytes(h) for lv, ix, h in rows}


# What forked workers read: set before the pool starts, inherited copy-on-write (never pickled).
_SHARED: dict[str, Any] = {}


def _worker_engine() -> Any:
    from ..db import make_engine

    engine = _SHARED["engine"] = make_engine(_SHARED["url"], pool_size=1, max_overflow=0)  # one per worker
    return engine


def _raw_rows(sql: str, lo: int, hi: int) -> Iterator[tuple]:
    """Rows straight from the driver: the scans touch every leaf, so no per-row SQLAlchemy work."""
    engine = _SHARED.get("engine") or _worker_engine()
    with engine.connect() as conn, closing(driver_cursor(conn)) as cursor:
        cursor.execute(sql if engine.dialect.paramstyle != "qmark" else sql.replace("%s", "?"), (lo, hi))
        while rows := cursor.fetchmany(20000):
            yield from rows
        conn.rollback()


_LEAVES = "SELECT idx, kind, record_id, version, data, mac FROM ledger_leaves WHERE idx >= %s AND idx < %s ORDER BY idx"
_HASHED = "SELECT idx, data FROM ledger_leaves WHERE idx >= %s AND idx < %s ORDER BY idx"  # the tree check alone
_LEVEL0 = "SELECT idx, hashes, nodes FROM ledger_tiles WHERE level = 0 AND idx >= %s AND idx < %s"


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The scans make millions of short-lived objects and no reference cycles: the cyclic collector
    would only walk them (and, in a forked worker, everything inherited, copying its pages)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scan(lo: int, hi: int, trusted: int, parse: bool) -> Chunk:
    """Worker: the one pass over leaves lo … hi − 1 (lo a multiple of the tile width) and their
    stored level-0 tiles."""
    with _gc_paused():
        stored = {
            ix: (bytes(h), None if n is None else bytes(n))
            for ix, h, n in _raw_rows(_LEVEL0, lo // TILE_WIDTH, -(-hi // TILE_WIDTH))
        }
        rows = _raw_rows(_LEAVES if parse else _HASHED, lo, hi)
        return scan(rows, stored, lo, hi, trusted, _SHARED.get("mac"), parse)


def _check_records(kind: str, bounds: tuple[Any, Any] | None) -> tuple[int, list[str]]:
    """Re-serialise the rows of `kind` within `bounds` under their latest leaf's projection and
    compare leaf hashes; returns the count and the record ids that differ (confirmed by the caller)."""
    latest, hashes = _SHARED["latest"], _SHARED["hashes"]
    projection = CURRENT[kind]
    name = projection.name
    suspect: list[str] = []
    count = 0
    engine = _SHARED.get("engine") or _worker_engine()
    with engine.connect() as conn, _gc_paused():
        for rid, fields in iter_driver_fields(conn, projection, bounds=bounds):
            count += 1
            entry = latest.get((kind, rid))
            if entry is None or entry[4] != name:
                suspect.append(rid)  # unrecorded, recorded as deleted, or under an older projection
                continue
            at = entry[3] * HASH
            if leaf_hash(leaf_data(kind, rid, entry[2], entry[4], fields)) != hashes[at : at + HASH]:
                suspect.append(rid)
    return count, suspect


def _span(first: int, end: int) -> str:
    """Leaves first … end − 1 as a finding names them."""
    return str(first) if end - first == 1 else f"{first}…{end - 1}"


def _uncovered(runs: list[list[int]], covered: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The parts of the [first, end) `runs` (in order) that no [first, end) range of `covered` holds."""
    merged: list[list[int]] = []
    for first, end in sorted(covered):
        if merged and first <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([first, end])
    k = 0
    for first, end in runs:
        while k < len(merged) and merged[k][1] <= first:
            k += 1
        at, j = first, k
        while at < end:
            if j < len(merged) and merged[j][0] <= at:
                at = max(at, merged[j][1])
                j += 1
            else:
                stop = min(end, merged[j][0]) if j < len(merged) else end
                yield at, stop
                at = stop


class _Auditor:
    def __init__(self, conn: Connection, platform: Platform, progress: Progress | None, workers: int) -> None:
        self.conn, self.platform, self.workers = conn, platform, workers
        self.progress = progress or (lambda stage, done, total: None)
        self.report = AuditReport()
        # → first v, its idx (in the last range the record was in), last v, its idx, projection | None
        self.latest: dict[tuple[str, str], tuple] = {}
        self.procedures: dict[str, tuple[int, Any]] = {}  # code → (index, fields) of its last leaf
        self.chunks: list[Chunk] = []
        self.pool: Any = None

    def find(self, table: str, rid: object, what: str, detail: str) -> None:
        self.report.findings.append(Finding(table, str(rid), what, detail))

    def _map(self, fn: Any, jobs: list[tuple]) -> Iterator[Any]:
        """The results in order, each as soon as it is there."""
        if self.pool is None:
            return (fn(*job) for job in jobs)
        return self.pool.map(fn, *zip(*jobs, strict=True)) if jobs else iter(())

    # 1 and 2: leaves and tree, in one pass over the leaves
    def _jobs(self, size: int) -> list[tuple[int, int]]:
        """Ranges of whole tiles: a few per worker (for the progress bar), at most 256 tiles each (a
        range's leaves are fetched at once on PostgreSQL)."""
        step = -(-size // (self.workers * 4))
        step = min(max(1, -(-step // TILE_WIDTH)), 256) * TILE_WIDTH
        return [(lo, min(lo + step, size)) for lo in range(0, size, step)]

    def size(self) -> tuple[int, int]:
        head = int(self.conn.execute(select(ledger_head.c.size)).scalar_one_or_none() or 0)
        last = self.conn.execute(select(func.max(ledger_leaves.c.idx))).scalar()
        return head, max(head, -1 if last is None else int(last) + 1)

    def scan(self, size: int, trusted: int, parse: bool) -> bytes:
        """Read every leaf once, in the workers: hashes, level-0 tiles, and (`parse`) all the rest the
        later checks need. Returns the leaf hashes, 32 bytes each."""
        jobs = [(lo, hi, trusted, parse) for lo, hi in self._jobs(size)]
        for n, chunk in enumerate(self._map(_scan, jobs), 1):
            self.chunks.append(chunk)
            self.report.findings += chunk.gaps
            self.progress("leaves", n, len(jobs))
        self.report.leaves = size
        hashes = b"".join(c.hashes for c in self.chunks)
        for chunk in self.chunks:
            chunk.hashes = b""  # joined: not kept twice
        return hashes

    def unsigned(self, hashes: bytes) -> list[Finding]:
        """Appends whose batch MAC does not verify over their leaves' hashes, leaves no MAC covers,
        leaf MACs of older ledgers that are wrong (found in the pass), or the key itself missing."""
        mac = self.platform.ledger_mac
        if mac is None:
            if any(chunk.saw_mac for chunk in self.chunks):
                return [Finding("ledger_leaves", "*", "unsigned", "the ledger MAC key is missing from the key folder")]
            return []
        found = [f for chunk in self.chunks for f in chunk.unsigned]
        size, covered = len(hashes) // HASH, []
        for chunk in self.chunks:
            for first, stored in chunk.batches:
                count = batch_count(stored)
                end = first + (count or 1)
                over = hashes[first * HASH : end * HASH]
                if count is None or end > size or stored != batch_mac(mac.key, first, over):
                    found.append(
                        Finding(
                            "ledger_leaves",
                            _span(first, end),
                            "unsigned",
                            "the MAC of the leaves appended together here does not verify: one of them was changed, "
                            "removed or added without the ledger key",
                        )
                    )
                covered.append((first, end))
        bare = [run for chunk in self.chunks for run in chunk.bare]
        for first, end in _uncovered(bare, covered):
            what = "carries no MAC: appended without the ledger key"
            found.append(Finding("ledger_leaves", _span(first, end), "unsigned", what))
        return found

    def leaves(self, head: int, size: int) -> None:
        """Each record's versions run 1, 2, … across the ranges the workers read; the head agrees."""
        latest = self.latest
        for chunk in self.chunks:
            self.report.findings += chunk.leaves
            summary = chunk.summary
            for key in chunk.late:  # a first version other than 1, unless an earlier range had the record
                if key not in latest:
                    first_v, first_idx = summary[key][:2]
                    self.report.findings.append(version_finding(first_idx, key, first_v, 0))
            for key in summary.keys() & latest.keys():
                first_v, first_idx = summary[key][:2]
                if first_v != latest[key][2] + 1:
                    self.report.findings.append(version_finding(first_idx, key, first_v, latest[key][2]))
            latest.update(summary)  # first version and index: as in the last range that had the record
            self.procedures.update(chunk.procedures)
            chunk.summary, chunk.late = {}, []  # merged: the records check forks with `latest` alone
        count = self.conn.execute(select(func.count()).select_from(ledger_leaves)).scalar_one()
        if head != size or count != size:
            self.find("ledger_head", 1, "rewritten", f"the head says {head} leaves, the table holds {count}")

    def tree(self, hashes: bytes) -> _MemoryTiles:
        """The levels above 0 rebuilt from the roots of the full level-0 tiles (which the workers
        rebuilt and compared), compared with the stored ones; leaves whose stored hash differs named."""
        size = len(hashes) // HASH
        self.progress("tree", 0, size)
        tops = [top for chunk in self.chunks for top in chunk.tops]
        rebuilt, nodes = _build_tiles(tops, level=1)
        stored, stored_nodes = {}, {}
        above = select(ledger_tiles.c.level, ledger_tiles.c.idx, ledger_tiles.c.hashes, ledger_tiles.c.nodes)
        for lv, ix, h, n in self.conn.execute(above.where(ledger_tiles.c.level > 0)):
            stored[(lv, ix)] = bytes(h)
            if n is not None:
                stored_nodes[(lv, ix)] = bytes(n)
        level0 = -(-size // TILE_WIDTH)
        beyond = select(ledger_tiles.c.idx, ledger_tiles.c.nodes.is_not(None))
        for ix, has_nodes in self.conn.execute(beyond.where(ledger_tiles.c.level == 0, ledger_tiles.c.idx >= level0)):
            stored[(0, ix)] = b""
            if has_nodes:
                stored_nodes[(0, ix)] = b""
        for chunk in self.chunks:
            self.report.findings += chunk.tiles
        for key, blob in stored_nodes.items():  # tiles written before migration 0003 have none
            if nodes.get(key) != blob:
                self.find(
                    "ledger_tiles", f"{key[0]}/{key[1]}", "rewritten", "stored interior nodes differ from the leaves"
                )
        for key, blob in rebuilt.items():
            if stored.get(key) != blob:
                self.find(
                    "ledger_tiles", f"{key[0]}/{key[1]}", "rewritten", "stored interior hashes differ from the leaves"
                )
        for key in sorted(stored.keys() - rebuilt.keys()):
            self.find("ledger_tiles", f"{key[0]}/{key[1]}", "inserted", "a tile beyond the leaves")
        bad = [b for chunk in self.chunks for b in chunk.bad]
        by_hash = {h: i for i, h in bad if h}
        for i, _ in bad:
            j = by_hash.get(hashes[i * HASH : (i + 1) * HASH])
            if j is not None and j != i:
                self.find("ledger_leaves", i, "reordered", f"holds the leaf recorded at index {j}")
            else:
                self.find("ledger_leaves", i, "rewritten", "its data no longer hashes to the recorded leaf hash")
        self.progress("tree", size, size)
        return _MemoryTiles(rebuilt, hashes)

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
    def records(self, hashes: bytes) -> None:
        jobs, live = [], {}
        for kind, projection in CURRENT.items():
            with closing(driver_cursor(self.conn)) as cursor:  # integers or text: as the driver gives them
                q = self.conn.dialect.identifier_preparer
                column, table = q.quote(projection.key), q.format_table(projection.table)
                cursor.execute(f"SELECT {column} FROM {table} ORDER BY {column}")
                keys = [k for (k,) in cursor.fetchall()]
            live[kind] = {str(k) for k in keys}
            step = max(5000, -(-len(keys) // (self.workers * 4)))  # a few ranges per worker: they even out
            jobs += [(kind, (keys[i], keys[min(i + step, len(keys)) - 1])) for i in range(0, len(keys), step)]
        for n, ((kind, _), (count, suspects)) in enumerate(zip(jobs, self._map(_check_records, jobs), strict=True), 1):
            self.report.records += count
            self._confirm(kind, suspects, hashes)
            self.progress("records", n, len(jobs))
        self._procedures()
        for (kind, rid), (_, _, _, idx, live_projection) in self.latest.items():
            if live_projection is not None and kind in CURRENT and rid not in live[kind]:
                self.find(CURRENT[kind].table.name, rid, "deleted", f"recorded in leaf {idx}, no longer in the table")

    def _leaf_data(self, idx: int) -> bytes:
        data = self.conn.execute(select(ledger_leaves.c.data).where(ledger_leaves.c.idx == idx)).scalar_one()
        return data.encode() if isinstance(data, str) else bytes(data)

    def _confirm(self, kind: str, suspects: list[str], hashes: bytes) -> None:
        """Check again in the audit's own snapshot (workers read their own) and name what differs."""
        projection = CURRENT[kind]
        now = load_fields(self.conn, projection, suspects) if suspects else {}
        for rid, fields in now.items():
            entry = self.latest.get((kind, rid))
            if entry is None or entry[4] is None:
                what = "a row the ledger never recorded" if entry is None else "a row the ledger recorded as deleted"
                self.find(projection.table.name, rid, "inserted", what)
                continue
            _, _, version, idx, name = entry
            under = BY_NAME.get(name, projection)
            if under is not projection:
                fields = load_fields(self.conn, under, [rid]).get(rid, fields)
            if leaf_hash(leaf_data(kind, rid, version, name, fields)) != hashes[idx * HASH : (idx + 1) * HASH]:
                self._changed(under, rid, idx, fields, orjson.loads(self._leaf_data(idx))["fields"])

    def _procedures(self) -> None:
        """Procedures are files: hold the ones in force against their latest leaves."""
        current = procedure_fields(self.conn, self.platform.procedures)
        for code, fields in current.items():
            self.report.records += 1
            latest = self.latest.get((PROCEDURE, code))
            if latest is None or latest[4] is None:
                self.find("procedures", code, "inserted", "a procedure in force that the ledger never recorded")
                continue
            read = self.procedures.get(code)
            if read is not None and read[0] == latest[3]:
                recorded = read[1]
            else:
                recorded = orjson.loads(self._leaf_data(latest[3]))["fields"]
            for name in sorted(fields):
                if fields[name] != recorded.get(name):
                    self.find(
                        "procedures",
                        code,
                        "changed",
                        f"{name}: {recorded.get(name)!r} in leaf {latest[3]}, now {fields[name]!r}",
                    )
        for code in self.procedures:  # every procedure the leaves name, in the order of `latest`
            _, _, _, idx, live = self.latest[(PROCEDURE, code)]
            if live is not None and code not in current:
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


def audit(
    platform: Platform,
    from_checkpoint: int | None = None,
    witness_log: Path | None = None,
    witness: NoteVerifier | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    records: bool = True,
) -> AuditReport:
    """Audit the whole ledger (or the leaves after checkpoint `from_checkpoint`, whose root the stored
    tree must reproduce). The audit reads in one snapshot (REPEATABLE READ on PostgreSQL); a large
    ledger is scanned by `workers` forked processes (default: one per core), whose findings about
    rows are confirmed in that snapshot. `records=False`: the tree check alone (leaf hashes, tiles,
    checkpoints), not the rows."""
    engine = platform.engine
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    timings: dict[str, float] = {}
    with engine.connect() as conn:
        clock = time.perf_counter()
        size = int(conn.execute(select(ledger_head.c.size)).scalar_one_or_none() or 0)
        workers = workers or os.cpu_count() or 1
        auditor = _Auditor(conn, platform, progress, workers if size >= _PARALLEL_FROM else 1)
        trusted = 0
        if from_checkpoint is not None:
            row = conn.execute(select(checkpoints).where(checkpoints.c.number == from_checkpoint)).first()
            if row is None:
                raise ValueError(f"no checkpoint {from_checkpoint}")
            if _MemoryTiles(_stored_tiles(conn)).root(row.size) != bytes(row.root_hash):
                auditor.find(
                    "ledger_tiles",
                    "*",
                    "rewritten",
                    f"the stored tree no longer gives checkpoint {from_checkpoint}'s root",
                )
            else:
                trusted = row.size
        _SHARED.clear()
        _SHARED.update(
            url=platform.engine.url.render_as_string(hide_password=False),
            latest=auditor.latest,
            mac=platform.ledger_mac,
        )
        if auditor.workers == 1:
            _SHARED["engine"] = platform.engine
        try:
            if auditor.workers > 1:
                auditor.pool = ProcessPoolExecutor(auditor.workers, mp_context=multiprocessing.get_context("fork"))
            head, size = auditor.size()
            hashes = auditor.scan(size, trusted, parse=records)  # every leaf read here, once
            tree = auditor.tree(hashes)
            auditor.checkpoints(tree, size, from_checkpoint or 0, witness_log, witness)
            timings["tree check"] = time.perf_counter() - clock
            if not records:  # the tree check alone
                auditor.report.timings = timings
                return auditor.report
            clock = time.perf_counter()
            auditor.leaves(head, size)
            timings["leaves"] = time.perf_counter() - clock
            clock = time.perf_counter()
            _SHARED["hashes"] = hashes
            if auditor.pool is not None:  # fork again, now that the leaves are known, for the records
                auditor.pool.shutdown()
                auditor.pool = ProcessPoolExecutor(auditor.workers, mp_context=multiprocessing.get_context("fork"))
            auditor.records(hashes)
            timings["records"] = time.perf_counter() - clock
            clock = time.perf_counter()
            auditor.report.findings += auditor.unsigned(hashes)
            auditor.report.findings += meaning_findings(conn)  # signed content, certificates vs payloads
            auditor.report.findings += task_state_findings(conn)
            auditor.report.findings += coverage_findings(conn, shanghai_today())  # the dashboard's kept counts
            auditor.report.findings += seal_findings(conn, platform.ledger_mac)  # tokens: who may act
            walk = WalkBuilder.joined(auditor.chunks)
            auditor.report.findings += audit_trail_findings(conn, walk.audit)
            timings["signatures"] = time.perf_counter() - clock
            clock = time.perf_counter()
            auditor.report.findings += rights_findings(conn, walk)  # each change by someone who held the right
            timings["rights"] = time.perf_counter() - clock
        finally:
            if auditor.pool is not None:
                auditor.pool.shutdown()
            _SHARED.clear()
        conn.rollback()
        auditor.report.timings = timings
        return auditor.report
