"""The append path's batch helpers give exactly what the definitions give: each leaf's row and leaf
hash, the append's one MAC on its first row (HMAC-SHA256 under a key derived from the ledger key, over
the first index, the count and every leaf hash), and a full tile's interior nodes and root."""

from __future__ import annotations

import random

import pytest

from jiliang.ledger.append import leaf_rows
from jiliang.ledger.mac import batch_count
from jiliang.ledger.merkle import leaf_hash, node_hash
from jiliang.ledger.tiles import HASH, TILE_WIDTH, _full_tile_nodes, interior_nodes
from tests.support.batch_mac import expected_batch_mac

rng = random.Random(14)
DATAS = [rng.randbytes(n) for n in (0, 1, 55, 56, 63, 64, 65, 119, 120, 585, 3000)]


def _leaves(datas: list[bytes]) -> list[tuple[str, str, int, bytes]]:
    return [("certificate", f"N{n}", n % 3 + 1, d) for n, d in enumerate(datas)]


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])  # a key longer than a block is hashed first
def test_an_append_carries_one_mac_over_all_its_leaves(key_length: int) -> None:
    key = rng.randbytes(key_length)
    for start in (0, 1, 255, 2**32 - 3, 2**63 - len(DATAS)):
        rows, hashes = leaf_rows(start, _leaves(DATAS), key)
        mac = expected_batch_mac(key, start, DATAS)
        assert rows == [
            (start + n, k, r, v, d, mac if n == 0 else None) for n, (k, r, v, d) in enumerate(_leaves(DATAS))
        ]
        assert hashes == [leaf_hash(d) for d in DATAS]
        assert batch_count(mac) == len(DATAS)
    assert leaf_rows(7, [], key) == ([], [])
    mac = leaf_rows(7, _leaves(DATAS), key)[0][0][5]
    # bound to where the append starts, to how many leaves it holds and to each of them
    assert leaf_rows(8, _leaves(DATAS), key)[0][0][5] != mac
    assert leaf_rows(7, _leaves(DATAS[:-1]), key)[0][0][5] != mac
    changed = [*DATAS[:3], DATAS[3] + b" ", *DATAS[4:]]
    assert leaf_rows(7, _leaves(changed), key)[0][0][5] != mac


def test_batch_rows_without_a_key_carry_no_mac() -> None:
    rows, hashes = leaf_rows(3, _leaves(DATAS), None)
    assert rows == [(3 + n, k, r, v, d, None) for n, (k, r, v, d) in enumerate(_leaves(DATAS))]
    assert hashes == [leaf_hash(d) for d in DATAS]


def test_full_tile_nodes_are_the_interior_nodes() -> None:
    hashes = [rng.randbytes(HASH) for _ in range(TILE_WIDTH)]
    nodes, root = _full_tile_nodes(b"".join(hashes))
    assert (nodes, root) == interior_nodes(hashes)
    assert nodes[:HASH] == node_hash(hashes[0], hashes[1])  # height 1 first, left to right
    assert len(nodes) == (TILE_WIDTH - 2) * HASH
