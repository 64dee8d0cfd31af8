"""FastAPI dependencies: the platform, the authenticated actor, and the public rate limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Annotated

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
]

_bearer = HTTPBearer(auto_error=False, description="POST /api/auth/login 获得的令牌 / token from /api/auth/login")


async def get_platform(request: Request) -> Platform:
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_conn(platform: PlatformDep) -> Iterator[Connection]:
    with reader(platform.engine) as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]


def current_actor(
    request: Request,
    platform: PlatformDep,
    conn: ConnDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated("请先登录 / log in first (Authorization: Bearer <token>)")
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
