"""Tasks whose procedure carries an uncertainty budget, built through the real services: an EV AC
charger (JJG 1148-2022, JJF 1094 decision rule, the standard energy meter's relative U) and a
thermometer sent for calibration (computed U with k = 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.verification import service as workflow
from tests.support import world

__all__ = ["BudgetTask", "ev_charger_task", "thermometer_task"]


@dataclass(frozen=True)
class BudgetTask:
    lab: world.Lab
    task_id: int
    instrument_id: int


def _calibrate_with_u(platform: Platform, lab: world.Lab, expanded: str, k: str, unit: str) -> None:
    """A newer calibration of the lab's standard whose certificate states U (in force from yesterday)."""
    today = shanghai_today()
    registry.record_standard_calibration(
        platform.uow(),
        lab.manager,
        lab.standard_id,
        "中国计量科学研究院",
        f"U-{lab.standard_id}-{expanded}",
        today - timedelta(days=1),
        today + timedelta(days=360),
        True,
        expanded_uncertainty=expanded,
        coverage_factor=k,
        uncertainty_unit=unit,
    )


def ev_charger_task(
    platform: Platform, standard_U: str | None = "0.2", resolution: str = "0.01", lab_code: str = "SIMT"
) -> BudgetTask:
    """A class 1 AC charger due for verification (chargers go to the city institute, the first authorised
    laboratory across districts); its standard meter has relative U = standard_U %, k = 2."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, lab_code, ["ev_charger"])
    if standard_U is not None:
        _calibrate_with_u(platform, lab, standard_U, "2", "%")
    iid = registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code="ev_charger",
            name="电动汽车交流充电桩",
            serial_no=f"EV{lab.standard_id}",
            use="trade",
            type_id=world.type_id(platform, "ev_charger", "电动汽车交流充电桩"),
            procedure_code="ev_charger_ac",
            parameters={"accuracy_class": "1", "resolution": resolution},
        ),
    )
    [task] = workflow.apply(platform.uow(), owner, [iid])
    return BudgetTask(lab, task, iid)


def thermometer_task(platform: Platform, standard_U: str = "0.02") -> BudgetTask:
    """A digital thermometer (outside the catalogue) sent to SIMT for calibration without a verdict; the
    standard thermometer's certificate gives U = standard_U °C with k = 2."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "SIMT", [])
    _calibrate_with_u(platform, lab, standard_U, "2", "°C")
    iid = registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code=None,
            name="数字温度计",
            serial_no=f"TH{lab.standard_id}",
            use="safety",
            procedure_code="thermometer_calibration",
            parameters={"resolution": "0.01"},
        ),
    )
    [task] = workflow.apply(platform.uow(), owner, [iid], kind="calibration", conformity_statement=False)
    return BudgetTask(lab, task, iid)
