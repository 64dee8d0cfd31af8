"""The append path's batch helpers give exactly what the one-at-a-time definitions give: the MAC of
each leaf (HMAC-SHA256 under the ledger key, bound to its index), each leaf hash, and a full tile's
interior nodes and root."""

from __future__ import annotations

import random

import pytest

from jiliang.ledger.mac import leaf_mac, leaf_macs
from jiliang.ledger.merkle import leaf_hash, leaf_hashes, node_hash
from jiliang.ledger.tiles import HASH, TILE_WIDTH, _full_tile_nodes, interior_nodes

rng = random.Random(14)
DATAS = [rng.randbytes(n) for n in (0, 1, 55, 56, 63, 64, 65, 119, 120, 585, 3000)]


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])  # a key longer than a block is hashed first
def test_batch_macs_are_the_leaf_macs(key_length: int) -> None:
    key = rng.randbytes(key_length)
    for start in (0, 1, 255, 2**32 - 3, 2**63 - len(DATAS)):
        assert leaf_macs(key, start, DATAS) == [leaf_mac(key, start + n, d) for n, d in enumerate(DATAS)]
    assert leaf_macs(key, 7, []) == []
    # bound to the index: the same data one place further has another MAC
    assert leaf_macs(key, 8, DATAS[:1]) != leaf_macs(key, 7, DATAS[:1])


def test_batch_leaf_hashes_are_the_leaf_hashes() -> None:
    assert leaf_hashes(DATAS) == [leaf_hash(d) for d in DATAS]
    assert leaf_hashes(iter(DATAS)) == [leaf_hash(d) for d in DATAS]


def test_full_tile_nodes_are_the_interior_nodes() -> None:
    hashes = [rng.randbytes(HASH) for _ in range(TILE_WIDTH)]
    nodes, root = _full_tile_nodes(b"".join(hashes))
    assert (nodes, root) == interior_nodes(hashes)
    assert nodes[:HASH] == node_hash(hashes[0], hashes[1])  # height 1 first, left to right
    assert len(nodes) == (TILE_WIDTH - 2) * HASH
