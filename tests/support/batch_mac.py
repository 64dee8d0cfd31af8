"""The ledger's batch MAC as its documentation states it (jiliang/ledger/mac.py), written out here
from the standard library alone so the tests hold the code to the definition, not to itself:
count (4 bytes, big-endian) ‖ HMAC-SHA256(K, first index (8) ‖ count (8) ‖ SHA-256(0x00 ‖ data) of
each leaf), where K = HMAC-SHA256(ledger key, "jiliang ledger batch MAC/1")."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


def expected_batch_mac(key: bytes, first: int, datas: Sequence[bytes]) -> bytes:
    k = hmac.new(key, b"jiliang ledger batch MAC/1", hashlib.sha256).digest()
    n = len(datas)
    message = first.to_bytes(8, "big") + n.to_bytes(8, "big")
    message += b"".join(hashlib.sha256(b"\x00" + d).digest() for d in datas)
    return n.to_bytes(4, "big") + hmac.new(k, message, hashlib.sha256).digest()
