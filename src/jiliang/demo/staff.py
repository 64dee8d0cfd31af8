"""Demo staff for every institution: a lab manager who creates the verifiers, checkers and approvers,
grants their qualifications and keeps the institution's standards calibrated over the history window."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from ..auth import Actor, load_actor
from ..db import UnitOfWork
from ..registry import service as registry
from ..registry.periods import add_months
from ..registry.tables import authorisations, catalogue_items, institutions
from ..types import clock_at
from . import names as nm
from .plan import at

__all__ = ["Lab", "DEMO_STAFF", "staff_institutions"]

# The demo logins at 徐汇区计量所 take these places in its staff.
DEMO_STAFF = {
    "lab_manager": "demo-manager",
    "verifier": "demo-verifier",
    "checker": "demo-checker",
    "approver": "demo-approver",
}
DEMO_INSTITUTION = "D310104"
# (verifiers, checkers, approvers) for the busiest institutions; one of each elsewhere, two verifiers in Xuhui.
HEADCOUNT = {"SIMT": (3, 2, 2), "D310115": (3, 2, 1), "D310112": (2, 1, 1), "D310113": (2, 1, 1), "D310104": (2, 1, 1)}
STANDARD_NAMES = {
    "nawi": "M1等级砝码标准装置",
    "fuel_dispenser": "二等标准金属量器（燃油加油机检定装置）",
    "sphygmomanometer": "血压计（表）检定装置",
    "water_meter": "水表检定装置（容积法）",
    "gas_meter": "钟罩式气体流量标准装置",
    "taximeter": "出租汽车计价器检定装置",
    "clinical_thermometer": "体温计检定用恒温槽标准装置",
    "ev_charger": "电动汽车充电桩检定装置",
    "gas_detector": "可燃气体检测报警器检定装置（气体标准物质）",
}
# The certificate uncertainty of the standards whose procedures carry a budget (synthetic demo values:
# a 0.05-class standard energy meter, U = 0.05 %, k = 2).
STANDARD_UNCERTAINTY = {"ev_charger": ("0.05", "2", "%")}
# Standards SIMT uses for calibration orders outside the catalogue (plan.CALIBRATIONS names their kind).
CALIBRATION_STANDARDS = {
    "pressure": "0.02级活塞式压力计标准装置",
    "mass": "E2等级砝码标准装置",
    "temperature": "温湿度标准装置（恒温恒湿箱）",
}


@dataclass
class Lab:
    institution_id: int
    code: str
    manager: Actor
    verifiers: list[Actor] = field(default_factory=list)
    checkers: list[Actor] = field(default_factory=list)
    approvers: list[Actor] = field(default_factory=list)
    standards: dict[str, int] = field(default_factory=dict)  # item code or calibration kind -> standard id


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def _calibrate(
    uow: UnitOfWork,
    lab: Lab,
    sid: int,
    by: str,
    start: date,
    today: date,
    rng: random.Random,
    number: _Counter,
    uncertainty: tuple[str, str, str] | None = None,
) -> None:
    """Yearly calibrations from before the window to today, each due a year later (continuous cover);
    `uncertainty` (U, k, unit) is what each certificate states, where the demo's procedures need it."""
    day = start - timedelta(days=rng.randint(65, 140))
    while day <= today:
        due = add_months(day, 12) - timedelta(days=1)
        with clock_at(at(day, rng.uniform(9, 17))):
            registry.record_standard_calibration(
                uow, lab.manager, sid, by, f"{day.year}-L{number():05d}", day, due, True, *(uncertainty or ())
            )
        day += timedelta(days=rng.randint(340, 364))


def staff_institutions(
    uow: UnitOfWork, admin: Actor, password_hash: str, password: str, rng: random.Random, start: date, today: date
) -> dict[int, Lab]:
    """Staff, qualifications and standards for every institution; returns the labs by institution id."""
    conn = uow.conn
    rows = conn.execute(select(institutions.c.id, institutions.c.code).order_by(institutions.c.id)).all()
    item_names = dict(conn.execute(select(catalogue_items.c.code, catalogue_items.c.name_zh)).all())
    labs: dict[int, Lab] = {}
    number, exam, cal_no = _Counter(), _Counter(), _Counter()
    founded = at(start - timedelta(days=150), 10)
    for iid, code in rows:
        items = sorted(
            conn.execute(select(authorisations.c.item_code).where(authorisations.c.institution_id == iid)).scalars()
        )
        demo = code == DEMO_INSTITUTION

        def user(role: str, k: int, by: Actor, iid: int = iid, code: str = code, demo: bool = demo) -> Actor:
            username = DEMO_STAFF[role] if demo and k == 1 else f"{code.lower()}-{role.replace('_', '-')}{k}"
            uid = registry.create_user(
                uow,
                by,
                username,
                password,
                nm.person_name(rng),
                [role],
                institution_id=iid,
                password_hash=password_hash,
            )
            return load_actor(conn, uid)

        with clock_at(founded + timedelta(hours=rng.uniform(0, 48))):
            lab = labs[iid] = Lab(iid, code, user("lab_manager", 1, admin))
            v, c, a = HEADCOUNT.get(code, (1, 1, 1))
            lab.verifiers = [user("verifier", k + 1, lab.manager) for k in range(v)]
            lab.checkers = [user("checker", k + 1, lab.manager) for k in range(c)]
            lab.approvers = [user("approver", k + 1, lab.manager) for k in range(a)]
            valid_from = start - timedelta(days=rng.randint(300, 500))
            for person in lab.verifiers + lab.checkers + lab.approvers:
                cert = f"沪计检字第{number():05d}号"
                for item in items:
                    registry.grant_qualification(
                        uow,
                        lab.manager,
                        person.user_id,
                        item,
                        cert,
                        valid_from,
                        add_months(valid_from, 60) - timedelta(days=1),
                    )
        by = "中国计量科学研究院" if code in ("SIMT", "SQI") else "上海市计量测试技术研究院"
        kinds = [(item, STANDARD_NAMES.get(item, f"{item_names[item]}检定装置"), [item]) for item in items]
        if code == "SIMT":
            kinds += [(kind, name, []) for kind, name in CALIBRATION_STANDARDS.items()]
        for key, name, served in kinds:
            issued = start - timedelta(days=rng.randint(150, 330))  # a 4-year certificate covering the window
            with clock_at(founded + timedelta(hours=rng.uniform(48, 72))):
                sid = registry.add_standard(
                    uow,
                    lab.manager,
                    iid,
                    name,
                    f"[{issued.year}]沪量标{code}证字第{exam():04d}号",
                    add_months(issued, 48) - timedelta(days=1),
                    served,
                )
            lab.standards[key] = sid
            _calibrate(uow, lab, sid, by, start, today, rng, cal_no, STANDARD_UNCERTAINTY.get(key))
    return labs
