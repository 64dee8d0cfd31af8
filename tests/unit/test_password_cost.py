"""The tests hash passwords at argon2id's lowest cost (tests/conftest.py) to keep the suite fast; the
platform itself hashes at the OWASP minimum (19 MiB, 2 passes), and a stored hash of a lower cost is
upgraded at the next login."""

from __future__ import annotations

from argon2 import Type

from jiliang.auth import hash_password
from tests.conftest import SHIPPED_ARGON2


def test_the_platform_hashes_passwords_with_argon2id_at_the_owasp_minimum_or_more() -> None:
    assert SHIPPED_ARGON2.type is Type.ID
    assert SHIPPED_ARGON2.memory_cost >= 19_456 and SHIPPED_ARGON2.time_cost >= 2
    assert SHIPPED_ARGON2.parallelism == 1


def test_a_hash_made_at_the_tests_cost_would_be_upgraded_by_the_platform() -> None:
    made_in_a_test = hash_password("password-123")
    assert made_in_a_test.startswith("$argon2id$") and SHIPPED_ARGON2.check_needs_rehash(made_in_a_test)
