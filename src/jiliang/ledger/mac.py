"""The ledger's MAC key: every leaf appended by the platform carries HMAC-SHA256(key, index ‖ data),
under a key held in the key folder, never in the database. Someone with write access to the database
but not to the key files can call `track()` and append leaves that hash and chain correctly, but not
with the right MAC: the auditor names each such leaf. Leaves appended before the key existed (a
ledger older than this version) are covered by the signed checkpoints instead; the key file records
from which index on MACs are required."""

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
from typing import Any

__all__ = ["INDEX", "LedgerMacKey", "ensure_mac_key", "leaf_mac", "load_mac_key", "mac_states"]

FILE = "ledger-mac.json"


@dataclass(frozen=True)
class LedgerMacKey:
    key: bytes
    required_from: int  # the first leaf index that must carry a MAC


def leaf_mac(key: bytes, index: int, data: bytes) -> bytes:
    """Bound to the leaf's index, so a leaf cannot be moved elsewhere with its MAC."""
    return hmac.new(key, index.to_bytes(8, "big") + data, hashlib.sha256).digest()


@lru_cache(maxsize=4)
def mac_states(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states that have absorbed the key's inner and outer HMAC pads (RFC 2104): a leaf's MAC
    is outer.copy() fed inner.copy() fed index ‖ data, the pads hashed once for all leaves instead of
    once per leaf (half the time of `hmac.new`). Copied, never updated themselves."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block))


INDEX = struct.Struct(">Q")  # the leaf index as it is MACed: 8 bytes, big-endian


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
