"""A standard's calibrations as the checks of a standard in use and the uncertainty budgets read them:
each row (without the imported DCC file itself) with the standard's name and the U its certificate
states per range or point."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, select

from .tables import standard_calibration_ranges, standard_calibrations, standards

__all__ = ["calibrations_by_standard"]


def calibrations_by_standard(conn: Connection, standard_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """standard id → its calibrations, each a dict of its columns (dcc_xml left out) with
    "standard_name" and "ranges" (its rows of standard_calibration_ranges in order, as dicts)."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not standard_ids:
        return out
    cal = standard_calibrations
    columns = [c for c in cal.columns if c.name != "dcc_xml"]
    rows = conn.execute(
        select(*columns, standards.c.name.label("standard_name"))
        .join(standards, standards.c.id == cal.c.standard_id)
        .where(cal.c.standard_id.in_(list(standard_ids)))
    ).all()
    by_id = {}
    for r in rows:
        found = dict(r._mapping)
        found["ranges"] = []
        by_id[found["id"]] = found
        out[found["standard_id"]].append(found)
    if any(c["dcc_signature"] is not None for c in by_id.values()):  # only an imported DCC states ranges
        rng = standard_calibration_ranges
        for r in conn.execute(
            select(rng).where(rng.c.calibration_id.in_(list(by_id))).order_by(rng.c.calibration_id, rng.c.seq)
        ):
            by_id[r.calibration_id]["ranges"].append(dict(r._mapping))
    return out
