"""The pages' security headers on every answer, the JSON API and its documentation included: no MIME
sniffing, no referrer, no framing, a content policy that lets a JSON answer run nothing, and HSTS
when the request came over TLS (directly, or through a proxy that uvicorn trusts)."""

from __future__ import annotations

from typing import Any

from .request_guard import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "api_headers"]

_COMMON = [(b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff")]
_API_POLICY = b"default-src 'none'; frame-ancestors 'none'"
# /docs is Swagger UI, which FastAPI loads from its CDN with an inline start-up script
_DOCS_POLICY = (
    b"default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    b"connect-src 'self'; frame-ancestors 'none'"
)
_HSTS = (b"strict-transport-security", b"max-age=31536000")


def api_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The headers an API answer carries, for an answer made before this middleware (page_cache)."""
    return [*_COMMON, (b"content-security-policy", _API_POLICY), *([_HSTS] if scope.get("scheme") == "https" else [])]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policy = _DOCS_POLICY if path in ("/docs", "/redoc") else _API_POLICY
        tls = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in _COMMON if h[0] not in names]
                if b"content-security-policy" not in names:  # pages set their own
                    headers.append((b"content-security-policy", policy))
                if tls:
                    headers.append(_HSTS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
