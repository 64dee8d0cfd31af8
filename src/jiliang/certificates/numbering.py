"""Certificate numbers: gap-free per institution per year (the year in Asia/Shanghai).

The counter row is incremented inside the issuing transaction: concurrent issuers queue on its
row lock (PostgreSQL) or on the write lock (SQLite), and a rollback gives the numbers back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update
from sqlalchemy.dialects import postgresql, sqlite

from ..platform import SHANGHAI
from .tables import certificate_counters

__all__ = ["next_numbers", "format_number", "issuing_year"]


def issuing_year(at: datetime) -> int:
    return at.astimezone(SHANGHAI).year


def format_number(institution_code: str, year: int, seq: int) -> str:
    return f"{institution_code}-{year}-{seq:06d}"


def next_numbers(conn: Connection, institution_id: int, year: int, count: int = 1) -> range:
    """Reserve `count` consecutive sequence numbers with one statement (batch issuance)."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        dialect_insert(certificate_counters)
        .values(institution_id=institution_id, year=year, last_seq=0)
        .on_conflict_do_nothing()
    )
    last = int(
        conn.execute(
            update(certificate_counters)
            .where(certificate_counters.c.institution_id == institution_id, certificate_counters.c.year == year)
            .values(last_seq=certificate_counters.c.last_seq + count)
            .returning(certificate_counters.c.last_seq)
        ).scalar_one()
    )
    return range(last - count + 1, last + 1)
