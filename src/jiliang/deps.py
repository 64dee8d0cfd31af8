"""FastAPI dependencies: the platform, the authenticated actor, and the public rate limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from .auth import Actor, actor_for_token
from .db import reader
from .errors import JiliangError, Unauthenticated
from .platform import Platform
from .tokens import READ_METHODS

__all__ = [
    "SlidingWindow",
    "get_platform",
    "get_conn",
    "current_actor",
    "rate_limited",
    "PlatformDep",
    "ConnDep",
    "check_login_rate",
    "ActorDep",
    "Credentials",
    "bearer_token",
    "refused_token",
]

_bearer = HTTPBearer(auto_error=False, description="POST /api/auth/login 获得的令牌 / token from /api/auth/login")


async def get_platform(request: Request) -> Platform:
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_conn(platform: PlatformDep) -> Iterator[Connection]:
    with reader(platform.engine) as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]


async def _given_bearer(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> HTTPAuthorizationCredentials:
    """A request with no bearer token at all is refused (401) before its parameters are read; the
    token itself is checked by current_actor (or a list's read_page)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated(Unauthenticated.LOG_IN)
    return credentials


Credentials = Annotated[HTTPAuthorizationCredentials, Depends(_given_bearer)]
"""The bearer token, as every API route reads it."""


def current_actor(request: Request, platform: PlatformDep, conn: ConnDep, creds: Credentials) -> Actor:
    write = request.method not in READ_METHODS
    return actor_for_token(conn, creds.credentials, platform.ledger_mac, write=write)


ActorDep = Annotated[Actor, Depends(current_actor)]


class TooManyRequests(JiliangError):
    status = 429
    rule = "rate_limited"


class SlidingWindow:
    """Per-client request counts over the last minute (in-process; one per app)."""

    def __init__(self) -> None:
        self.hits: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, client: str, limit: int) -> bool:
        now = time.monotonic()
        with self.lock:
            q = self.hits.setdefault(client, deque())
            while q and q[0] <= now - 60:
                q.popleft()
            if len(q) >= limit:
                return False
            q.append(now)
            if len(self.hits) > 100_000:  # forget idle clients rather than grow without bound
                self.hits = {k: v for k, v in self.hits.items() if v and v[-1] > now - 60}
            return True


def check_login_rate(request: Request) -> None:
    """Refuse a client over the login rate limit (429): password guessing spread over many accounts."""
    platform: Platform = request.app.state.platform
    limit = platform.settings.login_rate_limit
    client = request.client.host if request.client else "unknown"
    if limit > 0 and not request.app.state.login_window.allow(client, limit):
        raise TooManyRequests(f"登录尝试过于频繁，请稍后再试 / too many login attempts: at most {limit} per minute")


async def rate_limited(request: Request) -> None:
    check_rate(request)


def check_rate(request: Request) -> Platform:
    """Refuse a client over the public rate limit (429); returns the platform for the handler."""
    platform: Platform = request.app.state.platform
    limit = platform.settings.public_rate_limit
    if limit <= 0:
        return platform
    window: SlidingWindow = request.app.state.public_window
    client = request.client.host if request.client else "unknown"
    if not window.allow(client, limit):
        raise TooManyRequests(f"请求过于频繁，请稍后再试 / too many requests: at most {limit} per minute")
    return platform


def _secured(request: Request) -> frozenset[tuple[str, str]]:
    """(path, METHOD) of every operation the OpenAPI document says needs the bearer token."""
    app = request.app
    found: frozenset[tuple[str, str]] | None = getattr(app.state, "secured_operations", None)
    if found is None:
        found = app.state.secured_operations = frozenset(
            (path, method.upper())
            for path, operations in app.openapi()["paths"].items()
            for method, operation in operations.items()
            if operation.get("security")
        )
    return found


def bearer_token(scope: MutableMapping[str, Any]) -> str | None:
    """The token of the request's `Authorization: Bearer …` header, read as HTTPBearer reads it; None
    when there is none (page_cache reads it before any route, refused_token after one)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" and token else None
    return None


def refused_token(request: Request) -> bool:
    """The request's route needs a bearer token and it brings none, or one that is not live: said
    (401) before anything about its parameters (api.py, invalid input), as the routes that check the
    token as a dependency say it. Runs a read, so call it from the thread pool."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None)
    if path is None or (path, request.method) not in _secured(request):
        return False
    token = bearer_token(request.scope)
    if token is None:
        return True
    platform: Platform = request.app.state.platform
    with reader(platform.engine) as conn:
        try:
            actor_for_token(conn, token, platform.ledger_mac, write=False)
        except Unauthenticated:
            return True
    return False
