"""HTTP route that records a standard's calibration certificate from its DCC file
(registry/dcc_calibration.py): who may, as for recording any calibration of a standard — its
institution's lab manager, or an administrator; another institution's standard is not there (404)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from ..deps import ActorDep, PlatformDep
from .dcc_calibration import MAX_INTERVAL_MONTHS, DccCalibration, import_dcc_calibration

__all__ = ["router", "ImportedDccCalibration"]

router = APIRouter(prefix="/api", tags=["standards 计量标准"])


class DccRangeOut(BaseModel):
    quantity: str = Field(description="量的名称（DCC 的中文，否则英文）/ the quantity's name as the DCC gives it")
    lower: str | None = Field(description="U 适用的点或范围的下限；未说明为 null / where U applies: lower end")
    upper: str | None = Field(description="上限；点则与下限相同 / upper end, equal to lower for a point")
    unit: str | None = Field(description="点或范围的单位 / the unit of the point or range")
    expanded_uncertainty: str = Field(description="扩展不确定度 U，按 DCC 所写 / U as the DCC writes it")
    coverage_factor: str = Field(description="包含因子 k")
    uncertainty_unit: str = Field(description="U 的单位 / the unit of U")


class DccSignatureOut(BaseModel):
    status: Literal["unsigned", "valid", "trusted"] = Field(
        description="unsigned 未签名；valid 签名有效（签名人证书未对照可信根）；trusted 且可追溯至给定根证书 / "
        "valid: the signature holds; trusted: and the signer's certificate chains to the given trust_root"
    )
    signed_by: str | None = Field(description="签名人证书的主题（RFC 4514）/ the signer's X.509 subject")
    certificate_valid_from: datetime | None = None
    certificate_valid_until: datetime | None = None


class ImportedDccCalibration(BaseModel):
    id: int = Field(description="校准记录编号 / the calibration's id")
    standard_id: int
    certificate_no: str = Field(description="DCC 的唯一编号 / the DCC's uniqueIdentifier")
    calibrated_by: str = Field(description="DCC 写明的校准实验室 / the calibration laboratory it names")
    calibrated_on: date = Field(description="校准日期（endPerformanceDate）/ the performance date")
    due: date = Field(description="有效期至：校准日期 + 校准间隔 − 1 天 / calibrated on + interval − 1 day")
    in_tolerance: bool
    current: bool = Field(description="成为该标准的当前校准（没有更晚的校准记录）/ the standard's current one now")
    expanded_uncertainty: str = Field(description="整份证书的 U：所给出的最大者 / the largest U stated")
    coverage_factor: str
    uncertainty_unit: str
    ranges: list[DccRangeOut] = Field(description="DCC 给出的每个 U 及其适用范围 / every U stated, where it applies")
    signature: DccSignatureOut
    notes: list[str] = Field(description="须知（中文 / English）/ what the user should know")

    @classmethod
    def of(cls, done: DccCalibration) -> ImportedDccCalibration:
        sig = done.signature
        return cls(
            id=done.calibration_id,
            standard_id=done.standard_id,
            certificate_no=done.certificate_no,
            calibrated_by=done.calibrated_by,
            calibrated_on=done.calibrated_on,
            due=done.due,
            in_tolerance=done.in_tolerance,
            current=done.current,
            expanded_uncertainty=done.expanded_uncertainty,
            coverage_factor=done.coverage_factor,
            uncertainty_unit=done.uncertainty_unit,
            ranges=[DccRangeOut(**r.__dict__) for r in done.ranges],
            signature=DccSignatureOut(
                status=sig.status,  # type: ignore[arg-type]
                signed_by=sig.subject,
                certificate_valid_from=sig.not_before,
                certificate_valid_until=sig.not_after,
            ),
            notes=list(done.notes),
        )


@router.post(
    "/standards/{standard_id}/calibrations/dcc",
    status_code=201,
    summary="导入计量标准的 DCC 校准证书（本机构实验室主任或管理员）/ import a standard's DCC calibration certificate",
    description="multipart/form-data：`file` DCC 3.3.0 XML，`interval_months` 本机构按 JJF 1139 确定的校准间隔"
    "（DCC 不给出有效期），可选 `trust_root` PEM 根证书。文件受平台请求大小上限约束（JILIANG_MAX_BODY_BYTES）。"
    " / `file` the DCC 3.3.0 XML, `interval_months` your recalibration interval (JJF 1139: a DCC carries no "
    "due date), optionally `trust_root` a PEM root the signer's certificate must chain to. The platform's "
    "request size limit applies (JILIANG_MAX_BODY_BYTES).",
)
def import_dcc(
    standard_id: int,
    file: Annotated[UploadFile, File(description="DCC 文件（XML）/ the DCC file (XML)")],
    interval_months: Annotated[
        int,
        Form(
            ge=1,
            le=MAX_INTERVAL_MONTHS,
            description="本机构按 JJF 1139 确定的校准间隔（月）/ your recalibration interval in months",
        ),
    ],
    actor: ActorDep,
    platform: PlatformDep,
    trust_root: Annotated[
        UploadFile | None, File(description="可信根证书（PEM），可选 / a trusted root CA (PEM), optional")
    ] = None,
) -> ImportedDccCalibration:
    data = file.file.read()  # bounded by the request guard (JILIANG_MAX_BODY_BYTES)
    root = (trust_root.file.read() or None) if trust_root is not None else None  # an empty part: none given
    done = import_dcc_calibration(platform.uow(), actor, standard_id, data, interval_months, root)
    return ImportedDccCalibration.of(done)
