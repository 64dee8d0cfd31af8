"""Three years of dated events for the demo cast: registrations, verifications (re-verified about
every 6 months for fuel dispensers and sphygmomanometers, yearly for scales, once for water and gas
meters), failures with repairs or scrapping, transfers, relocations, overdue and never-verified
instruments, and today's open tasks. Pure: readings come from the procedures' MPE (`readings.py`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..measurement.procedure import Procedure
from ..platform import SHANGHAI
from ..verification.service import ReadingInput
from . import names as nm
from .plan import Cast, InstrumentPlan, OwnerPlan, at
from .readings import calibration_readings, verification_readings

__all__ = ["Step", "timeline", "FAIL_RATE"]

FAIL_RATE = 0.04  # share of verifications that find the instrument out of its MPE
INTERVAL = {"nawi": (340, 380), "fuel_dispenser": (168, 182), "sphygmomanometer": (165, 182)}
FIRST_ONLY = ("water_meter", "gas_meter")
STEPS = ("apply", "record", "check", "approve")


@dataclass(eq=False)
class Step:
    at: datetime  # when it is replayed: the time of its last part
    instrument: InstrumentPlan
    action: str  # register | verify | calibrate | scrap | transfer | relocate
    owner: OwnerPlan  # the owner acting
    times: tuple[datetime, ...] = ()  # verify / calibrate: the parts that happen, in STEPS order
    performed_on: date | None = None
    stage: str | None = None
    passes: bool = True
    readings: list[ReadingInput] = field(default_factory=list)
    pick: float = 0.0  # which of the institution's verifiers takes the task
    target: OwnerPlan | None = None  # transfer
    district: str | None = None  # relocate
    location: str = ""
    order: int = 0


class _Timeline:
    def __init__(self, cast: Cast, rng: random.Random, now: datetime) -> None:
        self.cast, self.rng, self.now = cast, rng, now
        self.today = cast.today
        self.steps: list[Step] = []
        self.district: dict[int, str] = {}  # where a relocated instrument is now

    def add(self, step: Step) -> Step:
        step.order = len(self.steps)
        self.steps.append(step)
        return step

    def composite(self, inst: InstrumentPlan, owner: OwnerPlan, day: date, after: datetime, action: str,
                  stage: str | None, passes: bool, upto: str = "approve") -> Step | None:
        """Apply a few days before `day`, record on `day`, check and approve within a day or two;
        parts later than now (today's queue) or than `upto` do not happen."""
        r = self.rng
        apply = max(at(day - timedelta(days=r.randint(1, 6)), r.uniform(9, 11.5)), after + timedelta(hours=1))
        if apply.astimezone(SHANGHAI).date() >= day:  # the owner applied late: the lab comes the day after
            day = apply.astimezone(SHANGHAI).date() + timedelta(days=1)
        record = at(day, r.uniform(9.5, 16))
        check = record + timedelta(hours=r.uniform(1, 26))
        approve = check + timedelta(hours=r.uniform(0.5, 30))
        times = tuple(t for t, name in zip((apply, record, check, approve), STEPS, strict=True)
                      if t <= self.now - timedelta(minutes=5) and STEPS.index(name) <= STEPS.index(upto))
        if not times:
            return None
        return self.add(Step(times[-1], inst, action, owner, times, day, stage, passes, pick=r.random()))

    def instrument(self, inst: InstrumentPlan, lapse_forced: bool) -> None:
        r, today = self.rng, self.today
        owner = inst.owner
        self.add(Step(inst.registered_at, inst, "register", owner))
        last = inst.registered_at
        if inst.item_code is not None and inst.procedure_code is None:
            return  # taximeters, chargers, gas detectors: no procedure, so never verified (shown as unknown)
        day = inst.registered_at.date() + timedelta(days=r.randint(3, 25))
        if inst.item_code is None:  # calibration order, renewed yearly
            while day <= today - timedelta(days=4):
                s = self.composite(inst, owner, day, last, "calibrate", None, True)
                last = s.at if s else last
                day += timedelta(days=r.randint(350, 380))
            return
        if not inst.protected and r.random() < 0.04:
            return  # registered, never applied for: never verified
        lapse: date | None = None
        if lapse_forced or (not inst.protected and r.random() < 0.08):
            latest = today - timedelta(days=200)
            lapse = min(day + timedelta(days=r.randint(0, max(0, (latest - day).days))), latest)
        stage = "initial" if inst.new or inst.item_code in FIRST_ONLY else "subsequent"
        verified = 0
        while True:
            if day > today - timedelta(days=4):
                if day <= today and r.random() < 0.6:  # due now: the owner applied, the lab is at it
                    self.composite(inst, owner, day, last, "verify", stage, True, r.choice(STEPS[:3]))
                return
            if lapse is not None and verified and day > lapse:
                return  # the owner stopped applying: overdue where the period is known
            passes = r.random() >= (FAIL_RATE if inst.item_code not in FIRST_ONLY else 0.02)
            s = self.composite(inst, owner, day, last, "verify", stage, passes)
            if s is None or len(s.times) < len(STEPS):
                return
            last, verified = s.at, verified + 1
            if inst.item_code in FIRST_ONLY:
                if not passes:  # a new meter that fails is not installed
                    self.add(Step(last + timedelta(days=r.uniform(1, 5)), inst, "scrap", owner))
                return
            stage = "subsequent"
            lo, hi = INTERVAL[inst.item_code or "nawi"]
            if not passes:
                if day > today - timedelta(days=45):
                    return  # barred, awaiting repair
                fate = r.random()
                if fate < 0.65 or inst.protected:  # repaired and re-verified
                    day += timedelta(days=r.randint(5, 25))
                    s = self.composite(inst, owner, day, last, "verify", stage, True)
                    if s is None or len(s.times) < len(STEPS) or day > today - timedelta(days=4):
                        return
                    last = s.at
                elif fate < 0.85:
                    self.add(Step(last + timedelta(days=r.uniform(3, 20)), inst, "scrap", owner))
                    return
                else:
                    return  # left barred: the owner stopped using it
            owner = self.between(inst, owner, last, day + timedelta(days=lo))
            if owner is None:
                return
            if self.steps[-1].at > last:
                last = self.steps[-1].at
            day += timedelta(days=r.randint(lo, hi))

    def between(self, inst: InstrumentPlan, owner: OwnerPlan, after: datetime, before: date) -> OwnerPlan | None:
        """Lifecycle events between two verifications; returns the owner afterwards (None: scrapped)."""
        r = self.rng
        when = after + timedelta(days=r.uniform(20, max(21, (before - after.date()).days - 20)))
        if inst.protected or inst.item_code != "nawi" or when.date() >= self.today:
            return owner
        roll = r.random()
        if roll < 0.012:
            self.add(Step(when, inst, "scrap", owner))
            return None
        if roll < 0.03:
            others = [o for o in self.cast.owners if o.category == owner.category and o is not owner
                      and o.approved_at is not None and o.approved_at < when]
            if not others:
                return owner
            new = r.choice(others)
            self.add(Step(when, inst, "transfer", owner, target=new))
            if new.district != self.district.get(id(inst), inst.owner.district):
                self.district[id(inst)] = new.district
                self.add(Step(when + timedelta(days=r.uniform(1, 3)), inst, "relocate", new,
                              district=new.district, location=f"{r.choice(nm.ROADS[new.district])}店"))
            return new
        if roll < 0.045:
            d = r.choice([c for c in nm.DISTRICT_WEIGHTS if c != self.district.get(id(inst), inst.owner.district)])
            self.district[id(inst)] = d
            self.add(Step(when, inst, "relocate", owner, district=d,
                          location=f"{r.choice(nm.ROADS[d])}{r.choice(nm.MARKETS)}{r.randint(1, 60)}号摊位"))
        return owner

    def demo_queue(self) -> None:
        """The demo owner's scales waiting at 徐汇区计量所: one applied, one recorded, one checked."""
        demo = self.cast.demo_owner
        if demo is None:
            return
        mine = [i for i in self.cast.instruments if i.owner is demo]
        for inst, upto in zip(mine, STEPS[:3], strict=False):
            own = [s for s in self.steps if s.instrument is inst]
            if own[-1].action == "verify" and len(own[-1].times) < 4:
                continue  # already in the queue
            day = self.today - timedelta(days=1)
            if upto == "apply":
                day = self.today
            self.composite(inst, demo, day, own[-1].at, "verify", "subsequent", True, upto)


def _force_barred(steps: list[Step]) -> None:
    """Make sure one instrument ends barred (its last verification a recent failure)."""
    last: dict[int, Step] = {}
    for s in steps:
        last[id(s.instrument)] = s
    ends = [s for s in last.values() if s.action == "verify" and len(s.times) == 4]
    if any(not s.passes for s in ends):
        return
    scales = [s for s in ends if s.instrument.item_code == "nawi" and not s.instrument.protected] or ends
    if scales:
        scales[-1].passes = False


def timeline(cast: Cast, rng: random.Random, now: datetime, procedures: dict[str, Procedure]) -> list[Step]:
    """Every event of the demo history in the order it happened."""
    t = _Timeline(cast, rng, now)
    forced = next((i for i in cast.instruments if i.item_code in ("fuel_dispenser", "sphygmomanometer")
                   and i.registered_at.date() < cast.today - timedelta(days=240)), None)
    for inst in cast.instruments:
        t.instrument(inst, inst is forced)
    t.demo_queue()
    _force_barred(t.steps)
    for s in t.steps:  # readings last, once every verdict is settled
        if s.action == "calibrate" and len(s.times) > 1:
            s.readings = calibration_readings(s.instrument.points, rng)
        elif s.action == "verify" and len(s.times) > 1:
            proc = procedures[s.instrument.procedure_code or ""]
            assert s.performed_on is not None and s.stage is not None
            s.readings = verification_readings(proc, s.performed_on, s.stage, s.instrument.parameters,
                                               s.instrument.points, s.passes, rng)  # type: ignore[arg-type]
    return sorted(t.steps, key=lambda s: (s.at, s.order))
