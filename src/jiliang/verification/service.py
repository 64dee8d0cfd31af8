"""Mandatory-verification and calibration workflow, one use case per step:
application → assignment → results (verifier) → check (checker) → approval (approver) → certificate.

Each step is one transaction with its audit records. Verifier, checker and approver are three
different people, each confirming with their password (a `Confirmation`) and signing the hash of
the record's content. Every step takes a batch (a checker checks a tray of water meters at once);
the single-record functions are the batch of one, so there is one implementation of each rule.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from ..audit import record_event
from ..auth import Actor
from ..db import UnitOfWork
from ..errors import Forbidden, InvalidInput, RuleViolation
from ..ledger.append import track
from ..registry.access import instrument_not_found
from ..registry.tables import (
    instruments,
    owners,
)
from ..types import utcnow
from .assignment import choose_institution
from .results import ReadingInput, ResultsInput, record_results, record_results_batch
from .signoff import approve_record, approve_records, check_record, check_records, load_contents
from .tables import applications, tasks

__all__ = [
    "ReadingInput",
    "ResultsInput",
    "apply",
    "record_results",
    "record_results_batch",
    "check_record",
    "check_records",
    "approve_record",
    "approve_records",
    "load_contents",
]


def apply(
    uow: UnitOfWork,
    actor: Actor,
    instrument_ids: list[int],
    kind: str = "verification",
    conformity_statement: bool = True,
    note: str = "",
) -> list[int]:
    """The owner applies; each instrument becomes a task at an authorised institution."""
    if kind not in ("verification", "calibration"):
        raise InvalidInput("申请类型必须是 verification 或 calibration / kind must be verification or calibration")
    if actor.owner_id is None:
        raise Forbidden("只有使用单位可以申请检定 / only an owner applies for verification")
    if not instrument_ids:
        raise InvalidInput("请至少选择一台器具 / choose at least one instrument")
    with uow:
        conn = uow.conn
        owner = conn.execute(select(owners).where(owners.c.id == actor.owner_id)).one()
        if owner.status != "approved":
            raise RuleViolation(
                "使用单位注册尚未批准 / the owner's registration is not approved yet", rule="owner_not_approved"
            )
        now = utcnow()
        app_id = conn.execute(
            insert(applications)
            .values(
                owner_id=owner.id,
                kind=kind,
                created_by=actor.user_id,
                created_at=now,
                conformity_statement=conformity_statement if kind == "calibration" else True,
                note=note,
            )
            .returning(applications.c.id)
        ).scalar_one()
        task_ids = []
        for iid in instrument_ids:
            inst = conn.execute(select(instruments).where(instruments.c.id == iid)).first()
            if inst is None or inst.owner_id != owner.id:
                raise instrument_not_found(iid)
            if inst.status != "in_use":
                raise RuleViolation(f"器具 {iid} 已报废 / instrument {iid} is scrapped", rule="scrapped")
            if kind == "verification" and inst.item_code is None:
                raise RuleViolation(
                    f"器具 {iid} 不在强检目录内，请申请校准 / instrument {iid} is outside the "
                    "mandatory catalogue: apply for calibration",
                    rule="not_in_catalogue",
                )
            open_task = conn.execute(
                select(tasks.c.id).where(tasks.c.instrument_id == iid, tasks.c.state == "assigned")
            ).first()
            if open_task is not None:
                raise RuleViolation(
                    f"器具 {iid} 已有进行中的任务 {open_task.id} / instrument {iid} already has "
                    f"open task {open_task.id}",
                    rule="duplicate_task",
                )
            inst_id = choose_institution(conn, inst.item_code, inst.district_code)
            tid = conn.execute(
                insert(tasks)
                .values(
                    application_id=app_id,
                    instrument_id=iid,
                    institution_id=inst_id,
                    kind=kind,
                    state="assigned",
                    created_at=now,
                    updated_at=now,
                )
                .returning(tasks.c.id)
            ).scalar_one()
            task_ids.append(int(tid))
            record_event(
                uow,
                actor.user_id,
                "task.assigned",
                "task",
                tid,
                None,
                {"instrument_id": iid, "institution_id": inst_id, "kind": kind},
                inst_id,
            )
        track(uow, "task", task_ids, new=True)
        uow.commit()
        return task_ids
