"""Replaying the demo through the services: owners register and are approved, then every event of the
timeline in the order it happened, each under `clock_at`, committed in batches (re-entrant UoW)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from ..auth import Actor, Confirmation, confirm_password, load_actor
from ..db import UnitOfWork
from ..registry import service as registry
from ..registry.tables import catalogue_types, users
from ..types import clock_at
from ..verification import service as workflow
from ..verification.tables import tasks
from .plan import Cast, OwnerPlan
from .staff import Lab
from .timeline import Step

__all__ = ["Counts", "Replay", "BATCH"]

BATCH = 200  # service operations per transaction


@dataclass
class Counts:
    verifications: int = 0
    certificates: int = 0
    failures: int = 0
    calibrations: int = 0
    open_tasks: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Replay:
    def __init__(self, uow: UnitOfWork, labs: dict[int, Lab], password: str, password_hash: str) -> None:
        self.uow, self.labs = uow, labs
        self.password, self.password_hash = password, password_hash
        self.confirmations: dict[int, Confirmation] = {}
        self.counts = Counts()
        with uow:
            self.type_ids = {
                (r.item_code, r.name_zh): r.id
                for r in uow.conn.execute(
                    select(catalogue_types.c.id, catalogue_types.c.item_code, catalogue_types.c.name_zh)
                )
            }

    def confirm(self, actor: Actor) -> Confirmation:
        """Each signatory re-enters the password once; the confirmation covers the whole replay."""
        if actor.user_id not in self.confirmations:
            self.confirmations[actor.user_id] = confirm_password(self.uow.conn, actor, self.password, self.uow.platform)
        return self.confirmations[actor.user_id]

    # ------------------------------------------------------------------ owners
    def owners(self, cast: Cast, approvers: Callable[[str], Actor]) -> None:
        """Register every owner (approved ones are approved a few hours or days later)."""
        uow = self.uow
        everyone = sorted(cast.owners + cast.pending, key=lambda o: o.registered_at)
        for k in range(0, len(everyone), BATCH):
            with uow:
                for o in everyone[k : k + BATCH]:
                    self._owner(o, approvers)
                uow.commit()

    def _owner(self, o: OwnerPlan, approvers: Callable[[str], Actor]) -> None:
        uow = self.uow
        with clock_at(o.registered_at):
            o.owner_id = registry.register_owner(
                uow,
                registry.OwnerRegistration(
                    credit_code=o.credit_code,
                    name=o.name,
                    district_code=o.district,
                    address=o.address,
                    username=o.username,
                    password=self.password,
                    contact_name=o.contact,
                ),
                password_hash=self.password_hash,
            )
        uid = uow.conn.execute(select(users.c.id).where(users.c.owner_id == o.owner_id)).scalar_one()
        if o.approved_at is not None:
            with clock_at(o.approved_at):
                registry.decide_owner_registration(uow, approvers(o.district), o.owner_id, True)
        o.actor = load_actor(uow.conn, uid)

    # --------------------------------------------------------------- timeline
    def run(self, steps: list[Step], progress: Callable[[int], None]) -> None:
        uow, i = self.uow, 0
        while i < len(steps):
            with uow:
                ops = 0
                while i < len(steps) and ops < BATCH:
                    ops += self.step(steps[i])
                    i += 1
                uow.commit()
            progress(i)

    def step(self, s: Step) -> int:
        uow, actor = self.uow, s.owner.actor
        if s.action == "register":
            inst = s.instruments[0]
            with clock_at(s.at):
                inst.id = registry.register_instrument(
                    uow,
                    actor,
                    registry.InstrumentRegistration(
                        item_code=inst.item_code,
                        name=inst.name,
                        serial_no=inst.serial_no,
                        use=inst.use,
                        type_id=self.type_ids.get((inst.item_code, inst.type_name)),
                        procedure_code=inst.procedure_code,
                        manufacturer=inst.manufacturer,
                        model=inst.model,
                        parameters=dict(inst.parameters),
                        location=inst.location,
                    ),
                )
            return 1
        if s.action in ("verify", "calibrate"):
            self._verify(s)
            return len(s.times)
        iid = s.instruments[0].id
        assert iid is not None
        with clock_at(s.at):
            if s.action == "scrap":
                registry.scrap_instrument(uow, actor, iid)
            elif s.action == "transfer":
                assert s.target is not None
                registry.transfer_instrument(uow, actor, iid, s.target.credit_code)
            elif s.action == "relocate":
                assert s.district is not None
                registry.relocate_instrument(uow, actor, iid, s.district, s.location)
        return 1

    def _verify(self, s: Step) -> None:
        """One application for the lot; each institution's share is recorded, checked and approved as a batch."""
        uow, calibration = self.uow, s.action == "calibrate"
        ids = [i.id for i in s.instruments if i.id is not None]
        assert s.performed_on is not None and len(ids) == len(s.instruments)
        with clock_at(s.times[0]):
            tids = workflow.apply(
                uow,
                s.owner.actor,
                ids,
                "calibration" if calibration else "verification",
                conformity_statement=not calibration,
            )
        if len(s.times) < 4:
            self.counts.open_tasks += len(tids)
        if len(s.times) == 1:
            return
        where = dict(uow.conn.execute(select(tasks.c.id, tasks.c.institution_id).where(tasks.c.id.in_(tids))).all())
        pick = s.pick
        environment = {"temperature": f"{18 + pick * 7:.1f} °C", "humidity": f"{40 + (pick * 997) % 30:.0f} %RH"}
        for institution_id in dict.fromkeys(where[t] for t in tids):
            lab = self.labs[institution_id]
            entries = [
                (
                    tid,
                    workflow.ResultsInput(
                        performed_on=s.performed_on,
                        standard_ids=[lab.standards[inst.standard or inst.item_code or ""]],
                        readings=readings,
                        stage=s.stage,
                        environment=environment,
                    ),
                )
                for tid, inst, readings in zip(tids, s.instruments, s.readings, strict=True)
                if where[tid] == institution_id
            ]
            with clock_at(s.times[1]):
                verifier = lab.verifiers[int(pick * len(lab.verifiers))]
                rids = workflow.record_results_batch(uow, self.confirm(verifier), entries)
            if len(s.times) == 2:
                continue
            with clock_at(s.times[2]):
                workflow.check_records(uow, self.confirm(lab.checkers[int(pick * 7919) % len(lab.checkers)]), rids)
            if len(s.times) == 3:
                continue
            with clock_at(s.times[3]):
                workflow.approve_records(
                    uow, self.confirm(lab.approvers[int(pick * 104729) % len(lab.approvers)]), rids
                )
        if len(s.times) < 4:
            return
        c = self.counts
        for ok in s.passes:
            kind = "calibration" if calibration else ("verification" if ok else "nonconformity")
            c.by_kind[kind] = c.by_kind.get(kind, 0) + 1
            c.certificates += 1
            c.calibrations += calibration
            c.verifications += not calibration
            c.failures += kind == "nonconformity"
