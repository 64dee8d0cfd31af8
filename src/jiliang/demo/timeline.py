"""Three years of dated events for the demo cast: registrations, verifications (re-verified about
every 6 months for fuel dispensers and sphygmomanometers, yearly for scales, once for water and gas
meters), failures with repairs or scrapping, transfers, relocations, overdue and never-verified
instruments, and today's open tasks. Pure: readings come from the procedures' MPE (`readings.py`).

An owner's lot of instruments is applied for together and verified on the same day, as labs do it."""

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

__all__ = ["Step", "timeline", "FAIL_RATE", "STEPS"]

FAIL_RATE = 0.04  # share of verifications that find the instrument out of its MPE
INTERVAL = {"nawi": (340, 380), "fuel_dispenser": (168, 182), "sphygmomanometer": (165, 182)}
FIRST_ONLY = ("water_meter", "gas_meter")
# EV chargers have a procedure, but their class rules are unconfirmed and their period unknown: the demo
# history leaves them unverified, and one waits in the city institute's queue for the first verification.
NO_HISTORY = ("ev_charger",)
STEPS = ("apply", "record", "check", "approve")


@dataclass(eq=False)
class Step:
    at: datetime  # when it is replayed: the time of its last part
    instruments: list[InstrumentPlan]
    action: str  # register | verify | calibrate | scrap | transfer | relocate
    owner: OwnerPlan  # the owner acting
    times: tuple[datetime, ...] = ()  # verify / calibrate: the parts that happen, in STEPS order
    performed_on: date | None = None
    stage: str | None = None
    passes: list[bool] = field(default_factory=list)
    readings: list[list[ReadingInput]] = field(default_factory=list)
    pick: float = 0.0  # which of the institution's staff take the task
    target: OwnerPlan | None = None  # transfer
    district: str | None = None  # relocate
    location: str = ""
    order: int = 0

    @property
    def complete(self) -> bool:
        return len(self.times) == len(STEPS)


class _Timeline:
    def __init__(self, cast: Cast, rng: random.Random, now: datetime) -> None:
        self.cast, self.rng, self.now = cast, rng, now
        self.today = cast.today
        self.steps: list[Step] = []
        self.district: dict[int, str] = {}  # where a relocated instrument is now
        self.last: dict[int, Step] = {}  # each instrument's latest step

    def add(self, step: Step) -> Step:
        step.order = len(self.steps)
        self.steps.append(step)
        for inst in step.instruments:
            self.last[id(inst)] = step
        return step

    def composite(
        self,
        insts: list[InstrumentPlan],
        owner: OwnerPlan,
        day: date,
        after: datetime,
        action: str,
        stage: str | None,
        passes: list[bool],
        upto: str = "approve",
    ) -> Step | None:
        """Apply a few days before `day` (on a day after `after`), record on `day`, check and approve
        within a day or two; parts later than now (today's queue) or than `upto` do not happen."""
        r = self.rng
        not_before = at(after.astimezone(SHANGHAI).date() + timedelta(days=1), r.uniform(8.5, 9))
        apply = max(at(day - timedelta(days=r.randint(1, 6)), r.uniform(9, 11.5)), not_before)
        if apply.astimezone(SHANGHAI).date() >= day:  # the owner applied late: the lab comes the day after
            day = apply.astimezone(SHANGHAI).date() + timedelta(days=1)
        record = at(day, r.uniform(9.5, 16))
        check = record + timedelta(hours=r.uniform(1, 26))
        approve = check + timedelta(hours=r.uniform(0.5, 30))
        times = tuple(
            t
            for t, name in zip((apply, record, check, approve), STEPS, strict=True)
            if t <= self.now - timedelta(minutes=5) and STEPS.index(name) <= STEPS.index(upto)
        )
        if not times:
            return None
        return self.add(Step(times[-1], list(insts), action, owner, times, day, stage, passes, pick=r.random()))

    def lot(self, insts: list[InstrumentPlan], lapse_forced: bool) -> None:
        r = self.rng
        owner = insts[0].owner
        for inst in insts:
            self.add(Step(inst.registered_at, [inst], "register", owner))
        first = insts[0]
        if first.item_code is not None and (first.procedure_code is None or first.item_code in NO_HISTORY):
            return  # taximeters, gas detectors: no procedure; chargers: see NO_HISTORY (shown as unknown)
        day = first.registered_at.date() + timedelta(days=r.randint(3, 25))
        if first.item_code is None:  # calibration order, renewed yearly
            last = first.registered_at
            while day <= self.today - timedelta(days=4):
                s = self.composite(insts, owner, day, last, "calibrate", None, [True] * len(insts))
                last = s.at if s else last
                day += timedelta(days=r.randint(350, 380))
            return
        active = [i for i in insts if i.protected or r.random() >= 0.04]  # the rest: never applied for
        lapse: date | None = None
        if lapse_forced or (not first.protected and r.random() < 0.08):
            latest = self.today - timedelta(days=200)
            lapse = min(day + timedelta(days=r.randint(0, max(0, (latest - day).days))), latest)
        stage = "initial" if first.new or first.item_code in FIRST_ONLY else "subsequent"
        self.run(active, owner, day, first.registered_at, stage, lapse, verified=False)

    def run(
        self,
        active: list[InstrumentPlan],
        owner: OwnerPlan,
        day: date,
        last: datetime,
        stage: str,
        lapse: date | None,
        verified: bool,
    ) -> None:
        r, today = self.rng, self.today
        item = active[0].item_code if active else None
        while active:
            if day > today - timedelta(days=4):
                if day <= today and r.random() < 0.6:  # due now: the owner applied, the lab is at it
                    self.composite(active, owner, day, last, "verify", stage, [True] * len(active), r.choice(STEPS[:3]))
                return
            if lapse is not None and verified and day > lapse:
                return  # the owner stopped applying: overdue where the period is known
            rate = FAIL_RATE if item not in FIRST_ONLY else 0.02
            passes = [r.random() >= rate for _ in active]
            s = self.composite(active, owner, day, last, "verify", stage, passes)
            if s is None or not s.complete:
                return
            last, verified, day = s.at, True, s.performed_on or day
            failed = [i for i, ok in zip(active, passes, strict=True) if not ok]
            active = [i for i, ok in zip(active, passes, strict=True) if ok]
            if item in FIRST_ONLY:
                for inst in failed:  # a new meter that fails is not installed
                    self.add(Step(last + timedelta(days=r.uniform(1, 5)), [inst], "scrap", owner))
                return
            stage = "subsequent"
            lo, hi = INTERVAL[item or "nawi"]
            for inst in failed:
                self.failed(inst, owner, day, last, lo)
            nxt = day + timedelta(days=r.randint(lo, hi))
            for inst in list(active):
                if not self.between(inst, owner, last, nxt):
                    active.remove(inst)
            day = nxt

    def failed(self, inst: InstrumentPlan, owner: OwnerPlan, day: date, last: datetime, lo: int) -> None:
        """A failed instrument is barred: repaired and re-verified, scrapped, or left barred."""
        r = self.rng
        if day > self.today - timedelta(days=45):
            return  # barred, awaiting repair
        fate = r.random()
        if fate < 0.65 or inst.protected:
            s = self.composite(
                [inst], owner, day + timedelta(days=r.randint(5, 25)), last, "verify", "subsequent", [True]
            )
            if s is not None and s.complete:
                self.run(
                    [inst],
                    owner,
                    (s.performed_on or day) + timedelta(days=r.randint(lo, lo + 20)),
                    s.at,
                    "subsequent",
                    None,
                    verified=True,
                )
        elif fate < 0.85:
            self.add(Step(last + timedelta(days=r.uniform(3, 20)), [inst], "scrap", owner))
        # else left barred: the owner stopped using it

    def between(self, inst: InstrumentPlan, owner: OwnerPlan, after: datetime, before: date) -> bool:
        """Lifecycle events before the next verification; False when the instrument leaves the lot."""
        r = self.rng
        when = after + timedelta(days=r.uniform(20, max(21, (before - after.date()).days - 20)))
        if inst.protected or inst.item_code != "nawi" or when.date() >= self.today - timedelta(days=10):
            return True
        roll = r.random()
        if roll < 0.012:
            self.add(Step(when, [inst], "scrap", owner))
            return False
        here = self.district.get(id(inst), inst.owner.district)
        if roll < 0.03:
            others = [
                o
                for o in self.cast.owners
                if o.category == owner.category
                and o is not owner
                and o.approved_at is not None
                and o.approved_at < when
            ]
            if not others:
                return True
            new = r.choice(others)
            self.add(Step(when, [inst], "transfer", owner, target=new))
            moved = when
            if new.district != here:
                self.district[id(inst)] = new.district
                moved = when + timedelta(days=r.uniform(1, 3))
                self.add(
                    Step(
                        moved,
                        [inst],
                        "relocate",
                        new,
                        district=new.district,
                        location=f"{r.choice(nm.ROADS[new.district])}店",
                    )
                )
            self.run([inst], new, before, moved, "subsequent", None, verified=True)
            return False
        if roll < 0.045:
            d = r.choice([c for c in nm.DISTRICT_WEIGHTS if c != here])
            self.district[id(inst)] = d
            self.add(
                Step(
                    when,
                    [inst],
                    "relocate",
                    owner,
                    district=d,
                    location=f"{r.choice(nm.ROADS[d])}{r.choice(nm.MARKETS)}{r.randint(1, 60)}号摊位",
                )
            )
            self.run([inst], owner, before, when, "subsequent", None, verified=True)
            return False
        return True

    def demo_queue(self) -> None:
        """The demo owner's scales waiting at 徐汇区计量所: one applied, one recorded, one checked; and an
        EV charger applied for at the city institute."""
        demo = self.cast.demo_owner
        if demo is None:
            return
        mine = [i for i in self.cast.instruments if i.owner is demo]
        for inst, upto in zip(mine, STEPS[:3], strict=False):
            last = self.last[id(inst)]
            if last.action == "verify" and not last.complete:
                continue  # already in the queue
            day = self.today if upto == "apply" else self.today - timedelta(days=1)
            self.composite([inst], demo, day, last.at, "verify", "subsequent", [True], upto)
        charger = next((i for i in self.cast.instruments if i.procedure_code == "ev_charger_ac"), None)
        if charger is not None:  # the city institute's verifier sees its U and JJF 1094 decision live
            registered = self.last[id(charger)]
            self.composite([charger], charger.owner, self.today, registered.at, "verify", "initial", [True], "apply")


def _force_barred(t: _Timeline) -> None:
    """Make sure one instrument ends barred (its last verification a recent failure)."""
    ends = [
        (s, k)
        for s in t.last.values()
        if s.action == "verify" and s.complete
        for k, inst in enumerate(s.instruments)
        if t.last[id(inst)] is s
    ]
    if any(not s.passes[k] for s, k in ends):
        return
    scales = [(s, k) for s, k in ends if s.instruments[k].item_code == "nawi" and not s.instruments[k].protected]
    if scales or ends:
        s, k = (scales or ends)[-1]
        s.passes[k] = False


def timeline(cast: Cast, rng: random.Random, now: datetime, procedures: dict[str, Procedure]) -> list[Step]:
    """Every event of the demo history in the order it happened."""
    t = _Timeline(cast, rng, now)
    lots: dict[int, list[InstrumentPlan]] = {}
    for inst in cast.instruments:
        lots.setdefault(inst.lot, []).append(inst)
    forced = next(
        (
            lot
            for lot in lots.values()
            if lot[0].item_code in ("fuel_dispenser", "sphygmomanometer")
            and lot[0].registered_at.date() < cast.today - timedelta(days=240)
        ),
        None,
    )
    for lot in lots.values():
        t.lot(lot, lot is forced)
    t.demo_queue()
    _force_barred(t)
    for s in t.steps:  # readings last, once every verdict is settled
        if len(s.times) < 2:
            continue
        for inst, ok in zip(s.instruments, s.passes, strict=True):
            if s.action == "calibrate":
                s.readings.append(calibration_readings(inst.points, rng))  # type: ignore[arg-type]
            else:
                assert s.performed_on is not None and s.stage is not None
                s.readings.append(
                    verification_readings(
                        procedures[inst.procedure_code or ""],
                        s.performed_on,
                        s.stage,
                        inst.parameters,
                        inst.points,
                        ok,
                        rng,
                    )
                )
    return sorted(t.steps, key=lambda s: (s.at, s.order))
