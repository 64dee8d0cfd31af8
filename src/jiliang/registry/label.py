"""The public instrument label page: the QR on an instrument's label, read like a certificate's."""

from __future__ import annotations

import hmac
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from ..errors import NotFound
from .periods import due_status
from .tables import catalogue_items, catalogue_types, instruments

__all__ = ["label_status", "label_facts", "label_path", "instrument_status"]


def label_path(instrument_id: int, token: str) -> str:
    """Where the QR code on an instrument's label leads: the public label page (web/public_pages.py).
    The JSON answer stays at /public/instruments/{id}?token= for machines."""
    return f"/public/label/{instrument_id}?token={token}"


def instrument_status(row: Any, today: date) -> str:
    if row.status == "scrapped":
        return "scrapped"
    if row.barred:
        return "barred"  # failed verification: not to be used until it passes again
    if row.replace_by is not None:
        return "overdue" if row.replace_by < today else "in_date"
    if row.last_verified_on is None:
        return "never_verified"
    return due_status(row.valid_until, today, "periodic" if row.valid_until is not None else "unknown")


def label_status(conn: Connection, instrument_id: int, today: date) -> dict[str, Any]:
    row = conn.execute(select(instruments).where(instruments.c.id == instrument_id)).first()
    return {"instrument": instrument_id, "status": "unknown" if row is None else instrument_status(row, today)}


def label_facts(conn: Connection, instrument_id: int, token: str, today: date) -> dict[str, Any]:
    row = conn.execute(
        select(instruments, catalogue_items.c.name_zh.label("item_name"), catalogue_types.c.name_zh.label("type_name"))
        .outerjoin(catalogue_items, catalogue_items.c.code == instruments.c.item_code)
        .outerjoin(catalogue_types, catalogue_types.c.id == instruments.c.type_id)
        .where(instruments.c.id == instrument_id)
    ).first()
    if row is None or not hmac.compare_digest(row.label_token.encode(), token.encode()):
        raise NotFound("器具编号或校验码不正确 / unknown instrument or token")
    return {
        "instrument": instrument_id,
        "name": row.name,
        "item": row.item_name,
        "type": row.type_name,
        "serial_no": row.serial_no,
        "last_verified_on": row.last_verified_on and str(row.last_verified_on),
        "valid_until": row.valid_until and str(row.valid_until),
        "replace_by": row.replace_by and str(row.replace_by),
        "status": instrument_status(row, today),
    }
