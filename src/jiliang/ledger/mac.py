"""The ledger's MAC key, held in the key folder, never in the database: each append (the leaves one
transaction writes) carries one MAC under it, on its first leaf — `count ‖ HMAC-SHA256(batch key,
first index ‖ count ‖ the leaves' hashes)` — and the transaction's other leaves carry none. Someone
with write access to the database but not to the key files can call `track()` and append leaves that
hash and chain correctly, but not with a MAC: the auditor names those leaves; a leaf changed, removed
or added inside an append breaks that append's MAC, and the auditor names the append's leaves.

One MAC per append, not per leaf (issue 14): a per-leaf HMAC cost ~1 µs a leaf in Python, a third of
what the append adds to the bare inserts; the MAC over the leaf hashes the append computes anyway
costs a few µs per transaction. It names a changed leaf to within its transaction (where the records
check names the record) and also catches an append cut short, which per-leaf MACs did not.
Ledgers written before carry `leaf_mac` on every leaf (32 bytes, where a batch MAC is 36): still
checked leaf by leaf. Leaves appended before the key existed are covered by the signed checkpoints
instead; the key file records from which index on MACs are required."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["LEAF_MAC_BYTES", "LedgerMacKey", "batch_count", "batch_mac", "ensure_mac_key", "leaf_mac", "load_mac_key"]

FILE = "ledger-mac.json"


@dataclass(frozen=True)
class LedgerMacKey:
    key: bytes
    required_from: int  # the first leaf index that must carry a MAC


LEAF_MAC_BYTES = 32  # a leaf MAC of the ledgers written before batch MACs
_COUNT = struct.Struct(">I")  # a batch MAC opens with the number of leaves it covers
_INDEX = struct.Struct(">Q")


def leaf_mac(key: bytes, index: int, data: bytes) -> bytes:
    """The MAC each leaf carried before batch MACs, bound to its index (checked, no longer made)."""
    return hmac.new(key, _INDEX.pack(index) + data, hashlib.sha256).digest()


@lru_cache(maxsize=4)
def _batch_key(key: bytes) -> bytes:
    """A key of its own for batch MACs, so no batch message can pass for a leaf MAC's or the reverse."""
    return hmac.new(key, b"jiliang ledger batch MAC/1", hashlib.sha256).digest()


def batch_mac(key: bytes, start: int, hashes: bytes) -> bytes:
    """The MAC of the leaves from index `start` whose leaf hashes, concatenated, are `hashes`: their
    count and an HMAC binding the first index, the count and every leaf (through its hash)."""
    count = len(hashes) // 32
    message = _INDEX.pack(start) + _INDEX.pack(count) + hashes
    return _COUNT.pack(count) + hmac.new(_batch_key(key), message, hashlib.sha256).digest()


def batch_count(stored: bytes) -> int | None:
    """How many leaves a stored batch MAC says it covers (None: not the shape of one)."""
    return _COUNT.unpack_from(stored)[0] if len(stored) == _COUNT.size + 32 else None


def _path(data_dir: Path) -> Path:
    return data_dir / "keys" / FILE


@lru_cache(maxsize=16)
def _read(path: Path, mtime: float) -> LedgerMacKey:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return LedgerMacKey(base64.b64decode(raw["key"]), int(raw["required_from"]))


def load_mac_key(data_dir: Path) -> LedgerMacKey | None:
    path = _path(data_dir)
    try:
        return _read(path, path.stat().st_mtime)
    except FileNotFoundError:
        return None


def ensure_mac_key(data_dir: Path, tree_size: int) -> LedgerMacKey:
    """The key, made when missing, requiring MACs from the current end of the tree on (mode 0600)."""
    found = load_mac_key(data_dir)
    if found is not None:
        return found
    path = _path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"key": base64.b64encode(secrets.token_bytes(32)).decode(), "required_from": tree_size}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(record, f)
    return load_mac_key(data_dir)  # type: ignore[return-value]
