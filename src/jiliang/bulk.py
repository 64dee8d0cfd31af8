"""Bulk inserts for the batch paths (thousands of rows per transaction).

On PostgreSQL the rows go through COPY FROM STDIN, which costs a few microseconds a row instead of
the tens that an INSERT per row costs; on SQLite straight to the driver's executemany, each value
converted by its column type's own bind processor (what SQLAlchemy would do, without its per-row
bookkeeping). Either way the rows join the caller's transaction. Only plain inserts: nothing is
returned, no column defaults applied.

`insert_tuples` is the leaner path for rows already in the driver's own types (int, str, bytes):
tuples handed over as they are, binary COPY on PostgreSQL — the ledger's leaves take it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import ARRAY, JSON, Connection, Table, TypeDecorator, any_, bindparam, insert, text

from .column_checks import CheckedInteger, CheckedString

__all__ = ["among", "driver_cursor", "insert_rows", "insert_tuples", "insert_returning_ids", "insert_with_ids"]


def _check(table: Table, columns: Sequence[str], by_column: Sequence[Sequence[Any]]) -> None:
    """The column checks every bound value gets (column_checks.py), a whole column at a time."""
    for name, values in zip(columns, by_column, strict=True):
        column_type = table.c[name].type
        if isinstance(column_type, CheckedString | CheckedInteger):
            column_type.check_many(values)


def _copy(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    columns = tuple(rows[0])
    tuples = _row_tuples(columns, rows)
    _check(table, columns, list(zip(*tuples, strict=True)))
    documents = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for values in tuples:
            if not documents:
                copy.write_row(values)
                continue
            row = list(values)
            for i in documents:
                if row[i] is not None:
                    row[i] = orjson.dumps(row[i]).decode()
            copy.write_row(row)


def _row_tuples(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Each row's values in column order, a row at a time at C speed (reading a column at a time
    across thousands of large dicts cost two to three times as much)."""
    if len(columns) == 1:
        [column] = columns
        return [(r[column],) for r in rows]
    return list(map(itemgetter(*columns), rows))


_Converter = Callable[[Sequence[Any]], Sequence[Any]]
_converters: dict[tuple[str, str, tuple[str, ...]], tuple[_Converter | None, ...]] = {}


def _converter(column_type: Any, dialect: Any) -> _Converter | None:
    """How a whole column's values become the driver's: checked text and integers are checked and
    passed as they are; other types through their bind processor, once per distinct value where the
    values can be compared (a batch shares its timestamp and dates)."""
    if isinstance(column_type, CheckedString | CheckedInteger):
        check = column_type.check_many

        def checked(values: Sequence[Any]) -> Sequence[Any]:
            check(values)
            return values

        return checked
    # the dialect's own processor, as SQLAlchemy's insert uses: SQLite's writes dates and times as
    # text itself (the generic one would leave them to sqlite3's adapters, another text)
    proc = column_type.dialect_impl(dialect).bind_processor(dialect)
    if proc is None:
        return None
    try:  # a TypeDecorator (types.UtcDateTime) answers `object`: ask what it stores as
        kind = (column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type).python_type
    except NotImplementedError:
        kind = object
    if kind in (date, datetime, bool):

        def once_each(values: Sequence[Any]) -> Sequence[Any]:
            seen = {v: proc(v) for v in set(values)}
            return [seen[v] for v in values]

        return once_each
    if isinstance(column_type, JSON):  # many points carry no uncertainty or decision: convert None once
        none = proc(None)
        return lambda values: [none if v is None else proc(v) for v in values]
    return lambda values: list(map(proc, values))


def _sqlite(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    columns = tuple(rows[0])
    key = (conn.dialect.name, table.name, columns)
    converters = _converters.get(key)
    if converters is None:
        converters = _converters[key] = tuple(_converter(table.c[c].type, conn.dialect) for c in columns)
    tuples = _row_tuples(columns, rows)
    by_column: list[Sequence[Any]] = list(zip(*tuples, strict=True))
    converted = False
    for i, convert in enumerate(converters):
        if convert is not None:
            values = by_column[i]
            by_column[i] = convert(values)
            converted = converted or by_column[i] is not values
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    conn.exec_driver_sql(sql, list(zip(*by_column, strict=True)) if converted else tuples)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, every column the table needs) into `table`."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) > 8:
        _copy(conn, table, rows)
    elif conn.dialect.name == "sqlite":
        _sqlite(conn, table, rows)
    else:
        conn.execute(insert(table), list(rows))


def _pg_type(table: Table, column: str, conn: Connection) -> str:
    """The type name COPY's binary format is written for: "bigint", "varchar", "bytea", …"""
    return str(table.c[column].type.compile(dialect=conn.dialect)).split("(")[0].lower()


def driver_cursor(conn: Connection) -> Any:
    """A cursor of the driver itself (no SQLAlchemy per statement or value) in `conn`'s transaction.
    On PostgreSQL its results come in binary: bytea as bytes, not hex text to decode."""
    if not conn.in_transaction():
        conn.begin()  # as any statement on `conn` would first (SQLite: the BEGIN the driver leaves to us)
    if conn.dialect.name == "postgresql":
        return conn.connection.cursor(binary=True)
    return conn.connection.cursor()


def insert_tuples(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert `rows`, tuples of values for `columns` that the driver takes as they are (int, str,
    bytes, None: no type conversion), into `table`, in the connection's transaction."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        with closing(driver_cursor(conn)) as cursor:
            cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)
    elif conn.dialect.name == "postgresql" and len(rows) > 8:
        with closing(driver_cursor(conn)) as cursor:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([_pg_type(table, c, conn) for c in columns])
                for row in rows:
                    copy.write_row(row)
    else:
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _new_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """Ids for `count` rows about to be inserted, in one statement."""
    if conn.dialect.name == "postgresql":
        return list(
            conn.execute(  # one array, not a row per id
                text("SELECT array_agg(nextval(pg_get_serial_sequence(:t, 'id'))) FROM generate_series(1, :n)"),
                {"t": table.name, "n": count},
            ).scalar_one()
        )
    # The unit of work holds SQLite's write lock from its first statement (BEGIN IMMEDIATE), so
    # nobody else can insert meanwhile: max(id) + 1 … are exactly the rowids SQLite would assign.
    start = conn.execute(text(f"SELECT coalesce(max(id), 0) + 1 FROM {table.name}")).scalar_one()
    return list(range(start, start + count))


def insert_with_ids(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    """Insert rows and return them as written: each dict gets its new "id" in place (the caller's own,
    just built; a batch's rows are not copied). On PostgreSQL and SQLite a batch's ids are drawn first,
    then the rows go in as insert_rows sends them (COPY, executemany); a few rows, or another
    database, take INSERT … RETURNING."""
    if conn.dialect.name in ("postgresql", "sqlite") and len(rows) > 8:
        for row, new_id in zip(rows, _new_ids(conn, table, len(rows)), strict=True):
            row["id"] = new_id
        insert_rows(conn, table, rows)
        return rows
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for row, new_id in zip(rows, list(conn.execute(stmt, list(rows)).scalars()), strict=True):
        row["id"] = new_id
    return rows


def insert_returning_ids(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ids in row order."""
    return [r["id"] for r in insert_with_ids(conn, table, [dict(r) for r in rows])]  # the caller's rows untouched


def among(conn: Connection, column: Any, values: Sequence[Any]) -> Any:
    """`column IN values` for a batch's ids; on PostgreSQL `column = ANY(array)`, one parameter however
    many values (a thousand placeholders cost the driver and the server a parse each)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
