"""Which leaves without a MAC of their own no append's MAC covers: the auditor names exactly those."""

from __future__ import annotations

import random

from jiliang.ledger.auditor import _uncovered


def _by_set(runs: list[list[int]], covered: list[tuple[int, int]]) -> list[int]:
    held = {i for a, b in covered for i in range(a, b)}
    return [i for a, b in runs for i in range(a, b) if i not in held]


def test_the_leaves_no_append_covers() -> None:
    assert list(_uncovered([[1, 4]], [(0, 4)])) == []
    assert list(_uncovered([[1, 4]], [(0, 2)])) == [(2, 4)]
    assert list(_uncovered([[1, 10]], [(3, 5), (0, 2), (4, 6)])) == [(2, 3), (6, 10)]  # overlapping, unsorted
    assert list(_uncovered([[0, 3], [7, 9]], [])) == [(0, 3), (7, 9)]


def test_the_leaves_no_append_covers_against_sets() -> None:
    rng = random.Random(14)
    for _ in range(500):
        runs, at = [], 0
        for _ in range(rng.randrange(5)):
            a = at + rng.randrange(4)
            at = a + 1 + rng.randrange(6)
            runs.append([a, at])
        covered = [(a, a + rng.randrange(1, 8)) for a in (rng.randrange(40) for _ in range(rng.randrange(6)))]
        got = [i for a, b in _uncovered(runs, covered) for i in range(a, b)]
        assert got == _by_set(runs, covered)
