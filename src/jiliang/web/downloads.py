"""A list page's export as a download: the table written (exports.py) to a temporary file on disk —
never held in memory — then sent as an attachment with a Chinese file name, not cached; and
`every_row`, which walks a list page's own query by key, a chunk a statement, for all the rows its
filters and search find (never by OFFSET)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, Literal, TypeVar
from urllib.parse import quote

from fastapi.responses import Response, StreamingResponse

from ..exports import FORMATS, ExportTable, write_table
from ..listing import Keyset, KeysetPage

__all__ = ["ExportFormat", "CHUNK", "download", "every_row", "filename"]

ExportFormat = Literal["csv", "xlsx"]
CHUNK = 1000  # rows read a statement while exporting
_BLOCK = 64 * 1024
T = TypeVar("T")


def every_row(page_at: Callable[[Keyset], KeysetPage[T]], chunk: int = CHUNK) -> Iterator[T]:
    """Every row of a list paged by `listing.Keyset`: `page_at` is the page's own query (its tenancy,
    filters and search), asked for `chunk` rows at a time after the last key read."""
    at = Keyset(size=chunk)
    while True:
        page = page_at(at)
        yield from page.rows
        if page.following is None or not page.rows:
            return
        at = Keyset(after=int(page.following), size=chunk)


def filename(title: str, fmt: str, today: date, *parts: str) -> str:
    """The download's name: 未覆盖的器具_徐汇区_2025-06-01.xlsx."""
    stem = "_".join(p for p in (title, *parts, today.isoformat()) if p)
    return f"{stem.replace('/', '-').replace(chr(92), '-')}.{fmt}"


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while block := spool.read(_BLOCK):
            yield block
    finally:
        spool.close()


def download(table: ExportTable, fmt: ExportFormat, name: str, ascii_name: str) -> Response:
    """The table in `fmt` as an attachment named `name` (ascii_name for clients that read only the
    plain parameter). Written in full before the answer starts, so a refusal (too many rows for a
    sheet, a district outside the jurisdiction) is an error page, not a truncated file."""
    spool = tempfile.TemporaryFile()
    try:
        write_table(table, fmt, spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    headers = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}",
        "Content-Length": str(size),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(_chunks(spool), media_type=FORMATS[fmt], headers=headers)
