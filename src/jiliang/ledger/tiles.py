"""The stored Merkle tree: tiles of hashes (C2SP tlog-tiles layout), appended and read in O(log n).

A tile (level L, index N) holds the hashes of the nodes at height 8·L numbered 256·N … 256·N + 255,
concatenated; level 0 holds the leaf hashes. When a tile fills, its root becomes the next entry one
level up, and its interior nodes (heights 8·L + 1 … 8·L + 7) are stored beside it, once: full tiles
never change, so a proof slices its nodes out of them and folds only the rightmost, partial tiles.
MTH of any range of the RFC 9162 recursion is a handful of such nodes. Appending rewrites only the
rightmost tile of each level.

The statements are plain SQL on the driver's own cursor (no SQLAlchemy compilation or conversion per
statement or value on the append and proof paths), written so that SQLite and PostgreSQL both take them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import closing
from itertools import chain

from sqlalchemy import Connection, select

from ..bulk import driver_cursor
from .merkle import EMPTY_ROOT, SubtreeHash, consistency_path, inclusion_path, node_hash
from .tables import ledger_head

__all__ = [
    "TILE_WIDTH",
    "TileReader",
    "append_hashes",
    "fold",
    "interior_nodes",
    "reserve_and_read",
    "reserve_indexes",
    "tree_size",
]

TILE_WIDTH = 256
HASH = 32
TILE_BYTES = TILE_WIDTH * HASH

Key = tuple[int, int]  # (level, tile index)


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root of a complete subtree whose leaves (a power of two of them) are `hashes`."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def interior_nodes(hashes: Sequence[bytes]) -> tuple[bytes, bytes]:
    """A full tile's interior nodes, heights 1 … 7 (128 + 64 + … + 2 hashes) concatenated, and its root."""
    nodes: list[bytes] = []
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        nodes += level
    root = nodes.pop()
    return b"".join(nodes), root


def _split_hashes(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH] for i in range(0, len(blob), HASH)]


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _select_tiles(conn: Connection, keys: Collection[Key]) -> list[tuple[int, int, bytes, bytes | None]]:
    """(level, idx, hashes, nodes) of the stored tiles among `keys`, in one query."""
    pair = "(level = {0} AND idx = {0})".format(_mark(conn))
    with closing(driver_cursor(conn)) as cursor:
        cursor.execute(
            f"SELECT level, idx, hashes, nodes FROM ledger_tiles WHERE {' OR '.join([pair] * len(keys))}",
            tuple(chain.from_iterable(keys)),
        )
        return list(cursor.fetchall())


def _note_tiles(a: int, b: int, keys: set[Key]) -> bytes:
    """A stand-in for subtree_hash(a, b) that only adds to `keys` the tiles it would read."""
    n = b - a
    if n & (n - 1) == 0:
        if n:
            level = (n.bit_length() - 1) // 8
            keys.add((level, a >> (8 * level + 8)))
    else:
        k = 1 << ((n - 1).bit_length() - 1)
        _note_tiles(a, a + k, keys)
        _note_tiles(a + k, b, keys)
    return b""


def _tiles_read_by(walk: Callable[[SubtreeHash], object]) -> set[Key]:
    keys: set[Key] = set()
    walk(lambda a, b: _note_tiles(a, b, keys))
    return keys


class TileReader:
    """Reads tiles (each once) from one connection and hashes the nodes proofs need. `root`,
    `inclusion` and `consistency` work out first which tiles they need, and fetch them in one query."""

    # Readers that supply `tile` themselves (the auditor's tree in memory) have no stored interior
    # nodes, and fold every node from the tile's hashes. Never written: __init__ gives each reader its own.
    _nodes: dict[Key, bytes] = {}

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._tiles: dict[Key, bytes] = {}
        self._nodes: dict[Key, bytes] = {}  # interior nodes of the full tiles read
        self._wanted: set[Key] = set()  # tiles the computation under way will read

    def tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        blob = self._tiles.get(key)
        if blob is None:
            keys = {k for k in self._wanted if k not in self._tiles} | {key}
            for lv, ix, hashes, nodes in _select_tiles(self.conn, keys):
                self._tiles[(lv, ix)] = hashes
                if nodes is not None:
                    self._nodes[(lv, ix)] = nodes
            for k in keys:
                self._tiles.setdefault(k, b"")
            blob = self._tiles[key]
        return blob

    def node(self, height: int, index: int) -> bytes:
        """Hash of the complete subtree of 2**height leaves starting at leaf index << height."""
        level, rise = divmod(height, 8)
        first = index << rise
        key = (level, first // TILE_WIDTH)
        blob = self.tile(*key)
        start = (first % TILE_WIDTH) * HASH
        end = start + (HASH << rise)
        if len(blob) < end:
            raise LookupError(f"node at height {height}, index {index} is not in the stored tree")
        if rise == 0:
            return blob[start:end]
        nodes = self._nodes.get(key)
        if nodes is None:
            return fold(_split_hashes(blob[start:end]))
        # heights 1 … 7 follow each other: 128 nodes, then 64, …
        at = (TILE_WIDTH - (TILE_WIDTH >> (rise - 1)) + (first % TILE_WIDTH >> rise)) * HASH
        return nodes[at : at + HASH]

    def subtree_hash(self, a: int, b: int) -> bytes:
        """MTH(D[a:b]) for the ranges of the RFC 9162 recursion (a aligned to the largest power of
        two below b − a)."""
        n = b - a
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0:
            height = n.bit_length() - 1
            return self.node(height, a >> height)
        k = 1 << ((n - 1).bit_length() - 1)
        return node_hash(self.subtree_hash(a, a + k), self.subtree_hash(a + k, b))

    def root(self, size: int) -> bytes:
        self._wanted = _tiles_read_by(lambda mth: mth(0, size))
        return self.subtree_hash(0, size)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        self._wanted = _tiles_read_by(lambda mth: inclusion_path(index, size, mth))
        return inclusion_path(index, size, self.subtree_hash)

    def consistency(self, first_size: int, size: int) -> list[bytes]:
        self._wanted = _tiles_read_by(lambda mth: consistency_path(first_size, size, mth))
        return consistency_path(first_size, size, self.subtree_hash)


def _full_tile_nodes(tile: bytes) -> tuple[bytes, bytes]:
    """`interior_nodes` of a full tile given as its 256 concatenated hashes: each node hashed straight
    from the 64 bytes of its two children (RFC 9162: SHA-256(0x01 ‖ left ‖ right)), one level at a time."""
    node, pair = hashlib.sha256(b"\x01").copy, 2 * HASH  # a copy of a state that has taken the 0x01 is cheaper
    levels, level = [], tile
    while len(level) > pair:
        out = []
        for i in range(0, len(level), pair):
            h = node()
            h.update(level[i : i + pair])
            out.append(h.digest())
        level = b"".join(out)
        levels.append(level)
    h = node()
    h.update(level)
    return b"".join(levels), h.digest()


def append_hashes(
    conn: Connection, size: int, hashes: Sequence[bytes], kept: Mapping[Key, bytes] | None = None
) -> None:
    """Store the leaf hashes of leaves size … size + len(hashes) − 1 and every node they complete.
    `kept`: the tiles they extend, as `reserve_and_read` gave them (read here when not given)."""
    if kept is None:
        # The rightmost tile of each level that gains entries keeps what it holds: read those in one query.
        end, shift, partial = size + len(hashes), 0, []
        while end >> shift > size >> shift:  # level shift / 8 gains entries
            if (size >> shift) % TILE_WIDTH:
                partial.append((shift // 8, size >> (shift + 8)))
            shift += 8
        kept = {(lv, ix): h for lv, ix, h, _ in _select_tiles(conn, partial)} if partial else {}
    rows: list[tuple[int, int, bytes, bytes | None]] = []
    level, position, entries = 0, size, list(hashes)
    while entries:
        first_tile, offset = divmod(position, TILE_WIDTH)
        blob = kept.get((level, first_tile), b"")[: offset * HASH] + b"".join(entries)
        completed = []
        for start in range(0, len(blob), TILE_BYTES):
            chunk, nodes = blob[start : start + TILE_BYTES], None
            if len(chunk) == TILE_BYTES:
                nodes, top = _full_tile_nodes(chunk)
                completed.append(top)
            rows.append((level, first_tile + start // TILE_BYTES, chunk, nodes))
        # the tiles that filled up are, in order, the next entries of the level above
        level, position, entries = level + 1, first_tile, completed
    m = _mark(conn)
    with closing(driver_cursor(conn)) as cursor:
        cursor.executemany(
            f"INSERT INTO ledger_tiles (level, idx, hashes, nodes) VALUES ({m}, {m}, {m}, {m}) "
            "ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes, nodes = excluded.nodes",
            rows,
        )


def tree_size(conn: Connection) -> int:
    return int(conn.execute(select(ledger_head.c.size).where(ledger_head.c.id == 1)).scalar_one_or_none() or 0)


_RESERVE = (
    "INSERT INTO ledger_head (id, size) VALUES (1, {m}) "
    "ON CONFLICT (id) DO UPDATE SET size = ledger_head.size + excluded.size RETURNING size"
)
# The tiles an append of `count` leaves (each {m}) extends, worked out from the head it has just moved
# on (start = size − count): at each level 0 … 7 whose node count grows, its rightmost tile if partial
# (the tiles append_hashes would otherwise read). Run after the head's update in the same transaction,
# so that it reads, under the head's lock, what the appenders before committed. VALUES names its
# column column1 on SQLite and PostgreSQL alike.
_EXTENDED = (
    "SELECT t.level, t.idx, t.hashes FROM ledger_head AS h "
    "JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7)) AS l ON h.id = 1 "
    "JOIN ledger_tiles AS t ON t.level = l.column1 AND t.idx = ((h.size - {m}) >> (8 * l.column1 + 8)) "
    "WHERE (((h.size - {m}) >> (8 * l.column1)) & 255) <> 0 "
    "AND (h.size >> (8 * l.column1)) > ((h.size - {m}) >> (8 * l.column1))"
)


def reserve_indexes(conn: Connection, count: int) -> int:
    """Lock the head and take `count` leaf indexes; returns the first. Held until commit, so
    appenders queue here and the tree grows in commit order."""
    with closing(driver_cursor(conn)) as cursor:
        cursor.execute(_RESERVE.format(m=_mark(conn)), (count,))
        return int(cursor.fetchone()[0]) - count


def reserve_and_read(conn: Connection, count: int) -> tuple[int, dict[Key, bytes]]:
    """`reserve_indexes`, and the tiles the append of `count` leaves from the first of them extends
    (for `append_hashes`), read after the head is locked. On PostgreSQL the two statements, and the
    transaction's BEGIN when it has not begun yet, go to the server in one round trip (a pipeline)."""
    m = _mark(conn)
    with closing(driver_cursor(conn)) as head, closing(driver_cursor(conn)) as tiles:
        if conn.dialect.name == "postgresql":
            with conn.connection.driver_connection.pipeline():  # type: ignore[union-attr]
                head.execute(_RESERVE.format(m=m), (count,))
                tiles.execute(_EXTENDED.format(m=m), (count,) * 3)
        else:
            head.execute(_RESERVE.format(m=m), (count,))
            tiles.execute(_EXTENDED.format(m=m), (count,) * 3)
        start = int(head.fetchone()[0]) - count
        return start, {(lv, ix): h for lv, ix, h in tiles.fetchall()}
