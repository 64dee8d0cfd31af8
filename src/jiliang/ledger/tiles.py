"""The stored Merkle tree: tiles of hashes (C2SP tlog-tiles layout), appended and read in O(log n).

A tile (level L, index N) holds the hashes of the nodes at height 8·L numbered 256·N … 256·N + 255,
concatenated; level 0 holds the leaf hashes. A node at any other height is hashed up from at most
128 entries of one tile, and MTH of any range of the RFC 9162 recursion is a handful of such nodes.
Appending rewrites only the rightmost tile of each level; when a tile fills, its root becomes the
next entry one level up.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .merkle import EMPTY_ROOT, consistency_path, inclusion_path, node_hash
from .tables import ledger_head, ledger_tiles

__all__ = ["TILE_WIDTH", "TileReader", "append_hashes", "fold", "reserve_indexes", "tree_size"]

TILE_WIDTH = 256
HASH = 32
TILE_BYTES = TILE_WIDTH * HASH


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root of a complete subtree whose leaves (a power of two of them) are `hashes`."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _split_hashes(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH] for i in range(0, len(blob), HASH)]


class TileReader:
    """Reads tiles (each once) from one connection and hashes the nodes proofs need."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._tiles: dict[tuple[int, int], bytes] = {}

    def tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        blob = self._tiles.get(key)
        if blob is None:
            blob = (
                self.conn.execute(
                    select(ledger_tiles.c.hashes).where(ledger_tiles.c.level == level, ledger_tiles.c.idx == index)
                ).scalar_one_or_none()
                or b""
            )
            self._tiles[key] = blob
        return blob

    def node(self, height: int, index: int) -> bytes:
        """Hash of the complete subtree of 2**height leaves starting at leaf index << height."""
        level, rise = divmod(height, 8)
        first = index << rise
        blob = self.tile(level, first // TILE_WIDTH)
        start = (first % TILE_WIDTH) * HASH
        end = start + (HASH << rise)
        if len(blob) < end:
            raise LookupError(f"node at height {height}, index {index} is not in the stored tree")
        return fold(_split_hashes(blob[start:end]))

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
        return self.subtree_hash(0, size)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return inclusion_path(index, size, self.subtree_hash)

    def consistency(self, first_size: int, size: int) -> list[bytes]:
        return consistency_path(first_size, size, self.subtree_hash)


def _upsert(conn: Connection) -> object:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def append_hashes(conn: Connection, size: int, hashes: Sequence[bytes]) -> None:
    """Store the leaf hashes of leaves size … size + len(hashes) − 1 and every node they complete."""
    insert = _upsert(conn)
    reader = TileReader(conn)
    level, position, entries = 0, size, list(hashes)
    while entries:
        first_tile, offset = divmod(position, TILE_WIDTH)
        kept = reader.tile(level, first_tile)[: offset * HASH] if offset else b""
        blob = kept + b"".join(entries)
        rows, completed = [], []
        for start in range(0, len(blob), TILE_BYTES):
            chunk = blob[start : start + TILE_BYTES]
            rows.append({"level": level, "idx": first_tile + start // TILE_BYTES, "hashes": chunk})
            if len(chunk) == TILE_BYTES:
                completed.append(fold(_split_hashes(chunk)))
        stmt = insert(ledger_tiles)  # type: ignore[operator]
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["level", "idx"], set_={"hashes": stmt.excluded.hashes}), rows
        )
        # the tiles that filled up are, in order, the next entries of the level above
        level, position, entries = level + 1, first_tile, completed


def tree_size(conn: Connection) -> int:
    return int(conn.execute(select(ledger_head.c.size).where(ledger_head.c.id == 1)).scalar_one_or_none() or 0)


def reserve_indexes(conn: Connection, count: int) -> int:
    """Lock the head and take `count` leaf indexes; returns the first. Held until commit, so
    appenders queue here and the tree grows in commit order."""
    insert = _upsert(conn)
    conn.execute(insert(ledger_head).values(id=1, size=0).on_conflict_do_nothing())  # type: ignore[operator]
    last = conn.execute(
        update(ledger_head)
        .where(ledger_head.c.id == 1)
        .values(size=ledger_head.c.size + count)
        .returning(ledger_head.c.size)
    ).scalar_one()
    return int(last) - count
