"""The demo cast: how many instruments of each kind, which owners hold them, and the lots they come in.

Pure (no database): the same seed and the same day give the same owners and instruments.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from . import names as nm
from .plan import CALIBRATIONS, ITEM_SHARES, Builder, Cast, InstrumentPlan, at

__all__ = ["cast_for"]


def _budgets(n: int) -> dict[str, int]:
    budget = {k: round(n * share) for k, share in ITEM_SHARES}
    if n >= 40:
        budget["calibration"] = max(3, budget["calibration"])
    while sum(budget.values()) > n:  # tiny demos: drop the rarer kinds first
        k = next(k for k, _ in reversed(ITEM_SHARES) if budget[k] > 0)
        budget[k] -= 1
    budget["nawi"] = n - sum(budget.values())
    return budget


def cast_for(n: int, rng: random.Random, today: date, district_names: dict[str, str]) -> Cast:
    """Owners and `n` instruments with the demo's mix; the demo owner is a Xuhui supermarket."""
    b = Builder(rng, today, district_names)
    budget = _budgets(n)
    nawi = budget["nawi"]
    if nawi > 0:
        demo = b.cast.demo_owner = b.owner("supermarket", "310104")
        b.district_cycle.remove("310104")
        demo.username = "demo-owner"
        demo.registered_at = at(b.start - timedelta(days=45), 10.5)
        demo.approved_at = demo.registered_at + timedelta(days=1)
        for _ in range(min(8, max(1, nawi // 8))):
            b.scale(demo, rng.choice(("price", "price", "platform")), protected=True)
        nawi -= min(8, max(1, nawi // 8))
    medical = round(nawi * 0.06) if budget["sphygmomanometer"] else 0
    markets = round(nawi * 0.08)
    supermarkets = round(nawi * 0.42)
    for owner, size in b.owners_for("stall", nawi - medical - markets - supermarkets):
        for _ in range(size):
            b.scale(owner, rng.choice(("price", "price", "iiii")))
    for owner, size in b.owners_for("market", markets):
        for _ in range(size):
            b.scale(owner, rng.choice(("price", "platform")))
    for owner, size in b.owners_for("supermarket", supermarkets):
        for _ in range(size):
            b.scale(owner, rng.choice(("price", "price", "price", "platform", "iiii")))
    stations = b.owners_for("petrol", budget["fuel_dispenser"])
    for owner, size in stations:
        for k in range(size):
            b.dispenser(owner, k + 1)
    hospitals = b.owners_for("hospital", math.ceil(budget["sphygmomanometer"] * 0.65))
    for owner, size in hospitals + b.owners_for("clinic", budget["sphygmomanometer"] - sum(s for _, s in hospitals)):
        for k in range(size):
            b.sphygmomanometer(owner, k + 1)
    for k in range(medical):
        b.scale(hospitals[k % len(hospitals)][0], "body", use="medical")
    for item, category in (("water_meter", "water"), ("gas_meter", "gas")):
        for owner, size in b.owners_for(category, budget[item]):
            for _ in range(size):
                b.meter(owner, item)
    for owner, size in b.owners_for("taxi", budget["taximeter"]):
        for _ in range(size):
            plate = f"沪{rng.choice('ABDEFGHJKLMN')}{rng.randint(10000, 99999)}"
            b.instrument(owner, "taximeter", "出租汽车计价器", None, "出租汽车计价器", "trade", {}, f"车牌 {plate}", ())
    for owner, size in b.owners_for("ev", budget["ev_charger"]):
        for k in range(size):
            kind = rng.choice(("电动汽车交流充电桩", "电动汽车交流充电桩", "电动汽车非车载充电机"))
            b.instrument(
                owner,
                "ev_charger",
                kind,
                "ev_charger_ac" if kind == "电动汽车交流充电桩" else "ev_charger_dc",
                kind.removeprefix("电动汽车"),
                "trade",
                {"accuracy_class": "2" if k % 4 == 3 else "1", "resolution": "0.01"},
                f"{rng.choice(nm.ROADS[owner.district])}公共充电站{k + 1}号桩",
                (),
            )
    detector_owners = [o for o, _ in stations] or [b.owner("petrol")]
    for k in range(budget["gas_detector"]):
        b.instrument(
            detector_owners[k % len(detector_owners)],
            "gas_detector",
            None,
            None,
            "可燃气体检测报警器",
            "safety",
            {},
            "油罐区",
            (),
        )
    for k in range(budget["calibration"]):
        name, use, categories, standard, points = CALIBRATIONS[k % len(CALIBRATIONS)]
        hosts = [o for o in b.cast.owners if o.category in categories] or b.cast.owners
        b.instrument(rng.choice(hosts), None, None, None, name, use, {}, "实验室", points, standard=standard)
    for _ in range(max(2, len(b.cast.owners) // 40)):
        b.owner(rng.choice(("stall", "supermarket", "clinic", "petrol")), pending=True)
    _lots(b.cast)
    return b.cast


def _lots(cast: Cast) -> None:
    """An owner's instruments of one item that were there at the launch come as one lot (registered
    together, verified on the same day); meters come in deliveries of up to 12; later purchases alone."""
    groups: dict[tuple[int, str | None, bool], list[InstrumentPlan]] = {}
    for inst in cast.instruments:
        meter = inst.item_code in ("water_meter", "gas_meter")
        groups.setdefault((id(inst.owner), inst.item_code, inst.new and not meter), []).append(inst)
    lot = 0
    for (_, item, alone), members in groups.items():
        size = 1 if alone or item is None else 12
        members.sort(key=lambda i: i.registered_at)
        for k in range(0, len(members), size):
            lot += 1
            first = members[k].registered_at
            for j, inst in enumerate(members[k : k + size]):
                inst.lot, inst.registered_at = lot, first + timedelta(minutes=3 * j)
