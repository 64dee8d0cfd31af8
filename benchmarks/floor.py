"""The floor that issuance is measured against (issue 14): the same certificates' payloads signed with
Ed25519 and the same rows inserted with the bare driver in one transaction — the records, points,
standards used, sign-offs, certificates, audit events, ledger leaves and tiles one timed run wrote.
They are read from the run's database, deleted from it (not timed) and written back as they were
(executemany on SQLite, binary COPY on PostgreSQL; the tiles as the upsert the ledger does), so the
floor meets the same schema, indexes and constraints, foreign keys included, at the same size, with
WAL and synchronous=NORMAL on SQLite. The database ends as the run left it.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

__all__ = ["Captured", "watermarks", "capture", "floor_seconds"]

# children before parents, for the deletion
_DELETE_ORDER = (
    "certificates",
    "signoffs",
    "record_standards",
    "measurement_points",
    "verification_records",
    "audit_events",
    "ledger_leaves",
)

# table → the column that grows with each row written (record_standards follows its record)
WRITTEN = {
    "verification_records": "id",
    "measurement_points": "id",
    "record_standards": "record_id",
    "signoffs": "id",
    "certificates": "id",
    "audit_events": "id",
    "ledger_leaves": "idx",
}
_MARK_OF = {"record_standards": "verification_records"}
_TILES = (
    "INSERT INTO ledger_tiles (level, idx, hashes, nodes) VALUES ({m}, {m}, {m}, {m}) "
    "ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes, nodes = excluded.nodes"
)


@dataclass
class Captured:
    tables: dict[str, Any]  # SQLite: list of tuples; PostgreSQL: binary COPY data
    tiles: list[tuple[Any, ...]]
    payloads: list[bytes]
    certificates: int
    rows: int


def watermarks(engine: Engine) -> dict[str, int]:
    """The last key of each written table before a run."""
    with engine.connect() as c:
        return {
            t: int(c.execute(text(f"SELECT coalesce(max({k}), 0) FROM {t}")).scalar_one())
            for t, k in WRITTEN.items()
            if t not in _MARK_OF
        }


def _after(marks: dict[str, int], table: str) -> tuple[str, int]:
    return f"{WRITTEN[table]} > {marks[_MARK_OF.get(table, table)]}", marks[_MARK_OF.get(table, table)]


def capture(engine: Engine, marks: dict[str, int]) -> Captured:
    """Everything a run wrote after `marks`, as the bare driver reads it."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        tables: dict[str, Any] = {}
        rows = 0
        for table in WRITTEN:
            where, _ = _after(marks, table)
            if engine.dialect.name == "sqlite":
                found = cur.execute(f"SELECT * FROM {table} WHERE {where}").fetchall()
                rows += len(found)
                tables[table] = found
            else:
                rows += cur.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
                with cur.copy(f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT (FORMAT BINARY)") as copy:
                    tables[table] = b"".join(bytes(block) for block in copy)
        first_leaf = marks["ledger_leaves"] + 1
        tiles = []
        for level in range(4):  # the tiles the run's leaves reached, level by level
            cur.execute(
                f"SELECT level, idx, hashes, nodes FROM ledger_tiles WHERE level = {level} "
                f"AND idx >= {first_leaf >> (8 * (level + 1))}"
            )
            tiles += [tuple(r) for r in cur.fetchall()]
        rows += len(tiles)
        cur.execute(f"SELECT payload FROM certificates WHERE id > {marks['certificates']}")
        payloads = [p[0].encode() for p in cur.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    return Captured(tables, tiles, payloads, len(payloads), rows)


def floor_seconds(engine: Engine, captured: Captured, marks: dict[str, int]) -> float:
    """Seconds to sign the payloads and insert the captured rows again, after deleting them (untimed)."""
    key = Ed25519PrivateKey.generate()
    raw = engine.raw_connection()
    driver = raw.driver_connection
    try:
        cur = driver.cursor()
        if engine.dialect.name == "sqlite":
            assert isinstance(driver, sqlite3.Connection)
            # the deletion is not timed: without foreign-key checks, each deleted certificate would
            # scan the table for rows superseding it (seconds per run, growing with the database)
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("BEGIN IMMEDIATE")
        for table in _DELETE_ORDER:
            where, _ = _after(marks, table)
            cur.execute(f"DELETE FROM {table} WHERE {where}")
        driver.commit()
        if engine.dialect.name == "sqlite":
            cur.execute("PRAGMA foreign_keys=ON")  # the timed inserts meet them, as issuing does
        start = time.perf_counter()
        for payload in captured.payloads:
            key.sign(payload)
        if engine.dialect.name == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
            for table, found in captured.tables.items():
                if found:
                    cur.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(found[0]))})", found)
            cur.executemany(_TILES.format(m="?"), captured.tiles)
        else:
            for table, data in captured.tables.items():
                with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(data)
            cur.executemany(_TILES.format(m="%s"), captured.tiles)
        driver.commit()
        return time.perf_counter() - start
    finally:
        if engine.dialect.name == "sqlite":  # never back to the pool without its foreign keys
            driver.rollback()  # nothing is open after the commit; after a failure, undone
            driver.execute("PRAGMA foreign_keys=ON")
        raw.close()
