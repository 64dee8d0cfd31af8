"""API list pages kept as answered, per server process, and answered again without the router.

A page is kept under everything that decides its bytes: the list's path and query string, who asks
(the actor as this request's token check rebuilt it: user, roles, institution, owner), the day in
Shanghai (due states turn at midnight) and the ledger's size.

Why the ledger's size is a sound version: every committed change the platform makes appends its
leaves in the same transaction (the ledger's promise that the audit names every change; a change made
behind the platform's back is what the auditor reports as tampering), so two requests that read the
same size read the same rows. The size is read before the page: a change that commits in between
makes the kept page newer than its key, never older.

`KeptPages` sits in front of the app. A GET of a list with a bearer token has its token checked (as
every request: a revoked token is refused at once) and the size read, in one short read; a page kept
under that key is answered as it was, with the API's security headers. Anything else — no page kept,
a token that does not pass, another path — goes on to the app unchanged, whose route answers (and
refuses) as always, and keeps the page it answers. Only a page the route answered for exactly this
query string is ever kept, so nothing the route would have refused is answered here.

The least recently used pages go when the kept bytes pass the bound; pages of older sizes are never
asked for again and age out the same way."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, make_url
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from .auth import TOKEN_ROW_AND_SIZE, Actor, granted_reader, reader_and_tree_size, token_params
from .db import make_engine, reader
from .deps import bearer_token
from .errors import JiliangError
from .platform import shanghai_today
from .request_guard import ASGIApp, Message, Receive, Scope, Send
from .security_headers import api_headers

if TYPE_CHECKING:
    from .platform import Platform

__all__ = ["Kept", "PageCache", "KeptPages", "page_key", "autocommit"]


@dataclass(frozen=True, slots=True)
class Kept:
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]  # besides content-type and length: the Link to the next page


PageKey = tuple[str, bytes, Actor, date, int]


def page_key(scope: Scope, actor: Actor, today: date, size: int) -> PageKey:
    return (scope["path"], scope["query_string"], actor, today, size)


class PageCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[PageKey, Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # routes and lookups run in the thread pool
        self.paths: frozenset[str] = frozenset()  # of the pages ever kept: the lists (fixed paths)
        self.hits = 0  # pages answered again

    def get(self, key: PageKey) -> Kept | None:
        with self._lock:
            kept = self._pages.get(key)
            if kept is not None:
                self._pages.move_to_end(key)
                self.hits += 1
            return kept

    def put(self, key: PageKey, kept: Kept) -> None:
        size = len(kept.body)
        if size > self.max_bytes:
            return
        with self._lock:
            self.paths |= {key[0]}  # page_key's path
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._pages[key] = kept
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, gone = self._pages.popitem(last=False)
                self._bytes -= len(gone.body)

    def __len__(self) -> int:
        return len(self._pages)


def autocommit(conn: Connection) -> None:
    """No BEGIN and ROLLBACK around a few reads (two round trips on PostgreSQL): each statement sees
    one consistent state of the database."""
    if conn.dialect.name == "sqlite":
        conn.execution_options(sqlite_begin="")  # db.py: the begin event then emits nothing
    else:
        conn.execution_options(isolation_level="AUTOCOMMIT")


class _ServerCheck:
    """The check on PostgreSQL: one asyncio connection of the driver's own per event loop (a test
    client runs a loop each), the statement sent as compiled once — the server prepares it after a few
    runs — and one request at a time on it (a point read: the queue is short)."""

    def __init__(self, url: str) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        compiled = TOKEN_ROW_AND_SIZE.compile(dialect=postgresql.psycopg.dialect())
        self.sql, self.fixed = str(compiled), {k: v for k, v in compiled.params.items() if v is not None}
        self.closing: set[asyncio.Task[None]] = set()
        # by event loop: its lock and its connection, if open
        self.loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[asyncio.Lock, list[Any]]] = (
            weakref.WeakKeyDictionary()
        )

    async def row(self, token: str) -> Any:
        lock, held = self.loops.setdefault(asyncio.get_running_loop(), (asyncio.Lock(), []))
        import psycopg  # the postgres extra: only a server has it
        from psycopg.rows import namedtuple_row

        async with lock:
            try:
                if not held or held[0].closed:
                    held[:] = [
                        await psycopg.AsyncConnection.connect(
                            self.conninfo, autocommit=True, connect_timeout=2, options="-c statement_timeout=2000"
                        )
                    ]
                cursor = held[0].cursor(row_factory=namedtuple_row)
                await cursor.execute(self.sql, self.fixed | token_params(token))
                return await cursor.fetchone()
            except (psycopg.Error, asyncio.CancelledError) as exc:  # cancelled: the caller's time ran out
                if held:  # in an unknown state: a new one next time
                    closing = asyncio.get_running_loop().create_task(held.pop().close())
                    self.closing.add(closing)  # held until done: the loop keeps only a weak reference
                    closing.add_done_callback(self.closing.discard)
                if isinstance(exc, psycopg.Error):
                    raise ConnectionError(str(exc)) from exc
                raise

    async def close(self) -> None:
        """Close this loop's connection (the app's shutdown)."""
        _, held = self.loops.pop(asyncio.get_running_loop(), (None, []))
        for conn in held:
            await conn.close()


class KeptPages:
    """The check runs on the event loop: a trip through the thread pool costs more than the read. On
    SQLite it is a read of the local file, on its own connection (the loop's thread alone uses it) that
    never waits for a lock; on PostgreSQL an asyncio connection, so the round trip never stalls the
    loop. Any failure there (a busy file, a dropped connection) lets the app answer instead."""

    def __init__(self, app: ASGIApp, platform: Platform, cache: PageCache) -> None:
        self.app = app
        self.platform = platform
        self.cache = cache
        url = platform.settings.database_url
        file = url.startswith("sqlite:///") and ":memory:" not in url
        self.loop_engine = make_engine(url, busy_timeout_ms=0, pool_size=1, max_overflow=0) if file else None
        self.server = _ServerCheck(url) if url.startswith("postgresql") else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in self.cache.paths:
            token = bearer_token(scope)
            kept = None if token is None else await self._lookup(scope, token)
            if kept is not None:
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(kept.body)).encode()),
                    *kept.headers,
                    *api_headers(scope),
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": kept.body})
                return
        await self.app(scope, receive, send)

    def _closing(self, send: Send) -> Send:
        """`send`, closing this loop's connections just before the app says it has shut down."""

        async def closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                if self.loop_engine is not None:
                    self.loop_engine.dispose()
                if self.server is not None:
                    await self.server.close()
            await send(message)

        return closing

    async def _lookup(self, scope: Scope, token: str) -> Kept | None:
        mac = self.platform.ledger_mac
        try:
            if self.loop_engine is not None:
                with reader(self.loop_engine) as conn:
                    autocommit(conn)
                    actor, size = reader_and_tree_size(conn, token, mac)
            elif self.server is not None:
                actor, size = granted_reader(await asyncio.wait_for(self.server.row(token), 2), mac)
            else:
                return None  # an in-memory database: the app answers
        except (JiliangError, DBAPIError, TimeoutError, OSError):
            return None  # the route answers: its refusal, or after waiting for the lock or a connection
        return self.cache.get(page_key(scope, actor, shanghai_today(), size))
