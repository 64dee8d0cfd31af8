"""HTTP routes of the workflow: apply, task queue, record results, check, approve."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from ..auth import confirm_password
from ..deps import ActorDep, ConnDep, PlatformDep
from ..listing import Credentials, Cursor, read_page
from ..platform import shanghai_today
from . import queries, service

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["verification 检定流程"])


class ApplicationBody(BaseModel):
    instrument_ids: list[int] = Field(min_length=1)
    kind: Literal["verification", "calibration"] = "verification"
    conformity_statement: bool = Field(True, description="校准时是否需要符合性判定 / calibration: want a pass/fail")
    note: str = ""


@router.post("/applications", status_code=201, summary="申请检定或校准 / apply for verification or calibration")
def apply(body: ApplicationBody, actor: ActorDep, platform: PlatformDep) -> dict[str, Any]:
    task_ids = service.apply(
        platform.uow(), actor, body.instrument_ids, body.kind, body.conformity_statement, body.note
    )
    return {"task_ids": task_ids}


@router.get(
    "/tasks",
    summary="任务队列（管理员：所有机构）/ your institution's task queue (an administrator: every institution's)",
    response_model=list[dict[str, Any]],
)
def get_tasks(
    request: Request,
    credentials: Credentials,
    state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=2**31 - 1)] = 200,
    cursor: Cursor = None,
) -> Response:
    limit = min(limit, 1000)
    return read_page(
        request,
        credentials,
        lambda conn, actor: queries.tasks_page(conn, actor, state, limit, cursor),
        limit,
        shanghai_today(),
    )


@router.get("/tasks/{task_id}")
def get_task(task_id: int, actor: ActorDep, conn: ConnDep) -> dict[str, Any]:
    return queries.task_detail(conn, actor, task_id)


class Reading(BaseModel):
    # lengths as stored (verification/tables.py measurement_points): longer text is refused, not truncated
    point_id: str = Field(max_length=32)
    reference: str = Field(max_length=32, description="标准值（十进制文本）/ reference value as decimal text")
    indication: str = Field(max_length=32, description="被检示值 / the instrument's indication")
    expanded_uncertainty: str | None = Field(None, max_length=32)
    coverage_factor: str | None = Field(None, max_length=8)
    added_load: str | None = Field(
        None,
        max_length=32,
        description="闪变点法附加砝码 ΔL（d = e 的秤）/ changeover-point additional load ΔL (scales with d = e)",
    )
    position: str | None = Field(
        None, max_length=16, description="偏载测试的加载位置 / eccentricity: position of the load"
    )
    indication_after: str | None = Field(
        None,
        max_length=32,
        description="鉴别力测试加放附加载荷后的示值 / discrimination: indication after the extra load",
    )


class ResultsBody(BaseModel):
    password: str = Field(description="检定员再次输入密码以签名 / the verifier re-enters the password to sign")
    performed_on: date
    standard_ids: list[int]
    readings: list[Reading] = Field(min_length=1)
    stage: Literal["initial", "subsequent", "in_service"] | None = None
    environment: dict[str, str] = {}
    institution_valid_until: date | None = None


@router.post("/tasks/{task_id}/results", status_code=201, summary="录入检定结果并签名 / record and sign results")
def record(task_id: int, body: ResultsBody, actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> dict:
    conf = confirm_password(conn, actor, body.password, platform)
    data = body.model_dump(exclude={"password"})
    data["readings"] = [service.ReadingInput(**r) for r in data["readings"]]
    rid = service.record_results(platform.uow(), conf, task_id, service.ResultsInput(**data))
    with platform.engine.connect() as c:
        return queries.record_detail(c, actor, rid)


@router.get("/records/{record_id}", summary="检定记录（含各点误差与签名）/ a record with points and sign-offs")
def get_record(record_id: int, actor: ActorDep, conn: ConnDep) -> dict[str, Any]:
    return queries.record_detail(conn, actor, record_id)


class CheckBody(BaseModel):
    password: str
    accept: bool = True
    remark: str = ""


@router.post("/records/{record_id}/check", summary="核验并签名 / check and sign")
def check(record_id: int, body: CheckBody, actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> dict:
    conf = confirm_password(conn, actor, body.password, platform)
    service.check_record(platform.uow(), conf, record_id, body.accept, body.remark)
    return {"record_id": record_id, "status": "checked" if body.accept else "returned"}


class ApproveBody(BaseModel):
    password: str


@router.post("/records/{record_id}/approve", summary="批准并出具证书 / approve and issue the certificate")
def approve(record_id: int, body: ApproveBody, actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> dict:
    conf = confirm_password(conn, actor, body.password, platform)
    number = service.approve_record(platform.uow(), conf, record_id)
    return {"record_id": record_id, "status": "approved", "certificate": number}
