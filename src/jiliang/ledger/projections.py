"""What the ledger records of each kind of record: versioned projections of their rows.

A leaf names the projection it was written under, so a later migration adds `…/v2` beside `…/v1`
and old leaves keep verifying against the fields they were written with. Columns that only cache
facts derived from other ledgered records (an instrument's latest verification, for dashboards)
are left out; large or secret values (a certificate's payload, its QR token) are recorded as their
SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table, select

from ..certificates.canonical import fast_scan
from ..certificates.tables import certificates, signing_keys, x509_certificates
from ..registry.tables import (
    authorisations,
    catalogue_items,
    catalogue_types,
    institution_seals,
    institutions,
    instruments,
    owners,
    qualifications,
    second_factors,
    standard_calibration_ranges,
    standard_calibrations,
    standard_items,
    standards,
    users,
)
from ..reminders.tables import reminder_deliveries
from ..verification.tables import measurement_points, record_standards, signoffs, tasks, verification_records

__all__ = [
    "Child",
    "Fields",
    "Projection",
    "Shape",
    "CURRENT",
    "BY_NAME",
    "plain",
    "load_fields",
    "iter_fields",
    "iter_driver_fields",
]


def plain(value: Any) -> Any:
    """A column value as JSON: dates as ISO 8601 (timestamps in UTC, as the database gives them back),
    Decimals as their exact text, bytes as base64."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float | dict | list):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot ledger a value of type {type(value).__name__}")


_MAX_SAFE_INT = 2**53 - 1


class Fields(dict[str, Any]):
    """A record's ledgered fields. `checked`: every value is a str, bool, None or an integer within
    ±(2**53 − 1), so the leaf's canonical JSON needs no further type scan (the hot path of issuing)."""

    checked = False


@dataclass(frozen=True)
class Shape:
    """How to turn rows of given columns into fields, decided once from the column types: only
    dates, decimals and bytes are converted, only integers range-checked, only JSON documents
    scanned (the auditor re-reads every row, so this is decided once, not per value)."""

    columns: tuple[str, ...]
    convert: tuple[int, ...]
    ints: tuple[int, ...]
    documents: tuple[int, ...]

    @classmethod
    def of(cls, table: Table, columns: Sequence[str]) -> Shape:
        convert, ints, documents = [], [], []
        for i, name in enumerate(columns):
            column_type = table.c[name].type
            try:
                kind = column_type.python_type
            except NotImplementedError:
                kind = object
            if isinstance(column_type, JSON):
                documents.append(i)
            elif kind is int:
                ints.append(i)
            elif kind not in (str, bool):
                convert.append(i)
        return cls(tuple(columns), tuple(convert), tuple(ints), tuple(documents))

    def row(self, values: Sequence[Any]) -> Fields:
        checked = True
        if self.convert:
            values = list(values)
            for i in self.convert:
                v = values[i]
                if v is not None:
                    v = values[i] = plain(v)
                    checked = checked and type(v) is str  # a float takes the reference serialiser
        out = Fields(zip(self.columns, values, strict=True))
        out.checked = checked and self.plain_json(values)
        return out

    def rows(self, many: Sequence[Sequence[Any]]) -> list[Fields]:
        """`row` for each of a record's child rows; without columns to convert (a record's points),
        the checks run over the whole list at once."""
        if self.convert:
            return [self.row(values) for values in many]
        columns = self.columns
        out = [Fields(zip(columns, values, strict=True)) for values in many]
        checked = self._plain_columns(many) if many and (self.ints or self.documents) else True
        for fields in out:
            fields.checked = checked
        return out

    def _plain_columns(self, many: Sequence[Sequence[Any]]) -> bool:
        """`plain_json` over all the rows, a column at a time."""
        for i in self.ints:
            values = [v for v in map(itemgetter(i), many) if v is not None]
            if values and not (-_MAX_SAFE_INT <= min(values) and max(values) <= _MAX_SAFE_INT):
                return False
        for i in self.documents:
            if not all(v is None or fast_scan(v) is True for v in map(itemgetter(i), many)):
                return False
        return True

    def plain_json(self, values: Sequence[Any]) -> bool:
        """Integers within ±(2**53 − 1) and JSON documents of the fast canonical domain."""
        for i in self.ints:
            v = values[i]
            if v is not None and not -_MAX_SAFE_INT <= v <= _MAX_SAFE_INT:
                return False
        for i in self.documents:
            v = values[i]
            if v is not None and fast_scan(v) is not True:
                return False
        return True


def _sha256(value: str | bytes | memoryview | None) -> str | None:
    if value is None:
        return None
    return hashlib.sha256(value.encode() if isinstance(value, str) else bytes(value)).hexdigest()


@dataclass(frozen=True)
class Child:
    """Rows of another table that belong to the record and are ledgered with it (its points)."""

    name: str
    table: Table
    parent: str
    columns: tuple[str, ...]
    order: tuple[str, ...]

    @cached_property
    def shape(self) -> Shape:
        return Shape.of(self.table, self.columns)


@dataclass(frozen=True)
class Projection:
    kind: str
    version: int
    table: Table
    key: str  # the column whose value is the leaf's record id
    columns: tuple[str, ...]
    digests: tuple[str, ...] = ()  # ledgered as "<column>_sha256"
    children: tuple[Child, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.kind}/v{self.version}"

    @property
    def selected(self) -> tuple[str, ...]:
        """The columns read for a row: the ledgered ones, the digested ones, the key, and the id
        that children refer to."""
        return (*self.columns, *self.digests, self.key, *(("id",) if self.children else ()))

    @cached_property
    def shape(self) -> Shape:
        return Shape.of(self.table, self.columns)

    @property
    def key_at(self) -> int:
        return len(self.columns) + len(self.digests)

    def fields(self, row: Sequence[Any], children: dict[str, list[Fields]]) -> Fields:
        """`row` holds the `selected` columns in order."""
        n = len(self.columns)
        out = self.shape.row(row[:n])
        for k, c in enumerate(self.digests):
            out[c + "_sha256"] = _sha256(row[n + k])
        for child in self.children:
            rows = children.get(child.name, [])
            out[child.name] = rows
            out.checked = out.checked and all(r.checked for r in rows)
        return out


def _all_but(table: Table, *left_out: str) -> tuple[str, ...]:
    # plain str, not SQLAlchemy's quoted_name: the fast canonical-JSON path accepts exact str keys only
    return tuple(str(c.name) for c in table.columns if c.name not in left_out)


# columns added by migration 0005, absent from the v1 projections
_UNCERTAINTY_0005 = {
    "standard_calibrations": ("expanded_uncertainty", "coverage_factor", "uncertainty_unit"),
    "measurement_points": ("uncertainty", "decision"),
}

# the column added by migration 0007 (a calibration's correction curve), absent from v1–v3
_CURVE_0007 = ("correction_curve",)

# the columns added by migration 0013 (a calibration imported as a DCC), absent from v1–v2
_DCC_0013 = ("dcc_xml", "dcc_signature", "dcc_signed_by")

# columns added by migration 0006 (the regulation's tests), absent from the earlier projections
_TESTS_0006 = {
    "verification_records": ("tests",),
    "measurement_points": (
        "added_load",
        "corrected_error",
        "position",
        "indication_after",
        "rule_source",
        "rule_confidence",
    ),
}

_PROJECTIONS = (
    Projection("owner", 1, owners, "id", _all_but(owners)),
    Projection(
        "instrument",
        1,
        instruments,
        "id",
        # derived from the ledgered records and certificates, kept current for dashboards
        _all_but(instruments, "last_verified_on", "last_conclusion", "valid_until", "replace_by", "barred"),
    ),
    Projection("catalogue_item", 1, catalogue_items, "code", _all_but(catalogue_items)),
    Projection("catalogue_type", 1, catalogue_types, "id", _all_but(catalogue_types)),
    Projection("qualification", 1, qualifications, "id", _all_but(qualifications)),
    # who may do what: roles, institution, regulator, owner, active; the password only as a digest of
    # its hash (a replaced hash is seen, the hash itself never leaves the table)
    Projection("user", 1, users, "id", _all_but(users, "password_hash"), digests=("password_hash",)),
    # an institution with the catalogue items it is authorised for (授权项目) and its signing key;
    # v1: before migration 0012 added its authorisation number; v2: all columns
    *(
        Projection(
            "institution",
            version,
            institutions,
            "id",
            _all_but(institutions, *left_out),
            children=(Child("authorisations", authorisations, "institution_id", ("item_code",), ("item_code",)),),
        )
        for version, left_out in ((1, ("authorisation_no",)), (2, ()))
    ),
    # the seal printed on the institution's certificates, as the digest of its image
    Projection(
        "institution_seal", 1, institution_seals, "institution_id", _all_but(institution_seals, "png"), digests=("png",)
    ),
    # the X.509 certificates that sign PDFs: who holds which, and whether it was revoked
    Projection("x509_certificate", 1, x509_certificates, "serial", _all_but(x509_certificates)),
    Projection(
        "standard",
        1,
        standards,
        "id",
        _all_but(standards),
        children=(Child("items", standard_items, "standard_id", ("item_code",), ("item_code",)),),
    ),
    # v1: as written before migration 0005 added the uncertainty columns; v2: before 0013; v3: all
    # columns, the imported DCC as its digest, with the U the certificate states per range or point
    Projection(
        "standard_calibration",
        1,
        standard_calibrations,
        "id",
        _all_but(standard_calibrations, *_UNCERTAINTY_0005["standard_calibrations"], *_DCC_0013),
    ),
    Projection("standard_calibration", 2, standard_calibrations, "id", _all_but(standard_calibrations, *_DCC_0013)),
    Projection(
        "standard_calibration",
        3,
        standard_calibrations,
        "id",
        _all_but(standard_calibrations, "dcc_xml"),
        digests=("dcc_xml",),
        children=(
            Child(
                "ranges",
                standard_calibration_ranges,
                "calibration_id",
                _all_but(standard_calibration_ranges, "calibration_id"),
                ("seq", "id"),
            ),
        ),
    ),
    *(
        Projection(
            "verification_record",
            version,
            verification_records,
            "id",
            _all_but(verification_records, *left_out_records),
            children=(
                Child(
                    "points",
                    measurement_points,
                    "record_id",
                    _all_but(measurement_points, "record_id", *left_out),
                    ("seq", "id"),
                ),
                Child("standards", record_standards, "record_id", ("standard_id",), ("standard_id",)),
                Child("signoffs", signoffs, "record_id", _all_but(signoffs, "record_id"), ("id",)),
            ),
        )
        # v1: before migration 0005; v2: before 0006; v3: before 0007; v4: all columns
        for version, left_out_records, left_out in (
            (
                1,
                (*_TESTS_0006["verification_records"], *_CURVE_0007),
                (*_UNCERTAINTY_0005["measurement_points"], *_TESTS_0006["measurement_points"]),
            ),
            (2, (*_TESTS_0006["verification_records"], *_CURVE_0007), _TESTS_0006["measurement_points"]),
            (3, _CURVE_0007, ()),
            (4, (), ()),
        )
    ),
    Projection(
        "certificate",
        1,
        certificates,
        "number",
        _all_but(certificates, "payload", "public_token"),
        ("payload", "public_token"),
    ),
    Projection("signing_key", 1, signing_keys, "kid", _all_but(signing_keys)),
    # which institution was given which instrument to verify; its state (assigned → issued) follows
    # from the ledgered certificates and is checked against them (meaning.task_state_findings)
    Projection("task", 1, tasks, "id", _all_but(tasks, "state", "updated_at")),
    # a second factor at login: whether it is on, its secret only as a digest (the last code's time
    # step changes at every login and guards replay only)
    Projection(
        "second_factor",
        1,
        second_factors,
        "user_id",
        _all_but(second_factors, "secret", "last_step"),
        digests=("secret",),
    ),
    # a reminder's delivery attempt: to whom, over which channel, with what outcome (the evidence that an
    # owner was told; the outbox it comes from is the plan, re-derived from the ledgered records)
    Projection("reminder_delivery", 1, reminder_deliveries, "id", _all_but(reminder_deliveries)),
)

CURRENT: dict[str, Projection] = {p.kind: p for p in _PROJECTIONS}
BY_NAME: dict[str, Projection] = {p.name: p for p in _PROJECTIONS}

_CHUNK = 1000


def _chunks(ids: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for k in range(0, len(ids), _CHUNK):
        yield ids[k : k + _CHUNK]


def _key_values(projection: Projection, ids: Iterable[str]) -> list[Any]:
    """Leaf record ids are text; integer keys are compared as integers."""
    is_int = projection.table.c[projection.key].type.python_type is int
    return [int(i) for i in ids] if is_int else list(ids)


def _select(projection: Projection) -> Any:
    return select(*(projection.table.c[c] for c in projection.selected))


_processors: dict[tuple[str, tuple[Any, ...]], tuple[tuple[int, Any], ...]] = {}


def _rows(conn: Connection, stmt: Any) -> Sequence[Any]:
    """The statement's rows straight from the driver, with only the columns that need it converted
    by their SQLAlchemy type (dates, booleans on SQLite, JSON): the ledger reads every row it
    records and the auditor every row there is, and SQLAlchemy's own row objects cost more."""
    key = (conn.dialect.name, tuple(stmt.selected_columns))
    procs = _processors.get(key)
    if procs is None:
        found = []
        for i, column in enumerate(stmt.selected_columns):
            proc = column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
            if proc is not None:
                found.append((i, proc))
        procs = _processors[key] = tuple(found)
    result = conn.execute(stmt)
    rows = result.cursor.fetchall()
    result.close()
    if not procs:
        return rows
    out = []
    for row in rows:
        row = list(row)
        for i, proc in procs:
            if row[i] is not None:
                row[i] = proc(row[i])
        out.append(row)
    return out


def _rows_with_children(conn: Connection, projection: Projection, rows: Sequence[Any]) -> Iterator[tuple[str, Fields]]:
    kids: dict[str, dict[Any, list[Fields]]] = {}
    at = projection.key_at
    parents = [r[at + 1] for r in rows] if projection.children else []
    for child in projection.children:
        grouped: dict[Any, list[Fields]] = {}
        cols = [child.table.c[c] for c in child.columns]
        for part in _chunks(parents):
            stmt = (
                select(child.table.c[child.parent], *cols)
                .where(child.table.c[child.parent].in_(part))
                .order_by(child.table.c[child.parent], *(child.table.c[c] for c in child.order))
            )
            for r in _rows(conn, stmt):
                grouped.setdefault(r[0], []).append(child.shape.row(r[1:]))
        kids[child.name] = grouped
    for r in rows:
        children = {name: grouped.get(r[at + 1], []) for name, grouped in kids.items()}
        yield str(r[at]), projection.fields(r, children)


def load_fields(conn: Connection, projection: Projection, ids: Sequence[str]) -> dict[str, Fields]:
    """The ledgered fields of the live rows with these record ids (missing ids: deleted rows)."""
    key, out = projection.table.c[projection.key], dict[str, Fields]()
    for part in _chunks(_key_values(projection, ids)):
        rows = _rows(conn, _select(projection).where(key.in_(part)))
        out.update(_rows_with_children(conn, projection, rows))
    return out


def iter_fields(
    conn: Connection, projection: Projection, batch: int = 5000, bounds: tuple[Any, Any] | None = None
) -> Iterator[tuple[str, Fields]]:
    """Every live row of the projection's table (keys within `bounds`, inclusive) with its fields."""
    table = projection.table
    order = table.c[projection.key]
    last: Any = None
    while True:
        stmt = _select(projection).order_by(order).limit(batch)
        if bounds is not None:
            stmt = stmt.where(order >= bounds[0], order <= bounds[1])
        if last is not None:
            stmt = stmt.where(order > last)
        rows = _rows(conn, stmt)
        if not rows:
            return
        yield from _rows_with_children(conn, projection, rows)
        last = rows[-1][projection.key_at]


# --- the auditor's reader: the same fields as iter_fields, from the driver's own cursor -------------


class _Converter:
    """Turns driver rows (the shape's columns first, then any others) into Fields exactly as
    SQLAlchemy's result processing followed by `Shape.row` does, in one pass per row: each column's
    processor and the conversion to a field value are decided once, not per value."""

    def __init__(self, dialect: Any, table: Table, names: Sequence[str], shape: Shape) -> None:
        procs = [table.c[c].type.dialect_impl(dialect).result_processor(dialect, None) for c in names]
        convert = set(shape.convert)
        self.shape, self.columns = shape, shape.columns
        self.procs = tuple((i, p) for i, p in enumerate(procs) if p is not None and i not in convert)
        self.convert = tuple((i, _then_plain(procs[i])) for i in shape.convert)

    def __call__(self, row: Sequence[Any]) -> tuple[list[Any], Fields]:
        """The row's values after SQLAlchemy's processing (the key and digested columns, for the
        caller), and its fields."""
        values = list(row)
        for i, proc in self.procs:
            v = values[i]
            if v is not None:
                values[i] = proc(v)
        checked = True
        for i, conv in self.convert:
            v = values[i]
            if v is not None:
                v = values[i] = conv(v)
                if type(v) is not str:  # a float takes the reference serialiser
                    checked = False
        out = Fields(zip(self.columns, values, strict=False))  # the shape's columns come first
        out.checked = checked and self.shape.plain_json(values)
        return values, out


def _then_plain(proc: Any) -> Any:
    if proc is None:
        return plain
    return lambda v: plain(proc(v))


@dataclass(frozen=True)
class _DriverReader:
    """How to read one projection's rows with the driver's own cursor on one dialect."""

    sql: dict[tuple[bool, bool], str]  # (within bounds, after a key) → the statement
    convert: _Converter
    children: tuple[tuple[Child, str, _Converter], ...]  # each child: its statement (for "{marks}"), converter

    @classmethod
    def of(cls, dialect: Any, projection: Projection) -> _DriverReader:
        prep, mark = dialect.identifier_preparer, "?" if dialect.paramstyle == "qmark" else "%s"
        key = prep.quote(projection.key)
        columns = ", ".join(prep.quote(c) for c in projection.selected)
        base = f"SELECT {columns} FROM {prep.format_table(projection.table)}"
        where = {  # after a key, the range starts there: SQLite would search from the lower bound on
            (False, False): "",
            (True, False): f" WHERE {key} >= {mark} AND {key} <= {mark}",
            (False, True): f" WHERE {key} > {mark}",
            (True, True): f" WHERE {key} > {mark} AND {key} <= {mark}",
        }
        sql = {k: f"{base}{w} ORDER BY {key} LIMIT {mark}" for k, w in where.items()}
        children = []
        for child in projection.children:
            parent = prep.quote(child.parent)
            order = ", ".join(prep.quote(c) for c in (child.parent, *child.order))
            stmt = (
                f"SELECT {', '.join(prep.quote(c) for c in (*child.columns, child.parent))} "
                f"FROM {prep.format_table(child.table)} WHERE {parent} IN ({{marks}}) ORDER BY {order}"
            )
            names = (*child.columns, child.parent)
            children.append((child, stmt, _Converter(dialect, child.table, names, child.shape)))
        return cls(sql, _Converter(dialect, projection.table, projection.selected, projection.shape), tuple(children))


_readers: dict[tuple[str, str], _DriverReader] = {}


def _driver_cursor(conn: Connection) -> Any:
    """A cursor of the driver itself, as SQLAlchemy would use it (text results on PostgreSQL too)."""
    if not conn.in_transaction():
        conn.begin()
    return conn.connection.cursor()


def iter_driver_fields(
    conn: Connection, projection: Projection, batch: int = 5000, bounds: tuple[Any, Any] | None = None
) -> Iterator[tuple[str, Fields]]:
    """What `iter_fields` yields (every live row within `bounds` with its fields, in key order), read
    with the driver's own cursor and converted without SQLAlchemy's per-row work: the auditor reads
    every row there is this way."""
    reader = _readers.get((conn.dialect.name, projection.name))
    if reader is None:
        reader = _readers[(conn.dialect.name, projection.name)] = _DriverReader.of(conn.dialect, projection)
    n, at, mark = len(projection.columns), projection.key_at, "?" if conn.dialect.paramstyle == "qmark" else "%s"
    digests = [(n + k, c + "_sha256") for k, c in enumerate(projection.digests)]
    last: Any = None
    with closing(_driver_cursor(conn)) as cursor:
        while True:
            if last is None:
                params = (*(bounds or ()), batch)
            else:
                params = (last, *(bounds[1:] if bounds else ()), batch)
            cursor.execute(reader.sql[(bounds is not None, last is not None)], params)
            rows = [reader.convert(r) for r in cursor.fetchall()]
            if not rows:
                return
            kids: list[tuple[str, dict[Any, list[Fields]]]] = []
            for child, stmt, convert in reader.children:
                grouped: dict[Any, list[Fields]] = {}
                parents = [values[at + 1] for values, _ in rows]
                for part in _chunks(parents):
                    cursor.execute(stmt.format(marks=", ".join([mark] * len(part))), tuple(part))
                    for values, fields in map(convert, cursor.fetchall()):
                        grouped.setdefault(values[-1], []).append(fields)
                kids.append((child.name, grouped))
            for values, out in rows:
                for k, name in digests:
                    out[name] = _sha256(values[k])
                for name, grouped in kids:
                    children = out[name] = grouped.get(values[at + 1], [])
                    out.checked = out.checked and all(r.checked for r in children)
                yield str(values[at]), out
            last = rows[-1][0][at]
