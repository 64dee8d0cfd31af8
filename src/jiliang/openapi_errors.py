"""The OpenAPI document says what the API answers when it refuses: every error body is
`{"detail": "中文 / English", "rule": "…"}` (422 adds the validator's `errors`), and every route lists
the statuses it can answer — the request guard's 400/413/422 for all, 401 where a token is needed,
403/404/409 where a rule or another institution's data stands in the way, 429 where a rate applies,
503 when the database dropped the connection (a restart: try again) or the server lacks what the answer
needs (the printable certificate's font)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["describe_errors"]

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["detail", "rule"],
    "properties": {
        "detail": {"type": "string", "description": "中文 / English: what was refused and why"},
        "rule": {"type": "string", "description": "the rule that refused it, e.g. invalid_input, state"},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "422: each field's problem"},
    },
}
_WHY = {
    "400": "请求有误 / bad request (e.g. a URL that is not UTF-8)",
    "401": "未登录或令牌失效 / no valid token",
    "403": "无权操作 / not allowed for this account",
    "404": "不存在或不在职权范围内 / not found, or outside the caller's jurisdiction",
    "409": "业务规则不允许 / a rule of the workflow forbids it",
    "413": "请求内容过大 / the body exceeds the configured limit",
    "422": "内容有误 / invalid input, naming the field",
    "429": "过于频繁或账号已锁定 / too many requests, or the account is locked",
    "503": "暂不可用 / unavailable: the database connection was interrupted (retry after Retry-After), or the "
    "server lacks what the answer needs (e.g. the font of the printable certificate)",
}


def _codes(path: str) -> tuple[str, ...]:
    if path.startswith("/public/"):
        return ("400", "404", "413", "422", "429", "503")
    if path == "/api/auth/login":
        return ("400", "401", "413", "422", "429", "503")
    return ("400", "401", "403", "404", "409", "413", "422", "429", "503")


def describe_errors(app: FastAPI) -> None:
    """Replace FastAPI's default 422 schema with the real error body and add the other statuses."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code in _codes(path):
                    responses[code] = {"description": _WHY[code], "content": ref}
        for name in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
