"""The demo cast's parts: owners across Shanghai's districts and the kinds of instrument they register.

Pure (no database). `cast.py` assembles the cast; `timeline.py` turns it into dated events.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ..platform import SHANGHAI
from ..registry.credit_code import make_credit_code
from . import names as nm

__all__ = ["OwnerPlan", "InstrumentPlan", "Cast", "Builder", "at", "HISTORY_DAYS", "ITEM_SHARES", "CALIBRATIONS"]

HISTORY_DAYS = 3 * 365

# Share of each kind of instrument (the rest are non-automatic weighing instruments).
ITEM_SHARES = (
    ("fuel_dispenser", 0.11),
    ("sphygmomanometer", 0.09),
    ("water_meter", 0.08),
    ("gas_meter", 0.06),
    ("taximeter", 0.04),
    ("ev_charger", 0.03),
    ("gas_detector", 0.02),
    ("calibration", 0.02),
)
# Instruments per owner (min, max) by category.
SIZES = {
    "stall": (1, 2),
    "market": (1, 3),
    "supermarket": (3, 10),
    "petrol": (2, 8),
    "hospital": (3, 12),
    "clinic": (1, 3),
    "taxi": (2, 15),
    "water": (5, 40),
    "gas": (5, 30),
    "ev": (2, 8),
}
CREDIT_PREFIX = {"stall": "92", "hospital": "12", "clinic": "52"}  # else 91: a company
# Scales: (name, class, e, Max) in kg; test loads at Min, the MPE steps and Max (JJG 539 practice).
SCALES = {
    "price": (("电子计价秤", "III", "0.005", 15), ("电子计价秤", "III", "0.01", 30)),
    "platform": (("电子台秤", "III", "0.02", 60), ("电子台秤", "III", "0.05", 150)),
    "iiii": (("电子案秤", "IIII", "0.01", 10), ("电子案秤", "IIII", "0.02", 20)),
    "body": (("体重秤", "III", "0.05", 150),),
}
# Calibration orders (委托校准) outside the catalogue: name, use, owner categories, standard, (point, ref, U).
CALIBRATIONS = (
    (
        "精密压力表",
        "safety",
        ("petrol", "gas", "water"),
        "pressure",
        (("p1", "0.400", "0.0016"), ("p2", "0.800", "0.0016"), ("p3", "1.200", "0.0020"), ("p4", "1.600", "0.0020")),
    ),
    (
        "电子天平",
        "medical",
        ("hospital", "clinic"),
        "mass",
        (("m1", "10.0000", "0.00012"), ("m2", "100.0000", "0.00030"), ("m3", "200.0000", "0.00050")),
    ),
    (
        "温湿度计",
        "environment",
        ("supermarket", "market"),
        "temperature",
        (("t1", "0.0", "0.3"), ("t2", "20.0", "0.3"), ("t3", "40.0", "0.3")),
    ),
)


def at(day: date, hours: float) -> datetime:
    """A moment on a Shanghai calendar day (hours after midnight), as an aware UTC datetime."""
    local = datetime.combine(day, time(0), SHANGHAI) + timedelta(hours=hours)
    return local.astimezone(UTC)


@dataclass(eq=False)
class OwnerPlan:
    category: str
    name: str
    district: str
    address: str
    credit_code: str
    username: str
    contact: str
    registered_at: datetime
    approved_at: datetime | None  # None: left pending for the approval queue
    owner_id: int | None = None
    actor: Any = None  # jiliang.auth.Actor once registered


@dataclass(eq=False)
class InstrumentPlan:
    owner: OwnerPlan
    item_code: str | None
    type_name: str | None
    procedure_code: str | None
    name: str
    use: str
    manufacturer: str
    model: str
    serial_no: str
    parameters: dict[str, str]
    location: str
    points: tuple[tuple[str, ...], ...]  # verification: (point, reference); calibration: (point, reference, U)
    registered_at: datetime
    new: bool = False  # bought during the history window: its first verification is an initial one
    standard: str | None = None  # calibration: which kind of standard the laboratory uses
    protected: bool = False  # the demo owner's: never scrapped, transferred or moved
    lot: int = 0  # instruments registered and verified together (an owner's scales, a delivery of meters)
    id: int | None = None


@dataclass
class Cast:
    today: date
    start: date
    owners: list[OwnerPlan] = field(default_factory=list)
    pending: list[OwnerPlan] = field(default_factory=list)
    instruments: list[InstrumentPlan] = field(default_factory=list)
    demo_owner: OwnerPlan | None = None


class Builder:
    def __init__(self, rng: random.Random, today: date, district_names: dict[str, str]) -> None:
        self.rng, self.today = rng, today
        self.start = today - timedelta(days=HISTORY_DAYS)
        self.district_names = district_names
        self.cast = Cast(today, self.start)
        self.names: set[str] = set()
        self.codes: set[str] = set()
        self.serial = 0
        self.district_cycle = list(nm.DISTRICT_WEIGHTS)

    # ------------------------------------------------------------------ owners
    def district(self) -> str:
        if self.district_cycle:  # the first owners visit every district once
            return self.district_cycle.pop(self.rng.randrange(len(self.district_cycle)))
        codes = list(nm.DISTRICT_WEIGHTS)
        return self.rng.choices(codes, weights=[nm.DISTRICT_WEIGHTS[c] for c in codes])[0]

    def owner_name(self, category: str, d: str) -> str:
        r, short = self.rng, nm.short_district(self.district_names[d])
        road = r.choice(nm.ROADS[d])
        if category == "stall":
            return (
                f"{self.district_names[d]}{nm.person_name(r)}{r.choice(nm.STALL_GOODS)}摊"
                f"（{road.removesuffix('路')}{r.choice(nm.MARKETS)}{r.randint(1, 80)}号摊位）"
            )
        if category == "market":
            return f"上海{road.removesuffix('路')}{r.choice(nm.MARKETS)}经营管理有限公司"
        if category == "supermarket":
            return f"上海{r.choice(nm.SUPERMARKET_BRANDS)}超市有限公司{road}店"
        if category == "petrol":
            return f"上海{r.choice(nm.PETROL_BRANDS)}石油销售有限公司{road.removesuffix('路')}加油站"
        if category == "hospital":
            return f"上海市{short}区{r.choice(nm.HOSPITAL_KINDS)}"
        if category == "clinic":
            return (
                f"上海{r.choice(('仁爱', '康宁', '济民', '同心', '瑞康', '安平', '华康', '博爱'))}"
                f"{r.choice(('门诊部', '中医门诊部', '口腔门诊部', '综合门诊部'))}"
            )
        if category == "taxi":
            return f"上海{r.choice(nm.TAXI_BRANDS)}{r.choice(('出租汽车', '汽车服务', '客运'))}有限公司"
        if category == "water":
            return f"上海{short}{r.choice(('自来水', '供水', '水务'))}有限公司"
        if category == "gas":
            return f"上海{short}{r.choice(('燃气', '燃气销售', '天然气管网'))}有限公司"
        return f"上海{r.choice(nm.EV_BRANDS)}新能源科技有限公司"

    def owner(self, category: str, district: str | None = None, pending: bool = False) -> OwnerPlan:
        r = self.rng
        d = district or self.district()
        name = self.owner_name(category, d)
        for _ in range(6):
            if name not in self.names:
                break
            name = self.owner_name(category, d)
        else:
            name = f"{name}（{len(self.names)}）"
        self.names.add(name)
        while True:
            body = CREDIT_PREFIX.get(category, "91") + d + nm.organisation_code(f"{r.randrange(10**8):08d}")
            code = make_credit_code(body)
            if code not in self.codes:
                self.codes.add(code)
                break
        if pending:
            registered = at(self.today - timedelta(days=r.randint(1, 20)), r.uniform(9, 17))
        elif r.random() < 0.75:  # on the platform from its launch
            registered = at(self.start - timedelta(days=r.randint(5, 60)), r.uniform(9, 17))
        else:
            registered = at(self.start + timedelta(days=r.randint(0, HISTORY_DAYS - 90)), r.uniform(9, 17))
        approved = None if pending else registered + timedelta(hours=r.uniform(12, 96))
        n = len(self.cast.owners) + len(self.cast.pending) + 1
        o = OwnerPlan(
            category,
            name,
            d,
            f"上海市{self.district_names[d]}{r.choice(nm.ROADS[d])}{r.randint(1, 1999)}号",
            code,
            f"owner-{n:05d}",
            nm.person_name(r),
            registered,
            approved,
        )
        (self.cast.pending if pending else self.cast.owners).append(o)
        return o

    def owners_for(self, category: str, budget: int) -> list[tuple[OwnerPlan, int]]:
        """Owners of a category sharing `budget` instruments (at least three owners when it allows)."""
        lo, hi = SIZES[category]
        cap = max(1, math.ceil(budget / 3))
        out = []
        while budget > 0:
            size = min(budget, self.rng.randint(min(lo, cap), min(hi, cap)))
            out.append((self.owner(category), size))
            budget -= size
        return out

    # ------------------------------------------------------------- instruments
    def instrument(
        self,
        owner: OwnerPlan,
        item: str | None,
        type_name: str | None,
        procedure: str | None,
        name: str,
        use: str,
        params: dict[str, str],
        location: str,
        points: tuple[tuple[str, ...], ...],
        **kw: Any,
    ) -> InstrumentPlan:
        r = self.rng
        maker, model = r.choice(nm.MAKERS.get(item or "", (("上海自动化仪表", "YB-150"), ("上海精科", "FA2204"))))
        assert owner.approved_at is not None
        first = owner.approved_at + timedelta(days=r.uniform(1, 20))
        new = first.date() > self.start or r.random() < 0.15
        if new and first.date() <= self.start:  # bought later, during the window
            first = at(self.start + timedelta(days=r.randint(10, HISTORY_DAYS - 40)), r.uniform(9, 17))
        self.serial += 1
        year = min(first.date().year, self.today.year) - (0 if new else r.randint(1, 6))
        serial = f"{''.join(ch for ch in model if ch.isalnum())[:4].upper()}{year}{self.serial:05d}{r.randint(0, 9)}"
        inst = InstrumentPlan(
            owner,
            item,
            type_name,
            procedure,
            name,
            use,
            maker,
            model,
            serial,
            params,
            location,
            points,
            first,
            new,
            **kw,
        )
        self.cast.instruments.append(inst)
        return inst

    def scale(self, owner: OwnerPlan, kind: str, use: str = "trade", **kw: Any) -> InstrumentPlan:
        name, cls, e, cap = self.rng.choice(SCALES[kind])
        ed = Decimal(e)
        steps = (20, 500, 2000) if cls == "III" else (10, 50, 200)
        loads = [ed * k for k in steps] + [Decimal(cap)]
        places = -ed.as_tuple().exponent  # type: ignore[operator]
        points = tuple(("load", f"{m:.{places}f}") for m in loads)
        where = {"trade": f"收银台{self.rng.randint(1, 12)}", "medical": f"门诊体检室{self.rng.randint(1, 6)}"}[use]
        if owner.category == "stall":
            where = "摊位"
        return self.instrument(
            owner,
            "nawi",
            "数字指示秤/电子计价秤",
            "nawi",
            name,
            use,
            {"accuracy_class": cls, "e": e},
            where,
            points,
            **kw,
        )

    def dispenser(self, owner: OwnerPlan, k: int) -> InstrumentPlan:
        return self.instrument(
            owner,
            "fuel_dispenser",
            "燃油加油机",
            "fuel_dispenser",
            "燃油加油机",
            "trade",
            {"resolution": "0.01"},
            f"{k}号加油机",
            (("volume", "20.00"),) * 3,
        )

    def sphygmomanometer(self, owner: OwnerPlan, k: int) -> InstrumentPlan:
        points = (
            ("zero", "0.0"),
            ("indication", "8.0"),
            ("indication", "16.0"),
            ("indication", "24.0"),
            ("indication", "32.0"),
        )
        return self.instrument(
            owner,
            "sphygmomanometer",
            "血压计和血压表",
            "sphygmomanometer",
            self.rng.choice(("台式血压计", "血压表")),
            "medical",
            {"resolution": "0.1"},
            f"{self.rng.choice(('内科', '外科', '急诊', '体检中心', '儿科'))}诊室{k}",
            points,
        )

    def meter(self, owner: OwnerPlan, item: str) -> InstrumentPlan:
        d, r = owner.district, self.rng
        home = (
            f"{r.choice(nm.ROADS[d])}{r.randint(1, 1500)}弄{r.randint(1, 60)}号{r.randint(1, 30)}0{r.randint(1, 4)}室"
        )
        if item == "water_meter":
            return self.instrument(
                owner,
                item,
                "饮用冷水水表 DN<=25",
                item,
                "饮用冷水水表",
                "trade",
                {"accuracy_class": "2", "resolution": "0.01", "water_temperature": "0.1-30"},
                home,
                (("Q1", "10.00"), ("Q2", "20.00"), ("Q3", "100.00")),
            )
        return self.instrument(
            owner,
            item,
            "膜式燃气表 (天然气)",
            item,
            "膜式燃气表",
            "trade",
            {"accuracy_class": "1.5", "resolution": "0.1"},
            home,
            (("qmin", "20.0"), ("qt", "50.0"), ("qmax", "100.0")),
        )
