"""Tasks whose procedure carries an uncertainty budget, built through the real services: an EV AC
charger (JJG 1148-2022, JJF 1094 decision rule, the standard energy meter's relative U) and a
thermometer sent for calibration (computed U with k = 2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from statistics import NormalDist

from jiliang.auth import Actor
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.verification import service as workflow
from tests.support import world

__all__ = [
    "K95",
    "BudgetTask",
    "budget_standards",
    "register_ev_charger",
    "register_thermometer",
    "ev_charger_task",
    "ev_u95",
    "thermometer_task",
    "thermometer_u",
    "two_digits_up",
]


@dataclass(frozen=True)
class BudgetTask:
    lab: world.Lab
    task_id: int
    instrument_id: int


def _calibrate_with_u(
    platform: Platform, lab: world.Lab, expanded: str, k: str, unit: str, standard_id: int | None = None
) -> None:
    """A newer calibration of the lab's standard (or `standard_id`) whose certificate states U (in force
    from yesterday)."""
    today = shanghai_today()
    sid = lab.standard_id if standard_id is None else standard_id
    registry.record_standard_calibration(
        platform.uow(),
        lab.manager,
        sid,
        "中国计量科学研究院",
        f"U-{sid}-{expanded}",
        today - timedelta(days=1),
        today + timedelta(days=360),
        True,
        expanded_uncertainty=expanded,
        coverage_factor=k,
        uncertainty_unit=unit,
    )


def register_ev_charger(platform: Platform, owner: Actor, serial_no: str, resolution: str = "0.01") -> int:
    """A class 1 EV AC charger in trade use (JJG 1148-2022)."""
    return registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code="ev_charger",
            name="电动汽车交流充电桩",
            serial_no=serial_no,
            use="trade",
            type_id=world.type_id(platform, "ev_charger", "电动汽车交流充电桩"),
            procedure_code="ev_charger_ac",
            parameters={"accuracy_class": "1", "resolution": resolution},
        ),
    )


def register_thermometer(platform: Platform, owner: Actor, serial_no: str) -> int:
    """A digital thermometer (outside the catalogue) to be calibrated by comparison."""
    return registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code=None,
            name="数字温度计",
            serial_no=serial_no,
            use="safety",
            procedure_code="thermometer_calibration",
            parameters={"resolution": "0.01"},
        ),
    )


def budget_standards(platform: Platform, lab: world.Lab) -> dict[str, int]:
    """Two more standards of the lab, calibrated with U from yesterday: "energy", a standard energy meter
    for EV chargers (relative U 0.2 %, k = 2), and "thermometer", a standard thermometer (U 0.02 °C, k = 2)."""
    out = {}
    for name, items, u, unit in (("energy", ["ev_charger"], "0.2", "%"), ("thermometer", [], "0.02", "°C")):
        sid = registry.add_standard(
            platform.uow(),
            lab.manager,
            lab.institution_id,
            name,
            f"[2024]沪量标{name}",
            shanghai_today() + timedelta(days=700),
            items,
        )
        _calibrate_with_u(platform, lab, u, "2", unit, sid)
        out[name] = sid
    return out


def ev_charger_task(
    platform: Platform, standard_U: str | None = "0.2", resolution: str = "0.01", lab_code: str = "SIMT"
) -> BudgetTask:
    """A class 1 AC charger due for verification (chargers go to the city institute, the first authorised
    laboratory across districts); its standard meter has relative U = standard_U %, k = 2."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, lab_code, ["ev_charger"])
    if standard_U is not None:
        _calibrate_with_u(platform, lab, standard_U, "2", "%")
    iid = register_ev_charger(platform, owner, f"EV{lab.standard_id}", resolution)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    return BudgetTask(lab, task, iid)


def thermometer_task(platform: Platform, standard_U: str = "0.02") -> BudgetTask:
    """A digital thermometer (outside the catalogue) sent to SIMT for calibration without a verdict; the
    standard thermometer's certificate gives U = standard_U °C with k = 2."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "SIMT", [])
    _calibrate_with_u(platform, lab, standard_U, "2", "°C")
    iid = register_thermometer(platform, owner, f"TH{lab.standard_id}")
    [task] = workflow.apply(platform.uow(), owner, [iid], kind="calibration", conformity_statement=False)
    return BudgetTask(lab, task, iid)


# --- hand computations: the expected U of the shipped budgets, worked out from their models ---------

K95 = NormalDist().inv_cdf(0.975)  # k for ν_eff = ∞ at p = 0.95: 1.959964…, reported as 1.96


def two_digits_up(value: float) -> Decimal:
    """U to two significant digits, rounded up (JJF 1059.1 §5.4)."""
    exponent = math.floor(math.log10(value)) - 1
    step = Decimal(1).scaleb(exponent)
    return (Decimal(repr(value)) / step).to_integral_value(rounding=ROUND_CEILING) * step


def ev_u95(reference: str, indication: str, resolution: str, standard_u_percent: str, standard_k: str) -> Decimal:
    """U95 of E = (E_x + δres − E_s)/E_s·100 % at δres = 0, E_x = indication, E_s = reference.

    ∂E/∂δres = 100/E_s with u(δres) = (resolution/2)/√3 (rectangular, half a step);
    ∂E/∂E_s = −100·E_x/E_s² with u(E_s) = (U_s/100)/k_s·E_s (the standard's relative U);
    E_x is read without uncertainty. All ν = ∞, so k = z₀.₉₇₅."""
    e_s, e_x = float(reference), float(indication)
    u_res = float(resolution) / 2 / math.sqrt(3)
    u_std = float(standard_u_percent) / 100 / float(standard_k) * e_s
    u_c = math.hypot(100 / e_s * u_res, 100 * e_x / e_s**2 * u_std)
    return two_digits_up(K95 * u_c)


def thermometer_u(resolution: str, standard_u: str, standard_k: str, uniformity: str, stability: str) -> Decimal:
    """U of E = t_x + δres − t_s + δuni + δstab, all sensitivities ±1, k = 2 (JJF 1059.1 §5.3.2):
    u(δres) = (resolution/2)/√3, u(t_s) = U_s/k_s, u(δuni) = a_uni/√3, u(δstab) = a_stab/√3."""
    parts = (
        float(resolution) / 2 / math.sqrt(3),
        float(standard_u) / float(standard_k),
        float(uniformity) / math.sqrt(3),
        float(stability) / math.sqrt(3),
    )
    return two_digits_up(2 * math.sqrt(sum(p * p for p in parts)))
