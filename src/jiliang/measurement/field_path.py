"""The path of a field in a data file, as error messages name it: editions[0].rules[2].mpe."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["field_path"]


def field_path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
