"""Bulk inserts (the batch paths: executemany on SQLite, COPY on PostgreSQL) check every value as a
single insert would: a text beyond its column, with a NUL or a lone surrogate, an integer beyond the
column's range is refused naming the column, and nothing of the batch is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Text, cast, insert, select

from jiliang.audit import audit_events
from jiliang.bulk import insert_rows
from jiliang.column_checks import ColumnValueError
from jiliang.registry.tables import account_locks, districts

GOOD = [{"code": f"9{i:05d}", "name_zh": "浦东新区", "name_en": f"District {i}"} for i in range(20)]


def _codes(platform) -> set[str]:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return set(c.execute(select(districts.c.code).where(districts.c.code.like("9%"))).scalars())


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"name_zh": "区" * 33}, "districts.name_zh"),  # String(32)
        ({"name_en": "a\x00b"}, "NUL"),
        ({"name_zh": "浦东\ud800"}, "surrogate"),
        ({"code": "9999999"}, "districts.code"),  # String(6)
    ],
)
def test_a_bad_value_anywhere_in_a_batch_is_refused_and_nothing_is_written(platform, bad, says) -> None:
    rows = [dict(r) for r in GOOD]
    rows[13].update(bad)  # among many good rows, past any first-row shortcut
    uow = platform.uow()
    with pytest.raises(ColumnValueError, match=says):
        with uow:
            insert_rows(uow.conn, districts, rows)
            uow.commit()
    assert _codes(platform) == set()


def test_good_chinese_text_goes_in_whole(platform) -> None:
    uow = platform.uow()
    with uow:
        insert_rows(uow.conn, districts, GOOD)
        uow.commit()
    assert _codes(platform) == {r["code"] for r in GOOD}


def test_an_integer_beyond_the_column_is_refused_in_a_batch(platform) -> None:
    rows = [{"user_id": 10_000 + i, "failures": 1, "locked_until": None} for i in range(20)]
    rows[7]["failures"] = 2**31  # the column is a 32-bit integer on PostgreSQL
    uow = platform.uow()
    with pytest.raises(ColumnValueError, match="account_locks.failures"):
        with uow:
            insert_rows(uow.conn, account_locks, rows)
            uow.commit()


def test_dates_and_times_are_stored_as_a_single_insert_stores_them(platform) -> None:
    """The batch path writes dates and timestamps itself (not per row through the driver's
    adapters): the stored text is the same as SQLAlchemy's own insert writes, and reads back alike."""
    at = datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=UTC)
    later = at.astimezone(timezone(timedelta(hours=8)))  # the same instant in Shanghai time
    one = {"actor_id": None, "action": "t", "record_type": "t", "institution_id": None, "before": None, "after": None}
    uow = platform.uow()
    with uow:
        uow.conn.execute(insert(audit_events), [one | {"at": at, "record_id": "single"}])
        insert_rows(
            uow.conn, audit_events, [one | {"at": t, "record_id": f"bulk{i}"} for i, t in enumerate((at, later))]
        )
        uow.commit()
    with platform.engine.connect() as c:
        rows = c.execute(
            select(audit_events.c.record_id, audit_events.c.at, cast(audit_events.c.at, Text)).where(
                audit_events.c.action == "t"
            )
        ).all()
    assert {r[0] for r in rows} == {"single", "bulk0", "bulk1"}
    assert {r[1] for r in rows} == {at} and all(r[1].tzinfo is not None for r in rows)
    assert len({r[2] for r in rows}) == 1, rows  # byte for byte the same stored text
