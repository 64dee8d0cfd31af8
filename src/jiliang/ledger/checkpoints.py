"""Checkpoints: signed tree heads, issued on demand and on a schedule, kept forever.

Each is stored in the database, appended to a file outside it (`JILIANG_CHECKPOINT_LOG`, for the
administrator to put on separate storage) and, when a witness is configured, sent to it with a
consistency proof from the last checkpoint it cosigned; its cosignature is added to the note.
"""

from __future__ import annotations

import fcntl
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from ..platform import Platform
from ..types import utcnow
from .keys import platform_signers
from .note import NoteVerifier, checkpoint_body, signature_line, sm2_raw
from .tables import checkpoints
from .tiles import TileReader, reserve_indexes

__all__ = [
    "IssuedCheckpoint",
    "issue_checkpoint",
    "latest_checkpoint",
    "get_checkpoint",
    "checkpoint_log_path",
    "read_checkpoint_log",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedCheckpoint:
    number: int
    size: int
    root_hash: bytes
    note: str
    new: bool


def checkpoint_log_path(settings: Any) -> Path:
    return Path(settings.checkpoint_log or Path(settings.data_dir) / "checkpoints.log")


def _sign(conn: Connection, settings: Any, body: str) -> tuple[str, str]:
    """The signature lines of the platform keys over `body`, and the Ed25519 key's kid."""
    lines, main_kid = [], ""
    for sig_type, signer in platform_signers(conn, settings):
        verifier = NoteVerifier(settings.ledger_origin, sig_type, signer.public_key_pem)
        signature = signer.sign(body.encode())
        if sig_type == "sm2-sm3":
            signature = sm2_raw(signature)
        else:
            main_kid = signer.kid
        lines.append(signature_line(settings.ledger_origin, verifier.key_id, signature))
    if not main_kid:
        raise RuntimeError("the platform has no checkpoint key: run `jiliang init`")
    return "".join(lines), main_kid


def issue_checkpoint(platform: Platform) -> IssuedCheckpoint | None:
    """Sign the current tree head unless the latest checkpoint already covers it (then return that
    one, `new` False). None while the ledger is empty."""
    settings = platform.settings
    with platform.uow() as uow:
        conn = uow.conn
        size = reserve_indexes(conn, 0)  # locks the head: no leaf lands between size and root
        last = latest_checkpoint(conn)
        if size == 0:
            return None
        if last is not None and last.size == size:
            return IssuedCheckpoint(last.number, last.size, last.root_hash, last.note, False)
        root = TileReader(conn).root(size)
        now = utcnow()
        body = checkpoint_body(settings.ledger_origin, size, root, [f"time {now.strftime('%Y-%m-%dT%H:%M:%SZ')}"])
        lines, kid = _sign(conn, settings, body)
        note = body + "\n" + lines
        number = (last.number if last else 0) + 1
        conn.execute(
            insert(checkpoints).values(number=number, size=size, root_hash=root, issued_at=now, kid=kid, note=note)
        )
        uow.commit()
    _append_to_log(checkpoint_log_path(settings), number, note)
    issued = IssuedCheckpoint(number, size, root, note, True)
    if settings.witness_url:
        from .witness_client import submit_to_witness

        try:
            issued = submit_to_witness(platform, issued)
        except Exception as exc:  # the checkpoint stands; the next one is sent with a proof from the last cosigned
            log.warning("witness %s did not cosign checkpoint %s: %s", settings.witness_url, number, exc)
    return issued


def _append_to_log(path: Path, number: int, note: str) -> None:
    """One JSON line per checkpoint, appended under a lock; the file is never rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(orjson.dumps({"number": number, "note": note}) + b"\n")


def read_checkpoint_log(path: Path) -> dict[int, str]:
    """Checkpoint number → note as copied to the file; ValueError names a damaged line."""
    out: dict[int, str] = {}
    if not path.exists():
        return out
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            entry = orjson.loads(line)
            out[int(entry["number"])] = str(entry["note"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ValueError(f"{path}:{n}: not a checkpoint record") from None
    return out


def latest_checkpoint(conn: Connection) -> Any:
    return conn.execute(select(checkpoints).order_by(checkpoints.c.number.desc()).limit(1)).first()


def get_checkpoint(conn: Connection, number: int) -> Any:
    return conn.execute(select(checkpoints).where(checkpoints.c.number == number)).first()


def add_cosignature(platform: Platform, number: int, line: str) -> str:
    with platform.uow() as uow:
        row = get_checkpoint(uow.conn, number)
        note = row.note + line
        uow.conn.execute(update(checkpoints).where(checkpoints.c.number == number).values(note=note))
        uow.commit()
        return str(note)
