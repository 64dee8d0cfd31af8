"""Every text and integer column is checked as values are bound (column_checks.py); the one exception
is named here, so that another can only be added on purpose: a certificate's payload, which the
platform's canonical serialiser writes and which cannot hold what the check refuses."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Integer, String, Text

import jiliang.schema  # noqa: F401  (every table registered on the metadata)
from jiliang.certificates.canonical import canonical_json
from jiliang.column_checks import CheckedInteger, CheckedString
from jiliang.db import metadata


def test_every_text_and_integer_column_is_checked_but_the_signed_payload() -> None:
    unchecked = [
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, String | Text | Integer | BigInteger)
        and not isinstance(column.type, CheckedString | CheckedInteger)
    ]
    assert unchecked == ["certificates.payload"]


def test_the_canonical_payload_cannot_hold_a_nul_or_a_lone_surrogate() -> None:
    data = canonical_json({"名称": "秤\x00", "x": ["\x01"]})
    assert b"\x00" not in data and b"\\u0000" in data
    data.decode("utf-8")  # valid UTF-8
    with pytest.raises((TypeError, ValueError)):
        canonical_json({"name": "\ud800"})
