"""What the checker and the approver see of a record, read under the institution's tenancy: the
record with its points and sign-offs (queries.record_detail), the instrument, the standards used by
name, and the certificate the record ended in once approved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ..auth import Actor
from ..certificates.tables import certificates
from ..registry.tables import standards
from .queries import record_detail, task_detail

__all__ = ["record_view"]


def record_view(conn: Connection, actor: Actor, record_id: int) -> dict[str, Any]:
    """record_detail plus `instrument`, `standard_rows` (id, name, certificate numbers, due dates)
    and `certificates` (number, kind, status, public token) issued from this record."""
    rec = record_detail(conn, actor, record_id)  # NotFound outside the actor's institution
    rec["instrument"] = task_detail(conn, actor, rec["task_id"])["instrument"]
    rec["standard_rows"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                standards.c.id,
                standards.c.name,
                standards.c.examination_certificate_no,
                standards.c.calibration_certificate_no,
                standards.c.calibration_due,
            )
            .where(standards.c.id.in_(rec["standards"]))
            .order_by(standards.c.id)
        )
    ]
    rec["certificates"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(certificates.c.number, certificates.c.kind, certificates.c.status, certificates.c.public_token)
            .where(certificates.c.record_id == record_id, certificates.c.institution_id == rec["institution_id"])
            .order_by(certificates.c.id)
        )
    ]
    return rec
