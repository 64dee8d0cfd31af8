"""Merkle tree hashing and proofs of RFC 9162 (Certificate Transparency v2; the hashing is RFC 6962's):
leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right), MTH of the empty tree = SHA-256("").

`verify_inclusion` and `verify_consistency` are the verification algorithms of RFC 9162 §2.1.3.2 and
§2.1.4.2: they need only the proof and the roots, so a stranger can check a certificate offline.
`root`, `inclusion_proof` and `consistency_proof` follow the recursive definitions of §2.1.1–2.1.4
over a list of leaf hashes: the reference the stored ledger's O(log n) proofs are checked against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

__all__ = [
    "leaf_hash",
    "LEAF_STATE",
    "node_hash",
    "root",
    "inclusion_proof",
    "consistency_proof",
    "inclusion_path",
    "consistency_path",
    "SubtreeHash",
    "verify_inclusion",
    "verify_consistency",
    "EMPTY_ROOT",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


LEAF_STATE = hashlib.sha256(b"\x00")  # a leaf hash is a copy of it fed the data (never updated itself)


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): the size of the left subtree."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (RFC 9162 §2.1.1)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


SubtreeHash = Callable[[int, int], bytes]
"""MTH(D[a:b]) of the leaves a … b−1: from a list in memory, or from the stored tiles."""


def _list_subtree_hash(leaves: Sequence[bytes]) -> SubtreeHash:
    return lambda a, b: root(leaves[a:b])


def inclusion_path(index: int, size: int, mth: SubtreeHash) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1), unrolled: the siblings from the top down, returned bottom up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    siblings, a, b = [], 0, size
    while b - a > 1:
        k = _split(b - a)
        if index < a + k:
            siblings.append(mth(a + k, b))
            b = a + k
        else:
            siblings.append(mth(a, a + k))
            a += k
    return siblings[::-1]


def consistency_path(first_size: int, size: int, mth: SubtreeHash) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 §2.1.4.1), unrolled like `inclusion_path`."""
    if not 0 < first_size <= size:
        raise ValueError(f"cannot prove size {first_size} consistent with size {size}")
    nodes, a, b, m, whole = [], 0, size, first_size, True
    while m != b - a:
        k = _split(b - a)
        if m <= k:
            nodes.append(mth(a + k, b))
            b = a + k
        else:
            nodes.append(mth(a, a + k))
            a, m, whole = a + k, m - k, False
    if not whole:
        nodes.append(mth(a, b))
    return nodes[::-1]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) over a list of leaf hashes."""
    return inclusion_path(index, len(leaves), _list_subtree_hash(leaves))


def consistency_proof(leaves: Sequence[bytes], first_size: int) -> list[bytes]:
    """PROOF(m, D[n]) over a list of leaf hashes."""
    return consistency_path(first_size, len(leaves), _list_subtree_hash(leaves))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `leaf` (a leaf hash) sit at `index` of the tree of `size` with that root?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first_size: int, second_size: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of `second_size` an append-only extension of `first_size`?"""
    if not 0 < first_size <= second_size:
        return False
    if first_size == second_size:
        return not proof and first_root == second_root
    path = list(proof)
    if first_size & (first_size - 1) == 0:  # a power of two: the old root is the first subtree
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
