"""A certificate as a PTB Digital Calibration Certificate (DCC 3.3.0, D-SI 2.2.1): what laboratories
abroad and upstream read by machine. Every number is a D-SI `si:real` (value and unit, the expanded
uncertainty with its coverage factor where the record has one), never text; names are given in
Chinese and English. Built from the signed payload (its values as exact decimal text) and the
procedure's names and units of its measurement points.

A unit the D-SI cannot write is refused with its name rather than guessed (`DSI_UNITS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from ..errors import RuleViolation

__all__ = ["DCC", "DSI_UNITS", "SI", "PointInfo", "dcc_schema", "dcc_xml"]

DCC = "https://ptb.de/dcc"
SI = "https://ptb.de/si"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_VERSION = "3.3.0"

# the units of the shipped procedures as D-SI writes them (D-SI 2.2.1: a prefix is its own token)
DSI_UNITS = {
    "kg": r"\kilogram",
    "g": r"\gram",
    "°C": r"\degreecelsius",
    "K": r"\kelvin",
    "kWh": r"\kilo\watt\hour",
    "L": r"\litre",
    "m³": r"\metre\tothe{3}",
    "kPa": r"\kilo\pascal",
    "MPa": r"\mega\pascal",
    "s": r"\second",
    "km": r"\kilo\metre",
    "m": r"\metre",
    "%": r"\percent",
    "%LEL": r"\percent",  # of the lower explosive limit, named in the quantity
    "%FS": r"\percent",  # of full scale, named in the quantity
}


@dataclass(frozen=True)
class PointInfo:
    label_zh: str
    label_en: str
    unit: str  # the unit of its reference and indication


def _dsi(unit: str | None) -> str:
    found = DSI_UNITS.get((unit or "").strip())
    if found is None:
        raise RuleViolation(
            f"单位 {unit!r} 无法写成 D-SI 单位，不能导出 DCC / the unit {unit!r} has no D-SI form: no DCC export",
            rule="dcc_unit",
        )
    return found


def _e(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _text(parent: etree._Element, tag: str, zh: str | None, en: str | None = None) -> etree._Element:
    """A dcc textType: its content in Chinese and, when given, English."""
    el = _e(parent, DCC, tag)
    _e(el, DCC, "content", zh or "—", lang="zh")
    if en:
        _e(el, DCC, "content", en, lang="en")
    return el


def _halves(text: Any) -> tuple[str, str | None]:
    """A payload's "中文 / English" text as its two halves."""
    zh, _, en = str(text or "").partition(" / ")
    return zh, en or None


def _real(parent: etree._Element, value: str, unit: str, u: str | None = None, k: str | None = None) -> None:
    real = _e(parent, SI, "real")
    _e(real, SI, "value", value)
    _e(real, SI, "unit", unit)
    if u is not None:
        mu = _e(_e(real, SI, "measurementUncertaintyUnivariate"), SI, "expandedMU")
        _e(mu, SI, "valueExpandedMU", u)
        _e(mu, SI, "coverageFactor", k or "2")
        _e(mu, SI, "coverageProbability", "0.95")


def _quantity(
    parent: etree._Element,
    ref: str,
    zh: str,
    en: str,
    value: str,
    unit: str,
    u: str | None = None,
    k: str | None = None,
) -> etree._Element:
    q = _e(parent, DCC, "quantity", refType=ref)
    _text(q, "name", zh, en)
    _real(q, value, unit, u, k)
    return q


def _administrative(root: etree._Element, p: Mapping[str, Any], release: str) -> None:
    adm = _e(root, DCC, "administrativeData")
    software = _e(_e(adm, DCC, "dccSoftware"), DCC, "software")
    _text(software, "name", "jiliang 计量平台", "jiliang legal-metrology platform")
    _e(software, DCC, "release", release)
    core = _e(adm, DCC, "coreData")
    _e(core, DCC, "countryCodeISO3166_1", "CN")
    for lang in ("zh", "en"):
        _e(core, DCC, "usedLangCodeISO639_1", lang)
    _e(core, DCC, "mandatoryLangCodeISO639_1", "zh")
    _e(core, DCC, "uniqueIdentifier", str(p["number"]))
    performed = str((p.get("record") or {}).get("performed_on"))
    _e(core, DCC, "beginPerformanceDate", performed)
    _e(core, DCC, "endPerformanceDate", performed)
    _e(core, DCC, "performanceLocation", "laboratory")
    _e(core, DCC, "issueDate", str(p.get("issued_at", ""))[:10])
    inst = p.get("instrument") or {}
    item = _e(_e(adm, DCC, "items"), DCC, "item")
    _text(item, "name", inst.get("name"))
    if inst.get("manufacturer"):
        _text(_e(item, DCC, "manufacturer"), "name", inst.get("manufacturer"))
    if inst.get("model"):
        _e(item, DCC, "model", str(inst["model"]))
    ident = _e(_e(item, DCC, "identifications"), DCC, "identification")
    _e(ident, DCC, "issuer", "manufacturer")
    _e(ident, DCC, "value", str(inst.get("serial_no") or "—"))
    _text(ident, "name", "出厂编号", "serial number")
    issuer = p.get("issuer") or {}
    lab = _e(adm, DCC, "calibrationLaboratory")
    _e(lab, DCC, "calibrationLaboratoryCode", str(issuer.get("code")))
    contact = _e(lab, DCC, "contact")
    _text(contact, "name", issuer.get("name"))
    location = _e(contact, DCC, "location")
    _e(location, DCC, "city", "上海市")
    _e(location, DCC, "countryCode", "CN")
    persons = _e(adm, DCC, "respPersons")
    signatories = p.get("signatories") or {}
    for key, zh, en in (
        ("verifier", "检定/校准员", "verifier"),
        ("checker", "核验员", "checker"),
        ("approver", "批准人", "approver"),
    ):
        person = _e(persons, DCC, "respPerson")
        _text(_e(person, DCC, "person"), "name", signatories.get(key))
        _e(person, DCC, "role", f"{zh} / {en}")
        if key == "approver":
            _e(person, DCC, "mainSigner", "true")
    owner = p.get("owner") or {}
    customer = _e(adm, DCC, "customer")
    _text(customer, "name", owner.get("name"))
    where = _e(customer, DCC, "location")
    if owner.get("address"):
        _e(where, DCC, "street", str(owner["address"]))
    _e(where, DCC, "countryCode", "CN")
    statement = _e(_e(adm, DCC, "statements"), DCC, "statement")
    record = p.get("record") or {}
    if record.get("regulation"):
        _e(statement, DCC, "norm", str(record["regulation"]))
    conclusion_zh, conclusion_en = _halves(p.get("conclusion"))
    _text(statement, "declaration", conclusion_zh, conclusion_en)
    if p.get("valid_until"):
        _e(statement, DCC, "date", str(p["valid_until"]))
    if record.get("verdict") in ("pass", "fail"):
        _e(statement, DCC, "conformity", str(record["verdict"]))


def _results(root: etree._Element, p: Mapping[str, Any], point_info: Callable[[str], PointInfo]) -> None:
    record = p.get("record") or {}
    result_set = _e(_e(root, DCC, "measurementResults"), DCC, "measurementResult")
    _text(result_set, "name", "检定/校准结果", "results")
    method = _e(_e(result_set, DCC, "usedMethods"), DCC, "usedMethod")
    _text(method, "name", str(record.get("regulation") or "—"))
    rule_zh, rule_en = _halves(record.get("decision_rule"))
    _text(method, "description", rule_zh, rule_en)
    results = _e(result_set, DCC, "results")
    for pt in p.get("points") or []:
        info = point_info(str(pt.get("point_id")))
        unit = _dsi(info.unit)
        result = _e(results, DCC, "result", refType="basic_measurementResult")
        _text(
            result,
            "name",
            f"{int(pt.get('seq', 0)) + 1}. {info.label_zh}",
            f"{int(pt.get('seq', 0)) + 1}. {info.label_en}",
        )
        table = _e(_e(result, DCC, "data"), DCC, "list")
        _quantity(table, "basic_referenceValue", "标准值", "reference value", str(pt["reference"]), unit)
        _quantity(table, "basic_measuredValue", "示值", "indication", str(pt["indication"]), unit)
        error_value = str(pt.get("corrected_error") or pt["error"])
        # the MPE, U and verdict belong to the error as compared: relative (in %) where the MPE is relative
        mpe_unit = _dsi(pt["mpe_unit"]) if pt.get("mpe_unit") else unit
        relative = mpe_unit != unit and pt.get("relative_error_percent") is not None
        u = pt.get("expanded_uncertainty")
        u_unit = _dsi((pt.get("uncertainty") or {}).get("unit") or pt.get("mpe_unit") or info.unit) if u else None
        compared_unit = mpe_unit if relative else unit
        on_compared = None if u is None or u_unit != compared_unit else str(u)
        k = str(pt.get("coverage_factor") or "2")
        compared = _quantity(
            table, "basic_measurementError", "误差", "error", error_value, unit, None if relative else on_compared, k
        )
        if relative:
            compared = _quantity(
                table,
                "basic_relativeMeasurementError",
                "相对误差",
                "relative error",
                str(pt["relative_error_percent"]),
                mpe_unit,
                on_compared,
                k,
            )
        if u is not None and on_compared is None and u_unit is not None:  # U of another quantity: kept apart
            _quantity(
                table,
                "basic_expandedUncertainty",
                f"扩展不确定度（k={k}）",
                f"expanded uncertainty (k={k})",
                str(u),
                u_unit,
            )
        if pt.get("mpe_lower") is not None:
            for ref, zh, en, key in (
                ("basic_toleranceLimitLower", "最大允许误差下限", "lower MPE", "mpe_lower"),
                ("basic_toleranceLimitUpper", "最大允许误差上限", "upper MPE", "mpe_upper"),
            ):
                _quantity(table, ref, zh, en, str(pt[key]), mpe_unit)
        if pt.get("conforms") is not None:
            meta = _e(_e(compared, DCC, "measurementMetaData"), DCC, "metaData", refType="basic_conformity")
            _text(meta, "declaration", "与最大允许误差比较", "compared with the MPE")
            _e(meta, DCC, "conformity", "pass" if pt["conforms"] else "fail")


def dcc_xml(payload: Mapping[str, Any], point_info: Callable[[str], PointInfo], release: str) -> bytes:
    """The certificate as DCC 3.3.0 XML (UTF-8 bytes)."""
    root = etree.Element(
        f"{{{DCC}}}digitalCalibrationCertificate",
        {
            f"{{{XSI}}}schemaLocation": f"{DCC} https://ptb.de/dcc/v{SCHEMA_VERSION}/dcc.xsd",
            "schemaVersion": SCHEMA_VERSION,
        },
        nsmap={"dcc": DCC, "si": SI, "xsi": XSI},
    )
    _administrative(root, payload, release)
    _results(root, payload, point_info)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def dcc_schema(folder: Path) -> Any:
    """The DCC schema from `folder` (dcc.xsd with the D-SI, XML-DSig and QUDT schemas it imports, as in
    ../shared/reference/dcc), resolved from those files alone: nothing is fetched."""
    import xmlschema

    return xmlschema.XMLSchema(
        str(folder / "dcc.xsd"),
        allow="local",
        locations=[
            ("https://ptb.de/si", str(folder / "SI_Format.xsd")),
            ("http://www.w3.org/2000/09/xmldsig#", str(folder / "xmldsig-core-schema.xsd")),
            ("http://qudt.org/vocab/", str(folder / "quantitykind.xsd")),
        ],
    )
