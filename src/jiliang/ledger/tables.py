"""Ledger tables: the leaves, the tiles of hashes that proofs read, the head, the checkpoints.

Tiles follow the layout of C2SP tlog-tiles: a tile at level L holds up to 256 consecutive hashes of
tree nodes at height 8·L (level 0: the leaf hashes), concatenated. Only the rightmost tile of each
level is ever rewritten, so an append costs O(log n) rows and a proof reads O(log n) rows.
On PostgreSQL both hash columns are stored EXTERNAL (migration 0003): random hashes never compress.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text

from ..db import metadata
from ..types import UtcDateTime

__all__ = ["ledger_leaves", "ledger_tiles", "ledger_head", "checkpoints"]

ledger_leaves = Table(
    "ledger_leaves",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),  # RFC 8785 canonical JSON: exactly the hashed bytes
    Column("mac", LargeBinary),  # on an append's first leaf: its batch MAC under the ledger key, see ledger/mac.py
    Index("ix_ledger_leaves_record", "kind", "record_id"),
)

ledger_tiles = Table(
    "ledger_tiles",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hashes", LargeBinary, nullable=False),  # up to 256 × 32 bytes
    # A full tile's interior nodes (heights 1 … 7 above its hashes: 254 × 32 bytes), written once when it
    # fills, so proofs slice nodes out instead of hashing them up; NULL while the tile is partial.
    Column("nodes", LargeBinary, nullable=True),
)

# One row: the tree size. Appenders lock it (FOR UPDATE on PostgreSQL; SQLite's writer lock already
# serialises them), so leaf indexes are handed out gap-free in commit order.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),  # 1, 2, … in issue order
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("kid", String(64), nullable=False),
    Column("note", Text, nullable=False),  # the C2SP signed note, with any cosignatures added later
)
