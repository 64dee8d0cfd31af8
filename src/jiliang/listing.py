"""API lists: one page per query, walked with a keyset cursor (the last row's id, not an offset that
makes the database count past every earlier row), serialised once with orjson straight into the
response — no FastAPI encoding pass over each value. The next page's URL is in the `Link` header
(RFC 8288, rel="next") while a page comes back full."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson
from fastapi import Request, Response

__all__ = ["json_page", "CURSOR_HELP"]

CURSOR_HELP = "上一页 Link 头给出的游标 / the cursor the previous page's Link header gives"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact decimal text, as everywhere in the platform
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_page(request: Request, items: Sequence[Any], last_key: int | None, limit: int) -> Response:
    """`items` as a JSON array; when the page is full, a Link to the page after `last_key`."""
    headers = {}
    if last_key is not None and len(items) >= limit:
        following = request.url.remove_query_params(("cursor", "offset")).include_query_params(cursor=last_key)
        headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    body = orjson.dumps(items, default=_default, option=orjson.OPT_NON_STR_KEYS)  # column names: str subclasses
    return Response(body, media_type="application/json", headers=headers)
