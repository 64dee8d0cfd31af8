"""Column types shared by every context's tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator

__all__ = ["UtcDateTime", "utcnow", "clock_at"]

_frozen: ContextVar[datetime | None] = ContextVar("jiliang_clock", default=None)


def utcnow() -> datetime:
    """The platform's clock: real time, unless `clock_at` replays history (demo data, tests)."""
    return _frozen.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run services as if it were `moment` (an aware datetime): used to build past history."""
    if moment.tzinfo is None:
        raise ValueError("clock_at needs an aware datetime")
    token = _frozen.set(moment)
    try:
        yield
    finally:
        _frozen.reset(token)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC on both databases and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: jiliang stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
