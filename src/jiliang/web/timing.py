"""`Server-Timing: app;dur=<ms>` on every answer: how long the server took to produce it, which the
browser's developer tools (and benchmarks/pages.py) read next to the network time."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ServerTiming"]


class ServerTiming:
    """Pure ASGI middleware (no per-request task or body buffering, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                message["headers"] = [*message.get("headers", []), (b"server-timing", f"app;dur={ms:.1f}".encode())]
            await send(message)

        await self.app(scope, receive, timed_send)
