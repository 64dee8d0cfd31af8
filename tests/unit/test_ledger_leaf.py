"""Leaf bytes are RFC 8785 canonical JSON whichever path writes them: the fast path for plain rows
must agree byte for byte with the reference implementation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import rfc8785
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, Date, Integer, MetaData, Numeric, Table

from jiliang.ledger.leaf import leaf_data, parse_leaf
from jiliang.ledger.projections import CURRENT, Shape
from jiliang.types import UtcDateTime

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), st.text())

values_table = Table(
    "values_table",
    MetaData(),
    Column("on", Date),
    Column("at", UtcDateTime),
    Column("d", Numeric),
    Column("doc", JSON),
    Column("n", Integer),
)
VALUES = Shape.of(values_table, ["on", "at", "d", "doc", "n"])


def _reference(fields: dict) -> bytes:
    return rfc8785.dumps({"kind": "k", "id": "1", "version": 1, "projection": "k/v1", "fields": dict(fields)})


@given(st.lists(scalars, min_size=1, max_size=8))
def test_plain_rows_take_the_fast_path_and_match_rfc8785(values) -> None:  # type: ignore[no-untyped-def]
    columns = tuple(f"c{i}" for i in range(len(values)))
    shape = Shape(columns, (), tuple(i for i, v in enumerate(values) if type(v) is int), ())
    fields = shape.row(values)
    assert fields.checked
    assert leaf_data("k", "1", 1, "k/v1", fields) == _reference(fields)


def test_values_are_converted_and_floats_take_the_reference_path() -> None:
    row = VALUES.row([date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, tzinfo=UTC), Decimal("10.10"), {"f": 1.0}, 7])
    assert row == {"on": "2026-01-02", "at": "2026-01-02T03:04:00+00:00", "d": "10.10", "doc": {"f": 1.0}, "n": 7}
    assert not row.checked and not VALUES.row([None, None, None, None, 2**60]).checked
    assert VALUES.row([None, None, None, {"f": "1.0"}, 7]).checked
    data = leaf_data("k", "1", 1, "k/v1", row)
    assert b'"f":1}' in data  # ECMAScript number form, as RFC 8785 requires
    assert data == _reference(row)
    assert parse_leaf(data).fields["d"] == "10.10"


def test_an_instrument_row_becomes_its_fields() -> None:
    projection = CURRENT["instrument"]
    values = {c: None for c in projection.columns} | {
        "id": 7,
        "owner_id": 3,
        "name": "电子计价秤",
        "serial_no": "SN1",
        "parameters": {"e": "0.005", "max": 30},
        "registered_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    }
    shape = Shape.of(projection.table, projection.columns)
    fields = shape.row([values[c] for c in projection.columns])
    assert fields == values | {"registered_at": "2026-01-02T03:04:05.000006+00:00"}
    assert fields.checked and leaf_data("k", "1", 1, "k/v1", fields) == _reference(fields)
    floaty = [{"max": 30.5} if c == "parameters" else values[c] for c in projection.columns]
    assert not shape.row(floaty).checked


child_values = st.tuples(
    st.one_of(st.none(), st.integers(-(2**60), 2**60)),
    st.one_of(st.none(), st.dictionaries(st.sampled_from("ab"), st.one_of(st.text(max_size=3), st.floats(0, 1)))),
    st.text(max_size=3),
)


@given(st.lists(child_values, max_size=6))
def test_a_records_child_rows_are_checked_together_as_each_alone(rows) -> None:  # type: ignore[no-untyped-def]
    """A record's points are checked a column at a time: plain exactly when every row alone is."""
    shape = Shape(("n", "doc", "s"), (), (0,), (1,))
    many = shape.rows(rows)
    assert [dict(f) for f in many] == [dict(zip(("n", "doc", "s"), r, strict=True)) for r in rows]
    assert all(f.checked for f in many) == all(shape.row(r).checked for r in rows)
    for fields in many:
        if fields.checked:  # the fast path's bytes are the reference's
            assert leaf_data("k", "1", 1, "k/v1", fields) == _reference(fields)
