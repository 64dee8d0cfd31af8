"""HTTP routes of the registry: login, owners, instruments, staff, standards, catalogue, procedures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from ..audit import history
from ..deps import ActorDep, ConnDep, PlatformDep
from ..errors import Forbidden
from ..listing import Credentials, Cursor, Offset, read_page
from ..platform import shanghai_today
from . import catalogue_admin, queries, service
from .access import ensure_instrument_visible
from .standards_list import list_standards

__all__ = ["router"]

router = APIRouter(prefix="/api")


@router.get("/catalogue", tags=["registry 登记"], summary="强检目录及检定周期 / mandatory catalogue with periods")
def get_catalogue(actor: ActorDep, conn: ConnDep) -> list[dict[str, Any]]:
    return queries.catalogue(conn)


class TypeCorrectionBody(BaseModel):
    source: str = Field(description="数据来源（必填）/ where the value comes from (required)")
    period_months: int | None = None
    service_life_months: int | None = None
    mode: str | None = None
    regulation: str | None = None
    note: str | None = None
    confidence: Literal["high", "medium", "low"] = "high"


@router.patch("/catalogue/types/{type_id}", tags=["registry 登记"], summary="更正检定周期（管理员）")
def correct_type(type_id: int, body: TypeCorrectionBody, actor: ActorDep, platform: PlatformDep) -> dict[str, int]:
    version = catalogue_admin.correct_catalogue_type(
        platform.uow(), actor, type_id, catalogue_admin.TypeCorrection(**body.model_dump())
    )
    return {"id": type_id, "version": version}


class NewTypeBody(TypeCorrectionBody):
    item_code: str
    name_zh: str
    name_en: str = ""


@router.post("/catalogue/types", tags=["registry 登记"], status_code=201)
def add_type(body: NewTypeBody, actor: ActorDep, platform: PlatformDep) -> dict[str, int]:
    data = body.model_dump()
    item, zh, en = data.pop("item_code"), data.pop("name_zh"), data.pop("name_en")
    tid = catalogue_admin.add_catalogue_type(
        platform.uow(), actor, item, zh, catalogue_admin.TypeCorrection(**data), en
    )
    return {"id": tid}


@router.get("/procedures", tags=["measurement 规程"], summary="检定规程与允许误差规则 / procedures and MPE rules")
def get_procedures(actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> list[dict[str, Any]]:
    return queries.procedures_overview(conn, platform.procedures)


@router.post(
    "/procedures/{code}/rules/{rule_id}/confirm",
    tags=["measurement 规程"],
    summary="确认未确认的规则（管理员）/ confirm an unconfirmed MPE rule",
)
def confirm_rule(code: str, rule_id: str, actor: ActorDep, platform: PlatformDep) -> dict[str, str]:
    catalogue_admin.confirm_rule(platform.uow(), actor, code, rule_id)
    return {"procedure": code, "rule": rule_id, "status": "confirmed"}


@router.get("/owners/pending", tags=["registry 登记"], summary="待审批的使用单位 / registrations awaiting approval")
def get_pending(actor: ActorDep, conn: ConnDep) -> list[dict[str, Any]]:
    return queries.pending_owners(conn, actor)


class Decision(BaseModel):
    approve: bool


@router.post("/owners/{owner_id}/decision", tags=["registry 登记"])
def decide(owner_id: int, body: Decision, actor: ActorDep, platform: PlatformDep) -> dict[str, Any]:
    service.decide_owner_registration(platform.uow(), actor, owner_id, body.approve)
    return {"owner_id": owner_id, "status": "approved" if body.approve else "rejected"}


class InstrumentBody(BaseModel):
    item_code: str | None = Field(
        description="目录项目代码；目录外器具（仅校准）为空 / catalogue item, None outside it"
    )
    name: str
    serial_no: str
    use: Literal["trade", "safety", "medical", "environment"]
    type_id: int | None = None
    procedure_code: str | None = None
    district_code: str | None = None
    manufacturer: str = ""
    model: str = ""
    software_version: str | None = None
    software_checksum: str | None = None
    parameters: dict[str, str] = {}
    zone: Literal["lingang", "airport"] | None = None
    location: str = ""
    owner_id: int | None = Field(None, description="仅管理员代为备案时使用 / admin registering for an owner")


@router.post("/instruments", tags=["registry 登记"], status_code=201, summary="强检备案 / register an instrument")
def add_instrument(body: InstrumentBody, actor: ActorDep, platform: PlatformDep) -> dict[str, int]:
    data = body.model_dump()
    owner_id = data.pop("owner_id")
    iid = service.register_instrument(platform.uow(), actor, service.InstrumentRegistration(**data), owner_id)
    return {"id": iid}


@router.get(
    "/instruments",
    tags=["registry 登记"],
    summary="可见的器具及其状态 / instruments you may see",
    response_model=list[dict[str, Any]],
)
def get_instruments(
    request: Request,
    credentials: Credentials,
    limit: Annotated[int, Query(ge=1, le=2**31 - 1)] = 200,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Response:
    limit = min(limit, 1000)
    today = shanghai_today()
    return read_page(
        request,
        credentials,
        lambda conn, actor: queries.instruments_page(conn, actor, today, limit, offset, cursor),
        limit,
        today,
    )


@router.get("/instruments/{instrument_id}", tags=["registry 登记"], summary="器具及其完整历史 / with its history")
def get_instrument(instrument_id: int, actor: ActorDep, conn: ConnDep) -> dict[str, Any]:
    return queries.instrument_detail(conn, actor, instrument_id, shanghai_today())


class Transfer(BaseModel):
    new_owner_credit_code: str


@router.post("/instruments/{instrument_id}/transfer", tags=["registry 登记"])
def transfer(instrument_id: int, body: Transfer, actor: ActorDep, platform: PlatformDep) -> dict[str, str]:
    service.transfer_instrument(platform.uow(), actor, instrument_id, body.new_owner_credit_code)
    return {"status": "transferred"}


class Relocation(BaseModel):
    district_code: str
    location: str = ""


@router.post("/instruments/{instrument_id}/relocate", tags=["registry 登记"])
def relocate(instrument_id: int, body: Relocation, actor: ActorDep, platform: PlatformDep) -> dict[str, str]:
    service.relocate_instrument(platform.uow(), actor, instrument_id, body.district_code, body.location)
    return {"status": "relocated"}


@router.post("/instruments/{instrument_id}/scrap", tags=["registry 登记"])
def scrap(instrument_id: int, actor: ActorDep, platform: PlatformDep) -> dict[str, str]:
    service.scrap_instrument(platform.uow(), actor, instrument_id)
    return {"status": "scrapped"}


class UserBody(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=8)
    display_name: str
    roles: list[str]
    institution_id: int | None = None
    regulator_id: int | None = None


@router.post("/users", tags=["staff 人员"], status_code=201)
def add_user(body: UserBody, actor: ActorDep, platform: PlatformDep) -> dict[str, int]:
    uid = service.create_user(
        platform.uow(),
        actor,
        body.username,
        body.password,
        body.display_name,
        body.roles,
        body.institution_id,
        body.regulator_id,
    )
    return {"id": uid}


@router.get("/staff", tags=["staff 人员"], summary="本机构人员及资格 / staff and qualifications")
def get_staff(actor: ActorDep, conn: ConnDep) -> list[dict[str, Any]]:
    return queries.list_staff(conn, actor)


class QualificationBody(BaseModel):
    item_code: str
    certificate_no: str
    valid_from: date
    valid_until: date


@router.post("/users/{user_id}/qualifications", tags=["staff 人员"], status_code=201)
def add_qualification(user_id: int, body: QualificationBody, actor: ActorDep, platform: PlatformDep) -> dict:
    qid = service.grant_qualification(
        platform.uow(), actor, user_id, body.item_code, body.certificate_no, body.valid_from, body.valid_until
    )
    return {"id": qid}


class StandardBody(BaseModel):
    name: str
    examination_certificate_no: str
    examination_valid_until: date
    item_codes: list[str]
    institution_id: int | None = None


@router.get("/standards", tags=["standards 计量标准"])
def get_standards(actor: ActorDep, conn: ConnDep) -> list[dict[str, Any]]:
    return list_standards(conn, actor)


@router.post("/standards", tags=["standards 计量标准"], status_code=201)
def add_standard(body: StandardBody, actor: ActorDep, platform: PlatformDep) -> dict[str, int]:
    inst = body.institution_id if actor.has("admin") else actor.institution_id
    if inst is None:
        raise Forbidden("请指定机构 / name the institution")
    sid = service.add_standard(
        platform.uow(),
        actor,
        inst,
        body.name,
        body.examination_certificate_no,
        body.examination_valid_until,
        body.item_codes,
    )
    return {"id": sid}


class CalibrationBody(BaseModel):
    calibrated_by: str
    certificate_no: str
    calibrated_on: date
    due: date
    in_tolerance: bool = True
    expanded_uncertainty: str | None = Field(
        None, max_length=32, description="证书的扩展不确定度 U / the certificate's U"
    )
    coverage_factor: str | None = Field(None, max_length=8, description="包含因子 k")
    uncertainty_unit: str | None = Field(
        None, max_length=16, description="U 的单位，相对值用 % / the unit of U, % when relative"
    )


@router.post("/standards/{standard_id}/calibrations", tags=["standards 计量标准"], status_code=201)
def add_calibration(standard_id: int, body: CalibrationBody, actor: ActorDep, platform: PlatformDep) -> dict:
    cid = service.record_standard_calibration(platform.uow(), actor, standard_id, **body.model_dump())
    return {"id": cid}


@router.get("/audit/{record_type}/{record_id}", tags=["audit 审计"], summary="记录的变更历史 / a record's audit trail")
def audit_trail(record_type: str, record_id: str, actor: ActorDep, conn: ConnDep) -> list[dict[str, Any]]:
    actor.require("admin", "lab_manager", "regulator")
    events = history(conn, record_type, record_id)
    if actor.has("admin"):
        return events
    if actor.has("regulator") and record_type == "instrument" and record_id.isdigit():
        ensure_instrument_visible(conn, actor, int(record_id))  # its jurisdiction only
        return events
    if actor.institution_id is None:
        raise Forbidden("无权查看该记录的审计 / you may not read this audit trail")
    return [e for e in events if e["institution_id"] == actor.institution_id]
