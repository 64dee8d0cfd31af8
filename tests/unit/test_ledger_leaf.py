"""Leaf bytes are RFC 8785 canonical JSON whichever path writes them: the fast path for plain rows
must agree byte for byte with the reference implementation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from jiliang.ledger.leaf import leaf_data, parse_leaf
from jiliang.ledger.projections import plain_row

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), st.text())


@given(st.lists(scalars, min_size=1, max_size=8))
def test_plain_rows_take_the_fast_path_and_match_rfc8785(values) -> None:  # type: ignore[no-untyped-def]
    columns = [f"c{i}" for i in range(len(values))]
    fields = plain_row(columns, values)
    assert fields.checked
    expected = rfc8785.dumps({"kind": "k", "id": "1", "version": 1, "projection": "k/v1", "fields": dict(fields)})
    assert leaf_data("k", "1", 1, "k/v1", fields) == expected


def test_values_are_converted_and_floats_take_the_reference_path() -> None:
    row = plain_row(
        ["on", "at", "d", "f"], [date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, tzinfo=UTC), Decimal("10.10"), 1.0]
    )
    assert row == {"on": "2026-01-02", "at": "2026-01-02T03:04:00+00:00", "d": "10.10", "f": 1.0}
    assert not row.checked and not plain_row(["n"], [2**60]).checked
    data = leaf_data("k", "1", 1, "k/v1", row)
    assert b'"f":1,' in data  # ECMAScript number form, as RFC 8785 requires
    assert data == rfc8785.dumps({"kind": "k", "id": "1", "version": 1, "projection": "k/v1", "fields": dict(row)})
    assert parse_leaf(data).fields["d"] == "10.10"


def test_a_shape_gives_what_plain_row_gives() -> None:
    from jiliang.ledger.projections import CURRENT, Shape

    projection = CURRENT["instrument"]
    values = {c: None for c in projection.columns} | {
        "id": 7,
        "owner_id": 3,
        "name": "电子计价秤",
        "serial_no": "SN1",
        "parameters": {"e": "0.005", "max": 30},
        "barred": False,
        "registered_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    }
    row = [values[c] for c in projection.columns]
    shape = Shape.of(projection.table, projection.columns)
    assert shape.row(row) == plain_row(projection.columns, row)
    assert shape.row(row).checked and plain_row(projection.columns, row).checked
    floaty = [{"max": 30.5} if c == "parameters" else values[c] for c in projection.columns]
    assert not shape.row(floaty).checked and not plain_row(projection.columns, floaty).checked
