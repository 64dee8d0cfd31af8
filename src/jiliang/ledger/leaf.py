"""A leaf: the canonical JSON (RFC 8785) of {kind, id, version, projection, fields}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import rfc8785

from ..certificates.canonical import fast_canonical
from .merkle import leaf_hash

__all__ = ["Leaf", "leaf_data", "parse_leaf"]


@dataclass(frozen=True)
class Leaf:
    kind: str
    id: str
    version: int
    projection: str
    fields: dict[str, Any] | None  # None: the record was deleted

    @property
    def data(self) -> bytes:
        return leaf_data(self.kind, self.id, self.version, self.projection, self.fields)

    @property
    def hash(self) -> bytes:
        return leaf_hash(self.data)


def leaf_data(kind: str, record_id: str, version: int, projection: str, fields: dict[str, Any] | None) -> bytes:
    obj: dict[str, Any] = {
        "kind": kind,
        "id": record_id,
        "version": version,
        "projection": projection,
        "fields": fields,
    }
    if getattr(fields, "checked", False):  # values known to be plain (projections.Shape)
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    # values from the database may hold floats (an instrument's parameters): RFC 8785 writes them
    # the ECMAScript way, which the reference implementation does
    return fast_canonical(obj) or rfc8785.dumps(obj)


def parse_leaf(data: bytes) -> Leaf:
    obj = orjson.loads(data)
    return Leaf(obj["kind"], obj["id"], obj["version"], obj["projection"], obj["fields"])
