"""Synthetic Shanghai demo data built through the real services, so every rule, audit record and
signature is genuine: staff and standards for every institution, owners in all 16 districts, their
instruments and about three years of verification history up to today, and the demo logins.

Deterministic for a seed (and the day it is run on: history is anchored to today).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from ..auth import Actor, hash_password, load_actor
from ..errors import RuleViolation
from ..platform import Platform, shanghai_today
from ..registry import service as registry
from ..registry.tables import districts, regulators, users
from ..types import clock_at, utcnow
from .cast import cast_for
from .plan import at
from .replay import Replay
from .staff import DEMO_INSTITUTION, DEMO_STAFF, staff_institutions
from .timeline import timeline

__all__ = ["DEMO_PASSWORD", "DemoLogin", "DemoReport", "generate_demo"]

DEMO_PASSWORD = "jiliang-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    description_zh: str
    description_en: str


@dataclass(frozen=True)
class DemoReport:
    seed: int
    logins: tuple[DemoLogin, ...]
    owners: int  # approved
    pending_owners: int
    instruments: int
    verifications: int  # approved verification records (passes and failures)
    certificates: int  # all issued: verification certificates, notices of non-conformity, calibration certificates
    failures: int  # notices of non-conformity
    calibrations: int
    open_tasks: int  # applied for and not yet issued: today's queue
    seconds: float

    def summary(self) -> str:
        return (
            f"演示数据 / demo data (seed {self.seed}): {self.owners} 使用单位 owners (+{self.pending_owners} 待审批 "
            f"pending), {self.instruments} 器具 instruments, {self.verifications} 次检定 verifications, "
            f"{self.certificates} 份证书 certificates ({self.failures} 不合格通知书 notices, {self.calibrations} "
            f"校准 calibrations), {self.open_tasks} 待办任务 open tasks — {self.seconds:.1f} s"
        )


LOGINS = (
    DemoLogin(
        "demo-owner",
        DEMO_PASSWORD,
        "owner_user",
        "使用单位（徐汇区超市）：备案器具、申请检定、下载电子证书",
        "owner (a Xuhui supermarket): registers instruments, applies for verification, downloads certificates",
    ),
    DemoLogin(
        DEMO_STAFF["verifier"],
        DEMO_PASSWORD,
        "verifier",
        "徐汇区计量所检定员：接收任务、录入检定数据",
        "verifier at the Xuhui Metrology Institute: takes tasks and records readings",
    ),
    DemoLogin(
        DEMO_STAFF["checker"],
        DEMO_PASSWORD,
        "checker",
        "徐汇区计量所核验员：核验检定记录",
        "checker at the Xuhui Metrology Institute: checks verification records",
    ),
    DemoLogin(
        DEMO_STAFF["approver"],
        DEMO_PASSWORD,
        "approver",
        "徐汇区计量所批准人：批准并签发证书",
        "approver at the Xuhui Metrology Institute: approves records and issues certificates",
    ),
    DemoLogin(
        DEMO_STAFF["lab_manager"],
        DEMO_PASSWORD,
        "lab_manager",
        "徐汇区计量所实验室主任：人员资质、计量标准",
        "lab manager at the Xuhui Metrology Institute: staff qualifications and measurement standards",
    ),
    DemoLogin(
        "simt-verifier1",
        DEMO_PASSWORD,
        "verifier",
        "上海市计量测试技术研究院检定员：电动汽车充电桩首次检定，录入时即见扩展不确定度和 JJF 1094 判定",
        "verifier at the city institute: an EV charger's first verification, with its uncertainty and "
        "JJF 1094 decision shown as readings are typed",
    ),
    DemoLogin(
        "demo-regulator-xuhui",
        DEMO_PASSWORD,
        "regulator",
        "徐汇区市场监管局：辖区强检覆盖、逾期与异常",
        "Xuhui Market Regulation Bureau: coverage, overdue instruments and anomalies in the district",
    ),
    DemoLogin(
        "demo-regulator-city",
        DEMO_PASSWORD,
        "regulator",
        "上海市市场监管局：全市强检监管",
        "Shanghai Administration for Market Regulation: city-wide supervision",
    ),
)
REGULATOR_LOGINS = {
    "demo-regulator-xuhui": ("SAMR-310104", "徐汇区市场监管局 演示账号"),
    "demo-regulator-city": ("SAMR-SH", "上海市市场监管局 演示账号"),
}


def generate_demo(
    platform: Platform, instruments: int, seed: int = 0, progress: Callable[[int, int], None] | None = None
) -> DemoReport:
    """Build the demo world with `instruments` instruments; `progress(done, total)` follows the instruments."""
    if instruments < 1:
        raise ValueError("instruments must be at least 1")
    started = time.perf_counter()
    today, now = shanghai_today(), utcnow()
    uow = platform.uow()
    with uow:
        conn = uow.conn
        if conn.execute(select(users.c.id).where(users.c.username == "demo-owner")).first() is not None:
            raise RuleViolation("演示数据已存在 / the demo data is already there", rule="duplicate")
        admin_id = conn.execute(select(users.c.id).where(users.c.username == "admin")).scalar_one_or_none()
        if admin_id is None:
            raise RuleViolation("请先运行 jiliang init / run `jiliang init` first", rule="not_initialised")
        admin = load_actor(conn, admin_id)
        district_names = dict(conn.execute(select(districts.c.code, districts.c.name_zh)).all())
        regulator_ids = dict(conn.execute(select(regulators.c.code, regulators.c.id)).all())

    cast = cast_for(instruments, random.Random(f"{seed}:cast"), today, district_names)
    steps = timeline(cast, random.Random(f"{seed}:history"), now, platform.procedures)
    total = len(cast.instruments)
    report = (lambda done: progress(done, total)) if progress else (lambda done: None)
    report(0)

    password_hash = hash_password(DEMO_PASSWORD)
    with uow:
        labs = staff_institutions(
            uow, admin, password_hash, DEMO_PASSWORD, random.Random(f"{seed}:staff"), cast.start, today
        )
        regulators_by_login: dict[str, Actor] = {}
        with clock_at(at(cast.start, -24 * 140)):
            for username, (code, name) in REGULATOR_LOGINS.items():
                uid = registry.create_user(
                    uow,
                    admin,
                    username,
                    DEMO_PASSWORD,
                    name,
                    ["regulator"],
                    regulator_id=regulator_ids[code],
                    password_hash=password_hash,
                )
                regulators_by_login[username] = load_actor(uow.conn, uid)
        uow.commit()
    assert any(lab.code == DEMO_INSTITUTION for lab in labs.values())

    xuhui = regulators_by_login["demo-regulator-xuhui"]
    replay = Replay(uow, labs, DEMO_PASSWORD, password_hash)
    replay.owners(cast, lambda district: xuhui if district == "310104" else admin)
    replay.run(steps, lambda i: report(round(i / len(steps) * total)))
    report(total)
    c = replay.counts
    return DemoReport(
        seed=seed,
        logins=LOGINS,
        owners=len(cast.owners),
        pending_owners=len(cast.pending),
        instruments=total,
        verifications=c.verifications,
        certificates=c.certificates,
        failures=c.failures,
        calibrations=c.calibrations,
        open_tasks=c.open_tasks,
        seconds=round(time.perf_counter() - started, 2),
    )
