"""Appenders in several transactions at once: the head's lock hands out indexes gap-free in commit
order, and each append reads the tiles it extends only once it holds the lock, so the stored tree is
the RFC 9162 tree of the leaves in index order, whatever the interleaving."""

from __future__ import annotations

import random
import threading

from sqlalchemy import select

from jiliang.ledger import merkle
from jiliang.ledger.append import append_leaves
from jiliang.ledger.tables import ledger_leaves
from jiliang.ledger.tiles import TileReader, tree_size
from tests.support.batch_mac import expected_batch_mac


def test_concurrent_appends_build_one_consistent_tree(platform) -> None:  # type: ignore[no-untyped-def]
    mac = platform.ledger_mac
    assert mac is not None
    with platform.engine.connect() as c:
        base = tree_size(c)
    errors: list[BaseException] = []
    firsts: list[tuple[int, int, str]] = []  # (first index, count, writer)

    def writer(name: str, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for k in range(6):  # batches across tile boundaries: 1 … 300 leaves
                n = rng.choice([1, 2, 37, 255, 256, 300])
                leaves = [("bench", f"{name}-{k}-{j}", 1, rng.randbytes(rng.randrange(1, 90))) for j in range(n)]
                with platform.uow() as uow:
                    first = append_leaves(uow.conn, leaves, mac)
                    uow.commit()
                firsts.append((first, n, name))
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}", i)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with platform.engine.connect() as c:
        rows = c.execute(select(ledger_leaves).order_by(ledger_leaves.c.idx)).all()
        size = tree_size(c)
        reader = TileReader(c)
        assert [r.idx for r in rows] == list(range(size))  # gap-free
        # each batch landed in one piece, at the index its append returned
        for first, n, name in firsts:
            assert {r.record_id.split("-")[0] for r in rows[first : first + n]} == {name}
        assert sum(n for _, n, _ in firsts) == size - base
        hashes = [merkle.leaf_hash(r.data) for r in rows]
        for at in (base, base + 1, size // 2, size - 1, size):
            assert reader.root(at) == merkle.root(hashes[:at])
    # each append carries one MAC, on its first leaf, over its own leaves
    for first, n, _ in firsts:
        batch = rows[first : first + n]
        assert batch[0].mac == expected_batch_mac(mac.key, first, [r.data for r in batch])
        assert all(r.mac is None for r in batch[1:])
