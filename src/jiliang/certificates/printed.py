"""A stored certificate as its printable PDF: the signed payload with what the page adds — its status
today, the absolute address of its public check (for the QR code), the names of its measurement
points and environment conditions (with their units) from their procedure, and its ledger leaf hash."""

from __future__ import annotations

import json
from datetime import date
from importlib.metadata import version
from typing import Any

from sqlalchemy import Connection, select

from ..errors import RuleViolation, Unavailable
from ..ledger.merkle import leaf_hash
from ..ledger.tables import ledger_leaves
from ..measurement.procedure import NoEditionInForce
from ..measurement.procedure_model import AMBIENT, MeasurementPoint
from ..platform import Platform, shanghai_today
from ..registry.institution_settings import printed_marks
from .dcc import PointInfo, dcc_xml
from .pades import sign_pdf
from .pdf import PrintedCertificate, render_pdf, zh
from .pki import institution_signing_material
from .service import status_on, verify_path

__all__ = ["certificate_dcc", "certificate_pdf", "printed_certificate"]


def _points(platform: Platform, record: dict[str, Any]) -> dict[str, MeasurementPoint]:
    """The record's measurement points in the edition it was made under, by id."""
    procedure = platform.procedures.get(record.get("procedure_code") or "")
    if procedure is None:
        return {}
    try:
        edition = procedure.edition_on(date.fromisoformat(str(record.get("performed_on"))))
    except (NoEditionInForce, ValueError):
        return {}
    return {p.id: p for p in edition.points}


def _leaf_hash(conn: Connection, number: str) -> str | None:
    data = conn.execute(
        select(ledger_leaves.c.data)
        .where(ledger_leaves.c.kind == "certificate", ledger_leaves.c.record_id == number)
        .order_by(ledger_leaves.c.idx.desc())
        .limit(1)
    ).scalar()
    return None if data is None else leaf_hash(bytes(data)).hex()


def printed_certificate(conn: Connection, platform: Platform, cert: Any) -> PrintedCertificate:
    payload = json.loads(cert.payload)
    procedure = platform.procedures.get((payload.get("record") or {}).get("procedure_code") or "")
    labels = {k: p.label_zh for k, p in _points(platform, payload.get("record") or {}).items()}
    authorisation_no, seal_png = printed_marks(conn, cert.institution_id)  # the institution's, as it stands
    return PrintedCertificate(
        payload=payload,
        status=status_on(cert, shanghai_today()),
        verify_url=platform.settings.public_url.rstrip("/") + verify_path(cert.number, cert.public_token),
        point_label=lambda point_id: labels.get(point_id, "测量点"),
        environment=procedure.environment if procedure else AMBIENT,
        leaf_hash=_leaf_hash(conn, cert.number),
        authorisation_no=authorisation_no,
        seal_png=seal_png,
    )


def certificate_pdf(conn: Connection, platform: Platform, cert: Any) -> bytes:
    """The printable certificate, signed (PAdES) with its institution's X.509 certificate."""
    printed = printed_certificate(conn, platform, cert)
    pdf = render_pdf(printed)
    material = institution_signing_material(conn, platform.settings.data_dir, cert.institution_id)
    if material is None:
        raise Unavailable(
            "机构尚无 PDF 签名证书，请运行 jiliang init / the institution has no PDF certificate: run jiliang init"
        )
    issuer = printed.payload.get("issuer") or {}
    return sign_pdf(
        pdf,
        material,
        reason=f"{zh(printed.payload.get('title'))} {cert.number}",
        location=zh(issuer.get("name")) or "上海",
        tsa_url=platform.settings.tsa_url,
    )


def certificate_dcc(platform: Platform, cert: Any) -> bytes:
    """The certificate as DCC XML (certificates/dcc.py), its points named and united by their procedure."""
    payload = json.loads(cert.payload)
    points = _points(platform, payload.get("record") or {})

    def info(point_id: str) -> PointInfo:
        p = points.get(point_id)
        if p is None:
            raise RuleViolation(
                "测量点不在规程中，不能导出 DCC / a point outside its procedure: no DCC export", rule="dcc_point"
            )
        return PointInfo(p.label_zh, p.label_en, p.unit)

    return dcc_xml(payload, info, version("jiliang"))
