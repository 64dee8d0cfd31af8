"""Database engine and the unit of work: the only place that commits.

SQLite runs in WAL mode with synchronous=NORMAL; write transactions start with BEGIN IMMEDIATE
so concurrent writers queue on the lock instead of failing on upgrade. PostgreSQL runs at its
defaults.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, MetaData, create_engine, event

__all__ = ["metadata", "make_engine", "UnitOfWork", "reader", "single_read"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# More connections than the web server's worker threads (AnyIO's default is 40): a request that holds
# a connection while it waits for a thread can then never starve the threads waiting for connections.
POOL = {"pool_size": 10, "max_overflow": 50}


def _to_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, busy_timeout_ms: int = 30_000, **kwargs: Any) -> Engine:
    """The engine of `url`; `busy_timeout_ms`: how long SQLite waits for a lock before it gives up."""
    kwargs = POOL | {"json_serializer": _to_json, "json_deserializer": orjson.loads} | kwargs
    if url.startswith("sqlite"):
        connect_args = {"timeout": busy_timeout_ms / 1000, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "BEGIN")
            if mode:  # "" = autocommit reads: one SELECT sees one consistent snapshot anyway
                conn.exec_driver_sql(mode)

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class _CollectorHold:
    """The cyclic garbage collector paused while any large batch runs (process-wide, counted across
    threads): a batch of a thousand certificates allocates some 10⁵ long-lived dicts that are not
    garbage, and the collections they trigger cost about 5 % of issuing them. Short transactions
    never pause it; it resumes when the last batch ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0

    def acquire(self) -> None:
        with self._lock:
            self._holders += 1
            if self._holders == 1:
                self._was_enabled = gc.isenabled()
                gc.disable()

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._was_enabled:
                gc.enable()


_collector = _CollectorHold()


class UnitOfWork:
    """One business transaction. Re-entrant: nested use cases join the outer transaction, and only
    the outermost `with` block commits, so a batch of use cases shares one commit. Each nested block
    runs in a savepoint: if it fails, its writes (and its buffered audit events and ledger entries) are undone even
    when the caller catches the error and carries on."""

    def __init__(self, engine: Engine, platform: Any = None) -> None:
        self.engine = engine
        self.platform = platform  # jiliang.platform.Platform: settings, keys, procedures
        self._depth = 0
        self._conn: Connection | None = None
        self._committed = False
        self.pending_audit: list[dict[str, Any]] = []
        self.pending_ledger: list[tuple[str, str, bool]] = []  # (kind, record id, created here)
        self.flushed_audit: list[tuple[int, str]] = []  # (event id, digest) written by this commit
        # facts established inside this transaction (e.g. content hashes already verified); they die with it
        self.memo: dict[str, Any] = {}
        # (savepoint, audit events and ledger entries buffered before it)
        self._savepoints: list[tuple[Any, int, int]] = []
        self._holds_collector = False

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._conn

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            # on the connection, not the engine: an engine with options is made anew each time (0.1 ms)
            self._conn = self.engine.connect().execution_options(sqlite_begin="BEGIN IMMEDIATE")
            self._conn.begin()
            self._committed = False
        else:
            self._savepoints.append((self.conn.begin_nested(), len(self.pending_audit), len(self.pending_ledger)))
        self._depth += 1
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._depth -= 1
        if self._depth > 0:
            savepoint, audit_mark, ledger_mark = self._savepoints.pop()
            if exc_type is None:
                savepoint.commit()
            else:
                savepoint.rollback()
                del self.pending_audit[audit_mark:]
                del self.pending_ledger[ledger_mark:]
                self.memo.clear()  # may describe rows that no longer exist
            return
        assert self._conn is not None
        try:
            if exc_type is not None or not self._committed:
                self._conn.rollback()
        finally:
            self.pending_audit.clear()
            self.pending_ledger.clear()
            self.flushed_audit.clear()
            self.memo.clear()
            self._conn.close()
            self._conn = None
            if self._holds_collector:
                self._holds_collector = False
                _collector.release()

    def hold_collector(self) -> None:
        """Pause the cyclic garbage collector until this transaction ends (for a large batch)."""
        if self._conn is not None and not self._holds_collector:
            self._holds_collector = True
            _collector.acquire()

    def commit(self) -> None:
        """Commit at the outermost level; inside a batch, the batch's own commit decides."""
        if self._depth == 1:
            # late imports: their table modules import this one
            from .audit import flush_events
            from .ledger.append import flush_ledger

            flush_events(self)
            flush_ledger(self)
            self.conn.commit()
            self._committed = True


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """For a request that reads with a single statement (the public QR checks): no explicit
    transaction on SQLite, so the hot public path costs one query."""
    with engine.connect().execution_options(sqlite_begin="") as conn:
        yield conn
        conn.rollback()


@contextmanager
def reader(engine: Engine) -> Iterator[Connection]:
    """A read-only connection (plain deferred BEGIN on SQLite, so readers never queue)."""
    with engine.connect() as conn:
        yield conn
        conn.rollback()
