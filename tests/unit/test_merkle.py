"""RFC 9162 Merkle hashing and proofs, checked against the published Certificate Transparency vectors
in shared/reference/rfc6962-vectors.json (roots for sizes 0–8; proofs derived from the RFC), of which
tests/reference/ holds a byte-identical copy (checked by test_reference_copies) so that every clone runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiliang.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "reference" / "rfc6962-vectors.json"


@pytest.fixture(scope="module")
def vectors() -> dict:
    return json.loads(VECTORS.read_text())


@pytest.fixture(scope="module")
def leaves(vectors) -> list[bytes]:
    return [leaf_hash(bytes.fromhex(h)) for h in vectors["leaf_inputs_hex"]]


def test_roots_equal_the_published_certificate_transparency_roots(vectors, leaves):
    for size, expected in vectors["roots_by_size"].items():
        assert root(leaves[: int(size)]).hex() == expected


def test_inclusion_proofs_equal_the_reference_and_verify(vectors, leaves):
    for case in vectors["inclusion_proofs"]:
        i, n = case["leaf_index"], case["tree_size"]
        proof = inclusion_proof(leaves[:n], i)
        assert [p.hex() for p in proof] == case["proof"]
        expected_root = bytes.fromhex(vectors["roots_by_size"][str(n)])
        assert verify_inclusion(leaves[i], i, n, proof, expected_root)


def test_consistency_proofs_equal_the_reference_and_verify(vectors, leaves):
    for case in vectors["consistency_proofs"]:
        m, n = case["first_size"], case["second_size"]
        proof = consistency_proof(leaves[:n], m)
        assert [p.hex() for p in proof] == case["proof"]
        r = vectors["roots_by_size"]
        assert verify_consistency(m, n, proof, bytes.fromhex(r[str(m)]), bytes.fromhex(r[str(n)]))


def test_a_tampered_proof_leaf_or_root_fails(vectors, leaves):
    n, i = 8, 5
    proof = inclusion_proof(leaves, i)
    good_root = bytes.fromhex(vectors["roots_by_size"]["8"])
    bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    assert not verify_inclusion(leaves[i], i, n, bad, good_root)
    assert not verify_inclusion(leaves[i], i + 1, n, proof, good_root)
    assert not verify_inclusion(leaf_hash(b"forged"), i, n, proof, good_root)
    assert not verify_inclusion(leaves[i], i, n, proof[:-1], good_root)
    c = consistency_proof(leaves, 3)
    r3 = bytes.fromhex(vectors["roots_by_size"]["3"])
    assert not verify_consistency(3, 8, c, r3, bytes.fromhex(vectors["roots_by_size"]["7"]))
    assert not verify_consistency(3, 8, list(reversed(c)), r3, good_root)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_generated_proof_verifies_for_any_tree_size(n, data):
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    r = root(leaves)
    i = data.draw(st.integers(0, n - 1))
    assert verify_inclusion(leaves[i], i, n, inclusion_proof(leaves, i), r)
    m = data.draw(st.integers(1, n))
    assert verify_consistency(m, n, consistency_proof(leaves, m), root(leaves[:m]), r)
