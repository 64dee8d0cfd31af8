"""API lists: one statement per page, its JSON written by the database itself.

A list (`JsonList`) names its columns and how each row is written. A request gives it its page — a
select filtered by the actor's tenancy, ordered by the key, limited — and gets back, from one
statement, the page as JSON text with its row count and last key: `json_object` and `group_concat` on
SQLite, `row_to_json` and `string_agg` on PostgreSQL. No row becomes a Python object; the text is the
response body. Values are written as the platform's answers always were: booleans true/false, dates
YYYY-MM-DD, UTC times as Python's `isoformat()` (microseconds only when not zero), JSON columns as
JSON, nulls as null.

Pages are walked with a keyset cursor (the last row's key, not an offset that makes the database count
past every earlier row); the next page's URL is in the `Link` header (RFC 8288, rel="next") while a
page comes back full.

The pages' lists (web/) walk the same keys both ways (`Keyset`): a page is the rows after the last
key shown (next) or before the first (previous), so a row added meanwhile shifts no page; a search
(`contains`) narrows the same select."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Connection,
    Dialect,
    Select,
    String,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.functions import FunctionElement

from .auth import Actor, reader_and_tree_size
from .db import reader
from .deps import Credentials
from .errors import InvalidInput
from .page_cache import Kept, autocommit, page_key
from .platform import Platform
from .types import UtcDateTime

__all__ = [
    "CURSOR_HELP",
    "Credentials",
    "Cursor",
    "Keyset",
    "KeysetPage",
    "PageAt",
    "RowKeyset",
    "PAGE_ROWS",
    "Search",
    "contains",
    "Offset",
    "Page",
    "Fields",
    "JsonList",
    "every_column",
    "page_headers",
    "read_page",
]

CURSOR_HELP = "上一页 Link 头给出的游标 / the cursor the previous page's Link header gives"


# the query parameters every list takes besides its limit
Cursor = Annotated[int | None, Query(ge=0, le=2**31 - 1, description=CURSOR_HELP)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="旧式分页 / prefer cursor")]

Fields = Callable[[Mapping[str, ColumnElement[Any]]], Mapping[str, ColumnElement[Any]]]
"""Given the page's columns by name, the answer's keys in order and the value of each."""

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes  # the JSON array, as the database wrote it
    rows: int
    last_key: int | None


def every_column(columns: Mapping[str, ColumnElement[Any]]) -> Mapping[str, ColumnElement[Any]]:
    """Each column of the page under its own name, in the select's order."""
    return columns


def _literal(text: str) -> ColumnClause[Any]:
    return literal_column(f"'{text}'")


def _text_of(literal: Any) -> str:
    """The text of a `_literal` (a name or path: no quotes inside)."""
    return str(literal.name)[1:-1]


def _arg(element: FunctionElement[Any], i: int) -> Any:
    return list(element.clauses)[i]


class _JsonObject(FunctionElement[str]):
    """One row as a JSON object: name, value, name, value, …"""

    type = String()
    inherit_cache = True


@compiles(_JsonObject)
def _json_object_sqlite(element: _JsonObject, compiler: Any, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


@compiles(_JsonObject, "postgresql")
def _json_object_pg(element: _JsonObject, compiler: Any, **kw: Any) -> str:
    # row_to_json of a one-row select rather than json_build_object, which looks up how to write each
    # argument's type again on every call (a third slower on a 200-row page); and it writes no spaces
    names, values = list(element.clauses)[0::2], list(element.clauses)[1::2]
    columns = ", ".join(f'{compiler.process(v, **kw)} AS "{_text_of(n)}"' for n, v in zip(names, values, strict=True))
    return f"(SELECT row_to_json(item) FROM (SELECT {columns}) AS item)"


class _JsonArray(FunctionElement[str]):
    """The rows' objects as one JSON array, in the page's order; arguments: item, ordering."""

    type = String()
    inherit_cache = True


@compiles(_JsonArray)
def _json_array_sqlite(element: _JsonArray, compiler: Any, **kw: Any) -> str:
    # SQLite (3.40) has no ORDER BY inside an aggregate; it aggregates an ordered, limited subquery
    # in that order (such a subquery is never flattened into an aggregate query)
    item = compiler.process(_arg(element, 0), **kw)
    return f"coalesce('[' || group_concat({item}, ',') || ']', '[]')"


@compiles(_JsonArray, "postgresql")
def _json_array_pg(element: _JsonArray, compiler: Any, **kw: Any) -> str:
    item, order = (compiler.process(_arg(element, i), **kw) for i in (0, 1))
    return f"coalesce('[' || string_agg(CAST({item} AS TEXT), ',' ORDER BY {order}) || ']', '[]')"


class _JsonBool(FunctionElement[bool]):
    inherit_cache = True


@compiles(_JsonBool)
def _json_bool_sqlite(element: _JsonBool, compiler: Any, **kw: Any) -> str:
    x = compiler.process(_arg(element, 0), **kw)  # stored 0 / 1
    return f"CASE WHEN {x} THEN json('true') WHEN NOT {x} THEN json('false') END"


@compiles(_JsonBool, "postgresql")
def _json_bool_pg(element: _JsonBool, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(_arg(element, 0), **kw))


class _JsonDocument(FunctionElement[Any]):
    """A JSON column's document, embedded as JSON (not as a string)."""

    inherit_cache = True


@compiles(_JsonDocument)
def _json_document_sqlite(element: _JsonDocument, compiler: Any, **kw: Any) -> str:
    return f"json({compiler.process(_arg(element, 0), **kw)})"


@compiles(_JsonDocument, "postgresql")
def _json_document_pg(element: _JsonDocument, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(_arg(element, 0), **kw))


class _UtcText(FunctionElement[str]):
    """A UTC time as `datetime.isoformat()` writes it; arguments: the time, the suffix ('+00:00' or 'Z')."""

    type = String()
    inherit_cache = True


@compiles(_UtcText)
def _utc_text_sqlite(element: _UtcText, compiler: Any, **kw: Any) -> str:
    # stored by SQLAlchemy as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; isoformat() leaves out zero microseconds
    x, suffix = (compiler.process(_arg(element, i), **kw) for i in (0, 1))
    return f"replace(replace({x}, ' ', 'T'), '.000000', '') || {suffix}"


@compiles(_UtcText, "postgresql")
def _utc_text_pg(element: _UtcText, compiler: Any, **kw: Any) -> str:
    x, suffix = (compiler.process(_arg(element, i), **kw) for i in (0, 1))
    whole, micro = "'YYYY-MM-DD\"T\"HH24:MI:SS'", "'YYYY-MM-DD\"T\"HH24:MI:SS.US'"
    return (
        f"to_char({x} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {x}) = {x} THEN {whole} ELSE {micro} END)"
        f" || {suffix}"
    )


def _as_json(value: ColumnElement[Any], utc_suffix: str) -> ColumnElement[Any]:
    if isinstance(value.type, Boolean):
        return _JsonBool(value)
    if isinstance(value.type, UtcDateTime):
        return _UtcText(value, _literal(utc_suffix))
    if isinstance(value.type, JSON):
        return _JsonDocument(value)
    return value


def _compiled_text(expressions: Sequence[ColumnElement[Any]], dialect: Dialect) -> list[ColumnElement[Any]]:
    compiled = [e.compile(dialect=dialect) for e in expressions]
    if any(c.params for c in compiled):
        raise ValueError("a list's fields may not take parameters: put them in the page's select")
    return [literal_column(str(c)) for c in compiled]


class JsonList:
    """An API list: its columns, and how each row is written as a JSON object. Built once per list (at
    import); each request gives `fetch` its page — `select()` filtered, ordered by the key, limited (the
    limit is what makes SQLite keep the page's order: it never merges a limited subquery into the
    aggregate around it).

    The objects are written over the page's rows, after the limit, so the database writes only the rows
    it returns. The part of the statement that writes the JSON is compiled once per database and reused
    as text: a request builds only its page's select."""

    def __init__(
        self,
        columns: Sequence[ColumnElement[Any]],
        fields: Fields = every_column,
        *,
        key: str = "id",
        utc_suffix: str = "+00:00",
    ) -> None:
        if utc_suffix not in ("+00:00", "Z"):
            raise ValueError(f"unknown UTC suffix {utc_suffix!r}")
        self.columns = list(columns)
        # the page's columns as the statement around it sees them: page."name", typed like the column
        row = {_plain(c.key): literal_column(f'page."{c.key}"', c.type) for c in self.columns}
        pairs: list[ColumnElement[Any]] = []
        for name, value in fields(row).items():
            pairs += [_literal(_plain(name)), _as_json(value, utc_suffix)]
        if len(pairs) > 100:  # SQLite's json_object takes at most 127 arguments
            raise ValueError(f"{len(pairs) // 2} fields: at most 50 in one object")
        k = row[key]
        self._head = [_JsonArray(_JsonObject(*pairs), k), func.max(k)]
        self._compiled: dict[str, list[ColumnElement[Any]]] = {}

    def select(self) -> Select[Any]:
        """The page's select, to filter, order by the key and limit."""
        return select(*self.columns)

    def fetch(self, conn: Connection, page: Select[Any], params: Mapping[str, Any] | None = None) -> Page:
        """The page as a JSON array of objects, with its row count and last key, in one statement;
        `params`: the values of named bind parameters in the page's select."""
        head = self._compiled.get(conn.dialect.name)
        if head is None:
            head = self._compiled[conn.dialect.name] = _compiled_text(self._head, conn.dialect) + [func.count()]
        rows = page.subquery("page")
        body, last_key, n = conn.execute(select(*head).select_from(rows), dict(params or {})).one()
        return Page(body.encode(), n, last_key)


def _plain(name: str | None) -> str:
    """A name written into the SQL text as it is: lower-case letters, digits and underscores only."""
    if name is None or not _NAME.match(name):
        raise ValueError(f"not a plain name for a list's column or field: {name!r}")
    return name


def page_headers(request: Request, page: Page, limit: int) -> tuple[tuple[bytes, bytes], ...]:
    """When the page is full, a Link to the page after its last key."""
    if page.last_key is None or page.rows < limit:
        return ()
    following = request.url.remove_query_params(("cursor", "offset")).include_query_params(cursor=page.last_key)
    return ((b"link", f'<{following.path}?{following.query}>; rel="next"'.encode()),)


def read_page(
    request: Request,
    credentials: Credentials,
    fetch: Callable[[Connection, Actor], Page],
    limit: int,
    today: date,
) -> Response:
    """A list request in one step: a read connection (db.reader), the token checked (for a read, as
    deps.current_actor checks it for every route) with the ledger's size in the same statement, and the
    page, kept by the app's page cache (page_cache.py) for the next request of the same query by the
    same actor on the same day (`today`, the day `fetch` lists on) while the ledger keeps that size.
    One call where ConnDep and ActorDep would each be a trip through the thread pool, and the
    connection's release another."""
    platform: Platform = request.app.state.platform
    with reader(platform.engine) as conn:
        autocommit(conn)
        actor, size = reader_and_tree_size(conn, credentials.credentials, platform.ledger_mac)
        page = fetch(conn, actor)
    kept = Kept(page.body, page_headers(request, page, limit))
    cache = getattr(request.app.state, "page_cache", None)  # none when JILIANG_PAGE_CACHE_BYTES=0
    if cache is not None:
        cache.put(page_key(request.scope, actor, today, size), kept)
    return Response(kept.body, media_type="application/json", headers={k.decode(): v.decode() for k, v in kept.headers})


# --- the pages' lists: the same keys, walked both ways ---

PAGE_ROWS = 25  # a page of a list on screen: a screenful or two on a phone, not a book
_END = 2**31 - 1  # past every key: the `before` of an ascending list's last page (0 is a descending one's)
T = TypeVar("T")

Search = Annotated[str, Query(max_length=64)]


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T]):
    """A page of rows with the keys that lead to its neighbours (None where there is none): an id, or
    a `RowKeyset`'s cursor text."""

    rows: list[T]
    previous: int | str | None  # the `before` of the page that precedes
    following: int | str | None  # the `after` of the page that follows
    at_start: bool
    last: int | str  # the `before` that gives the list's last page

    def links(self, url: Any, after: str = "after", before: str = "before") -> list[tuple[str, str]]:
        """(rel, path and query) of the first, previous, next and last pages that exist, from this page's
        `url` (a starlette URL) with its other parameters (search, filters) kept; `after` and `before`
        name the parameters when a page has two lists paged apart."""
        base = url.remove_query_params((after, before))
        out = []
        if not self.at_start:
            out.append(("first", base))
        if self.previous is not None:
            out.append(("prev", base.include_query_params(**{before: self.previous})))
        if self.following is not None:
            out += [("next", base.include_query_params(**{after: self.following}))]
            out += [("last", base.include_query_params(**{before: self.last}))]
        return [(rel, u.path + (f"?{u.query}" if u.query else "")) for rel, u in out]


def _paged(
    rows: list[T], keys: list[Any], more: bool, back: bool, at_start: bool, to_end: bool, last: Any
) -> KeysetPage[T]:
    """A page from its rows in the list's order and their keys: `more` when the list goes on past them in
    the direction read (`back`: read before a key); `to_end`: read back from the list's end."""
    if not rows:
        return KeysetPage([], None, None, at_start, last)
    if back:  # from a page after these rows, unless from the list's end (the `last` link)
        return KeysetPage(rows, keys[0] if more else None, None if to_end else keys[-1], not more, last)
    return KeysetPage(rows, None if at_start else keys[0], keys[-1] if more else None, at_start, last)


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a page starts: after the key `after`, before the key `before`, or at the list's start.

    The same cursor as the API's (the last row's key, never an offset): one statement a page,
    however deep, and pages that stay put when rows are added."""

    after: int | None = None
    before: int | None = None
    size: int = field(default_factory=lambda: PAGE_ROWS)  # read when made: a test may shorten pages

    @classmethod
    def posted(cls, after: str, before: str) -> Keyset:
        """The place a form posted back (the page it was sent from); the start if malformed."""
        keys = [int(k) if k.isdigit() and int(k) < 2**31 else None for k in (after, before)]
        return cls(keys[0], keys[1])

    def query(self) -> dict[str, int]:
        """This place as query parameters (to come back to it)."""
        return {k: v for k, v in (("after", self.after), ("before", self.before)) if v is not None}

    def fetch(
        self,
        conn: Connection,
        q: Select[Any],
        key: ColumnElement[int],
        row: Callable[[Any], T],
        *,
        newest_first: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> KeysetPage[T]:
        """The page of `q` (filtered, not ordered) in `key` order, in one statement: one row more than
        the page tells whether the list goes on; going back, the rows are read backwards and turned."""
        back = self.before is not None
        if self.before is not None:
            q = q.where(key > self.before if newest_first else key < self.before)
        elif self.after is not None:
            q = q.where(key < self.after if newest_first else key > self.after)
        ascending = back == newest_first
        found = conn.execute(q.order_by(key.asc() if ascending else key.desc()).limit(self.size + 1), params or {})
        rows = list(found)
        more = len(rows) > self.size
        rows = rows[: self.size]
        if back:
            rows.reverse()
        last = 0 if newest_first else _END
        keys = [r._mapping[key] for r in rows]
        start = self.after is None and not back
        return _paged([row(r) for r in rows], keys, more, back, start, self.before == last, last)

    def slice(self, rows: Sequence[T], key: Callable[[T], int]) -> KeysetPage[T]:
        """The page of a list held in memory, `rows` in ascending `key` order (a key that stays with its
        row, such as its place in the files it was read from, so that no page shifts when rows leave)."""
        back = self.before is not None
        if self.before is not None:
            chosen = [r for r in rows if key(r) < self.before]
            window, more = chosen[-self.size :], len(chosen) > self.size
        else:
            chosen = [r for r in rows if self.after is None or key(r) > self.after]
            window, more = chosen[: self.size], len(chosen) > self.size
        start = self.after is None and not back
        return _paged(list(window), [key(r) for r in window], more, back, start, self.before == _END, _END)


def _keyset(after: Cursor = None, before: Cursor = None) -> Keyset:
    return Keyset(after, before)


PageAt = Annotated[Keyset, Depends(_keyset)]
"""A page route's `?after=` / `?before=` (the keys its pager links give)."""

RowKey = int | date | datetime
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROW_END = "end"  # the `before` of the last page of a RowKeyset's list
_CURSOR_PART = {"i": re.compile(r"i(\d{1,10})"), "d": re.compile(r"d(\d{8})"), "t": re.compile(r"t(\d{1,17})")}
_BAD_CURSOR = "翻页位置无效，请从第一页重新开始 / this place in the list is not valid: start again from the first page"


def _encode(values: Sequence[RowKey]) -> str:
    """A row's sort values as one URL parameter: "i3.d20240105.t1704423845123456.i42"."""
    parts = []
    for v in values:
        if isinstance(v, datetime):
            since = (v if v.tzinfo else v.replace(tzinfo=UTC)) - _EPOCH
            parts.append(f"t{since // timedelta(microseconds=1)}")
        elif isinstance(v, date):
            parts.append(f"d{v:%Y%m%d}")
        else:
            parts.append(f"i{int(v)}")
    return ".".join(parts)


def _decode(text: str, kinds: str) -> tuple[RowKey, ...]:
    """The sort values a cursor of `kinds` (i: integer, d: date, t: UTC time) holds; InvalidInput
    (422) for anything else."""
    parts = text.split(".")
    if len(parts) != len(kinds) or len(text) > 120:
        raise InvalidInput(_BAD_CURSOR, rule="cursor")
    out: list[RowKey] = []
    for kind, part in zip(kinds, parts, strict=True):
        found = _CURSOR_PART[kind].fullmatch(part)
        if found is None:
            raise InvalidInput(_BAD_CURSOR, rule="cursor")
        digits = found.group(1)
        try:
            if kind == "i":
                if int(digits) >= 2**31:
                    raise ValueError(digits)
                out.append(int(digits))
            elif kind == "d":
                out.append(date(int(digits[:4]), int(digits[4:6]), int(digits[6:])))
            else:
                out.append(_EPOCH + timedelta(microseconds=int(digits)))
        except (ValueError, OverflowError):
            raise InvalidInput(_BAD_CURSOR, rule="cursor") from None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RowKeyset:
    """Where a page starts in a list ordered by several values (a computed order: a bucket, a date,
    then the id that settles ties): after the row whose values `after` holds, before `before`'s, or
    at the start. The URL carries them as one validated parameter each (`parse`); a row added
    meanwhile joins its place in the order without moving any other page's rows."""

    after: tuple[RowKey, ...] | None = None
    before: tuple[RowKey, ...] | None = None
    to_end: bool = False  # the last page: read back from the list's end
    size: int = field(default_factory=lambda: PAGE_ROWS)

    @classmethod
    def parse(cls, after: str, before: str, kinds: str, size: int | None = None) -> RowKeyset:
        """From `?after=` / `?before=` as the pager's links give them (`kinds`: see `_decode`); a
        malformed one is refused (InvalidInput), never read as the start."""
        after, before = after.strip(), before.strip()
        rows = PAGE_ROWS if size is None else size
        if after and before:
            raise InvalidInput(_BAD_CURSOR, rule="cursor")
        if before == _ROW_END:
            return cls(to_end=True, size=rows)
        return cls(_decode(after, kinds) if after else None, _decode(before, kinds) if before else None, size=rows)

    @staticmethod
    def values_of(row: Any, count: int) -> tuple[RowKey, ...]:
        """A fetched row's sort values (for the `row` function of `fetch`, e.g. to count the rows before
        a page)."""
        return tuple(row._mapping[f"sort_key_{i}"] for i in range(count))

    def fetch(
        self,
        conn: Connection,
        q: Select[Any],
        keys: Sequence[ColumnElement[Any]],
        row: Callable[[Any], T],
        params: Mapping[str, Any] | None = None,
    ) -> KeysetPage[T]:
        """The page of `q` (filtered, not ordered) in the order of `keys` (each ascending; the last one
        unique), in one statement, its links' cursors the first and last rows' values."""
        named = [k.label(f"sort_key_{i}") for i, k in enumerate(keys)]
        q = q.add_columns(*named)
        back = self.before is not None or self.to_end
        at = self.before if self.before is not None else self.after
        if at is not None:
            position = tuple_(*(literal(v, k.type) for k, v in zip(keys, at, strict=True)))
            q = q.where(tuple_(*keys) < position if back else tuple_(*keys) > position)
        order = [k.desc() for k in keys] if back else [k.asc() for k in keys]
        rows = list(conn.execute(q.order_by(*order).limit(self.size + 1), params or {}))
        more = len(rows) > self.size
        rows = rows[: self.size]
        if back:
            rows.reverse()
        cursors = [_encode([r._mapping[f"sort_key_{i}"] for i in range(len(keys))]) for r in rows]
        start = self.after is None and not back
        return _paged([row(r) for r in rows], cursors, more, back, start, self.to_end, _ROW_END)


def contains(text: str, *columns: ColumnElement[Any]) -> ColumnElement[bool] | None:
    """Rows where one of `columns` contains `text`, ignoring case (% and _ typed are plain characters);
    None when nothing was typed."""
    needle = text.strip()
    if not needle:
        return None
    return or_(*(c.icontains(needle, autoescape=True) for c in columns))
