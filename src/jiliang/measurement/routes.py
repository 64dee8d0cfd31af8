"""HTTP routes of the measurement engine: evaluate an uncertainty budget (logged-in users) and the
budget file format as a JSON Schema (public: it is a published format)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from ..auth import Actor
from ..deps import ActorDep, ConnDep
from ..errors import Forbidden, InvalidInput
from ..registry.tables import owners
from .uncertainty import BudgetError, budget_schema, evaluate_report, parse_budget

__all__ = ["API_MAX_TRIALS", "OWNER_MAX_TRIALS", "router", "public_router"]

API_MAX_TRIALS = 5_000_000  # one request may not hold a worker for more than a second or so
OWNER_MAX_TRIALS = 1_000_000  # an instrument owner's account: enough for a budget, not for a load
API_MAX_VALUES = 50_000_000  # trials × (inputs + intermediates + measurands): about 400 MB of samples
SCHEMA_PATH = "/public/schemas/uncertainty-budget-2.json"
SCHEMA_1_PATH = "/public/schemas/uncertainty-budget-1.json"  # format 1 is still read, with its meaning

router = APIRouter(prefix="/api/uncertainty", tags=["measurement 测量不确定度"])
public_router = APIRouter(tags=["public 公开查询"])


class EvaluateBody(BaseModel):
    budget: dict[str, Any] = Field(description=f"不确定度评定 / an uncertainty budget, format {SCHEMA_PATH}")
    method: Literal["gum", "mcm", "both"] = "gum"
    parameters: dict[str, float | list[float]] = Field(
        default_factory=dict, description="预算参数 / values of the budget's parameters"
    )
    trials: int | None = Field(None, ge=10_000, le=API_MAX_TRIALS, description="蒙特卡洛次数；缺省为自适应 / M")
    seed: int | None = Field(None, ge=0, description="随机种子 / seed for a reproducible Monte Carlo run")


def _trials_cap(conn: Connection, actor: Actor) -> int:
    """Monte Carlo is heavy work: staff of institutions and regulators up to API_MAX_TRIALS, an approved
    owner's users up to OWNER_MAX_TRIALS, an owner awaiting approval not at all."""
    if actor.has("verifier", "checker", "approver", "lab_manager", "regulator", "admin"):
        return API_MAX_TRIALS
    status = None
    if actor.owner_id is not None:
        status = conn.execute(select(owners.c.status).where(owners.c.id == actor.owner_id)).scalar_one_or_none()
    if status != "approved":
        raise Forbidden(
            "使用单位注册批准后方可进行蒙特卡洛评定 / Monte Carlo is open once the owner's registration is approved",
            rule="account_not_approved",
        )
    return OWNER_MAX_TRIALS


@router.post("/evaluate", summary="评定测量不确定度 / evaluate an uncertainty budget (GUM, Monte Carlo or both)")
def evaluate(body: EvaluateBody, actor: ActorDep, conn: ConnDep) -> dict[str, Any]:
    heavy = body.method != "gum"
    role_cap = _trials_cap(conn, actor) if heavy else API_MAX_TRIALS
    try:
        budget = parse_budget(body.budget, body.parameters)
        arrays = len(budget.inputs) + len(budget.intermediates) + len(budget.measurands)
        cap = min(role_cap, API_MAX_VALUES // arrays)
        if body.method != "gum" and (body.trials or budget.monte_carlo.trials or 0) > cap:
            raise BudgetError("trials", f"at most {cap:,} trials for a budget of {arrays} quantities here")
        return evaluate_report(budget, body.method, body.trials, body.seed, cap)
    except BudgetError as exc:
        raise InvalidInput(f"不确定度评定有误 / budget problem: {exc}", rule="budget") from None


@public_router.get(SCHEMA_PATH, summary="不确定度评定文件格式 / the budget file format (JSON Schema)")
def schema() -> dict[str, Any]:
    return budget_schema(2)


@public_router.get(SCHEMA_1_PATH, summary="不确定度评定文件格式 1 / the budget file format 1 (JSON Schema)")
def schema_1() -> dict[str, Any]:
    return budget_schema(1)
