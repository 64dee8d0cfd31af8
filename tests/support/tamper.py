"""What an insider with database access and the server's files could do behind the platform's back:
raw SQL on the rows, the leaves and the tiles, and re-signing the checkpoints with the platform key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from jiliang.ledger.append import latest_versions
from jiliang.ledger.checkpoints import _sign, checkpoint_log_path
from jiliang.ledger.leaf import leaf_data, parse_leaf
from jiliang.ledger.merkle import leaf_hash
from jiliang.ledger.note import checkpoint_body, parse_note, split_note
from jiliang.ledger.projections import CURRENT, load_fields
from jiliang.ledger.tables import checkpoints, ledger_leaves, ledger_tiles
from jiliang.ledger.tiles import TileReader, append_hashes
from jiliang.platform import Platform


def sql(platform: Platform, statement: Any, params: dict[str, Any] | None = None) -> None:
    with platform.engine.begin() as conn:
        conn.execute(statement, params or {})


def change_last_reading(platform: Platform, indication: str) -> Any:
    """UPDATE the indication of the latest measurement point with raw SQL; returns the point as it was."""
    from jiliang.verification.tables import measurement_points

    with platform.engine.connect() as conn:
        point = conn.execute(select(measurement_points).order_by(measurement_points.c.id.desc())).first()
    sql(platform, update(measurement_points).where(measurement_points.c.id == point.id).values(indication=indication))
    return point


def rewrite_leaf_of(platform: Platform, kind: str, record_id: str) -> int:
    """Make the record's latest leaf say what the row says now (as if the change had been ledgered)."""
    with platform.engine.begin() as conn:
        row = conn.execute(
            select(ledger_leaves.c.idx, ledger_leaves.c.data)
            .where(ledger_leaves.c.kind == kind, ledger_leaves.c.record_id == record_id)
            .order_by(ledger_leaves.c.idx.desc())
        ).first()
        leaf = parse_leaf(bytes(row.data))
        fields = load_fields(conn, CURRENT[kind], [record_id])[record_id]
        data = leaf_data(kind, record_id, leaf.version, leaf.projection, fields)
        conn.execute(update(ledger_leaves).where(ledger_leaves.c.idx == row.idx).values(data=data))
        assert latest_versions(conn, kind, [record_id])[record_id] == leaf.version
        return int(row.idx)


def append_holding(platform: Platform, idx: int) -> str:
    """How the auditor names the append (one transaction's leaves) that leaf `idx` belongs to: the
    nearest leaf at or before it that carries a MAC opens the append, and the MAC's first four bytes
    (big-endian) say how many leaves it covers."""
    with platform.engine.connect() as conn:
        first, mac = conn.execute(
            select(ledger_leaves.c.idx, ledger_leaves.c.mac)
            .where(ledger_leaves.c.idx <= idx, ledger_leaves.c.mac.is_not(None))
            .order_by(ledger_leaves.c.idx.desc())
        ).first()
    count = int.from_bytes(bytes(mac)[:4], "big")
    assert first <= idx < first + count, (first, count, idx)
    return str(first) if count == 1 else f"{first}…{first + count - 1}"


def rebuild_and_resign(platform: Platform, rewrite_file: bool = True) -> None:
    """Recompute every tile from the (tampered) leaves and re-sign every checkpoint with the platform's
    own key; optionally overwrite the checkpoint copy file too. The database is then self-consistent."""
    with platform.engine.begin() as conn:
        datas = [bytes(d) for d in conn.execute(select(ledger_leaves.c.data).order_by(ledger_leaves.c.idx)).scalars()]
        conn.execute(delete(ledger_tiles))
        append_hashes(conn, 0, [leaf_hash(d) for d in datas])
        reader = TileReader(conn)
        notes = {}
        for cp in conn.execute(select(checkpoints).order_by(checkpoints.c.number)).all():
            old, _ = parse_note(cp.note)
            root = reader.root(cp.size)
            body = checkpoint_body(old.origin, cp.size, root, old.extensions)
            lines, _ = _sign(conn, platform.settings, body)
            notes[cp.number] = body + "\n" + lines
            conn.execute(
                update(checkpoints)
                .where(checkpoints.c.number == cp.number)
                .values(root_hash=root, note=notes[cp.number])
            )
    if rewrite_file:
        import orjson

        path = checkpoint_log_path(platform.settings)
        path.write_bytes(b"".join(orjson.dumps({"number": n, "note": note}) + b"\n" for n, note in notes.items()))
    assert all(split_note(n) for n in notes.values())
