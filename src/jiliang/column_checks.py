"""Every value bound to a column is checked against what the column holds, the same on SQLite and
PostgreSQL, whichever path it came by (API, page, CLI, a parameter in a WHERE clause): a text no
longer than the column's length and without NUL or lone surrogates, an integer within the column's
range. A value that does not fit is refused as bad input naming the column (HTTP 422), before the
database sees it: SQLite would store a 10 MB name in a VARCHAR(128), PostgreSQL would answer 500."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Dialect, Integer, MetaData, String, Text, TypeDecorator
from sqlalchemy.exc import DontWrapMixin

from .errors import InvalidInput

__all__ = ["ColumnValueError", "CheckedString", "CheckedInteger", "check_columns"]


class ColumnValueError(InvalidInput, DontWrapMixin):
    """Raised while a statement binds its values: SQLAlchemy passes it on unwrapped."""


def _text_problem(value: str, length: int | None) -> str | None:
    from .request_guard import text_problem

    if length is not None and len(value) > length:
        return f"longer than {length} characters ({len(value):,})"
    return text_problem(value)


class CheckedString(TypeDecorator[str]):
    impl = String
    cache_ok = True

    def __init__(self, length: int | None, where: str) -> None:
        super().__init__(length)
        self.length = length
        self.where = where

    @property
    def python_type(self) -> type:
        return str  # the ledger's fast path reads the column's Python type

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if type(value) is str:
            if (self.length is None or len(value) <= self.length) and (value.isascii() and "\x00" not in value):
                return value  # the common case, one pass
            problem = _text_problem(value, self.length)
            if problem:
                raise ColumnValueError(f"{self.where}：{problem} / {self.where}: {problem}", rule="invalid_input")
        return value

    def check_many(self, values: Sequence[Any]) -> None:
        """The same check over a whole column of a bulk insert, in a few passes at C speed while every
        text fits (the common case), value by value only to name what does not."""
        try:
            joined = "".join(values)  # a column of text alone, the most common
            texts = values
        except TypeError:  # None (or another type) among them
            texts = [v for v in values if type(v) is str]
            joined = "".join(texts)
        length = self.length
        if (
            (length is None or len(joined) <= length or max(map(len, texts), default=0) <= length)
            and "\x00" not in joined
            and (joined.isascii() or _encodes(joined))
        ):
            return
        for v in texts:
            if type(v) is str:
                self.process_bind_param(v, None)  # type: ignore[arg-type]


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")  # fails on a lone surrogate, as text_problem would say
    except UnicodeEncodeError:
        return False
    return True


class CheckedText(CheckedString):
    impl = Text
    cache_ok = True

    def __init__(self, where: str) -> None:
        TypeDecorator.__init__(self)
        self.length = None
        self.where = where


class CheckedInteger(TypeDecorator[int]):
    impl = Integer
    cache_ok = True
    bound = 2**31 - 1  # PostgreSQL's integer; SQLite's is wider, but the schema is the same on both

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    @property
    def python_type(self) -> type:
        return int

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if type(value) is int and not -self.bound - 1 <= value <= self.bound:
            raise ColumnValueError(
                f"{self.where}：数值超出范围 / {self.where}: {value} is out of range (at most {self.bound})",
                rule="invalid_input",
            )
        return value

    def check_many(self, values: Sequence[Any]) -> None:
        """The same check over a whole column of a bulk insert."""
        ints = [v for v in values if type(v) is int]
        if ints and not (-self.bound - 1 <= min(ints) and max(ints) <= self.bound):
            for v in ints:
                self.process_bind_param(v, None)  # type: ignore[arg-type]


class CheckedBigInteger(CheckedInteger):
    impl = BigInteger
    cache_ok = True
    bound = 2**63 - 1


def check_columns(metadata: MetaData) -> None:
    """Give every text and integer column of the schema its checking type (once, at import), except
    a text the platform writes itself in a form that cannot hold what the check refuses (marked
    `info={"well_formed": why}`: a certificate's canonical JSON, some 4 KB a certificate)."""
    for table in metadata.tables.values():
        for column in table.columns:
            if "well_formed" in column.info:
                continue
            kind, where = type(column.type), f"{table.name}.{column.name}"
            if kind is String:
                column.type = CheckedString(column.type.length, where)  # type: ignore[attr-defined]
            elif kind is Text:
                column.type = CheckedText(where)
            elif kind is Integer:
                column.type = CheckedInteger(where)
            elif kind is BigInteger:
                column.type = CheckedBigInteger(where)
