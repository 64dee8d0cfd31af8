"""What no request may bring, refused before any route parses it: a body above the configured size
(413, before it is read further), a URL that is not UTF-8 or holds a NUL, and in a JSON or form body
the NaN/Infinity literals, NUL characters and lone surrogates that no database column can store (422
naming where). Pure ASGI: the checked body is handed on to the route unchanged."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

__all__ = ["RequestGuard", "text_problem"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored, or None: a NUL character, or a lone surrogate (not Unicode text)."""
    if "\x00" in value:
        return "contains a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not valid Unicode text)"
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _json_problem(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{path or 'body'}: {problem}" if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found = _json_problem(key, f"{where} (name)") or _json_problem(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _json_problem(item, f"{path}[{i}]")
            if found:
                return found
    return None


def _body_problem(content_type: str, body: bytes) -> str | None:
    if not body:
        return None
    if content_type.startswith("application/json") or content_type.endswith("+json"):
        try:
            data = json.loads(body, parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            return "body: not UTF-8 text"
        except ValueError as exc:  # json.JSONDecodeError included; the route answers malformed JSON itself
            return f"body: {exc}" if "JSON allows" in str(exc) else None
        return _json_problem(data, "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return "form: not UTF-8 text"
        for name, value in pairs:
            problem = text_problem(name) or text_problem(value)
            if problem:
                return f"{name}: {problem}"
    return None


def _url_problem(scope: Scope) -> str | None:
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    for part, what in ((raw, "path"), (scope.get("query_string", b""), "query")):
        try:
            text = unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            return f"{what}: not UTF-8 text"
        if "\x00" in text:
            return f"{what}: contains a NUL character"
    return None


async def _answer(send: Send, status: int, detail: str, rule: str) -> None:
    body = json.dumps({"detail": detail, "rule": rule}, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _url_problem(scope)
        if problem:
            await _answer(send, 400, f"请求地址有误 / bad request address: {problem}", "invalid_input")
            return
        if scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        too_big = f"请求内容超过 {self.max_body:,} 字节 / the request body exceeds {self.max_body:,} bytes"
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > self.max_body:
            await _answer(send, 413, too_big, "body_too_large")
            return
        chunks, size, more = [], 0, True
        while more:  # read it all here, bounded, so that the route never sees more than the limit
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _answer(send, 413, too_big, "body_too_large")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = _body_problem(headers.get(b"content-type", b"").decode("latin-1").lower(), body)
        if problem:
            await _answer(send, 422, f"请求内容有误 / invalid request: {problem}", "invalid_input")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # after the body: wait for the disconnect as usual
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
