"""A PTB Digital Calibration Certificate (DCC 3.3.0, D-SI 2.2.1) read back into plain results: per
quantity its name, each value with its unit, its expanded uncertainty U and coverage factor k (as the
decimal text written), and the point or range that U applies to.

The document is checked first: well-formed XML, a DCC root of schema version 3.3.0, valid against the
schema shipped in jiliang/reference/dcc (resolved from those files alone), and its enveloped signature,
when it has one (dcc_signature.py); only what the signature covers is read.

Where a U applies (the DCC schema has no element for it; PTB's refType vocabulary names it):
1. the quantities `basic_validityRangeMin` / `basic_validityRangeMax` beside it in the same list: the
   range of each value;
2. else the `basic_referenceValue` beside it: the point it was measured at (in the reference's unit
   that matches the quantity's, for a D-SI hybrid given in several units);
3. else, for a reference value itself, its own value;
4. else the certificate's validity range (statement `basic_validityRange`), else none is stated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from .dcc import DCC, SI, dcc_schema
from .dcc_signature import SignatureCheck, verify_dcc_signature
from .dsi import DccError, DccRange, DccValue, representations, unit_text

__all__ = [
    "DccError",
    "DccQuantity",
    "DccRange",
    "DccValue",
    "ImportedDcc",
    "read_dcc",
    "shipped_schema",
    "unit_text",
]

MAX_BYTES = 20 * 1024 * 1024
SCHEMA_VERSION = "3.3.0"
_NS = {"dcc": DCC, "si": SI}
_LANGS = ("zh", "en")


@dataclass(frozen=True)
class DccQuantity:
    result: str  # the name of the result it belongs to
    name: str  # in the DCC's Chinese, else English, else its only text
    ref_type: str
    values: tuple[DccValue, ...]
    alternatives: tuple[tuple[DccValue, ...], ...] = ()  # the same values in other units (si:hybrid)

    @property
    def uncertain(self) -> tuple[DccValue, ...]:
        return tuple(v for v in self.values if v.expanded_uncertainty is not None)


@dataclass(frozen=True)
class ImportedDcc:
    unique_identifier: str
    laboratory: str  # the calibration laboratory's name
    begin: date
    end: date
    issue_date: date | None
    items: tuple[str, ...]  # what was calibrated
    quantities: tuple[DccQuantity, ...]
    signature: SignatureCheck
    validity_range: DccRange | None = None
    recalibration: date | None = None  # a date the DCC states for recalibration (a customer's wish)
    conformity: tuple[str, ...] = ()  # every conformity statement in it (pass, fail, …)

    @property
    def calibrated_on(self) -> date:
        """The performance date (its end, for a calibration over several days)."""
        return self.end


# --- reading --------------------------------------------------------------------------------------


def _text(parent: etree._Element | None, tag: str) -> str:
    """A dcc textType child's content in Chinese, else English, else the first given."""
    el = None if parent is None else parent.find(f"dcc:{tag}", _NS)
    if el is None:
        return ""
    contents = [(c.get("lang"), (c.text or "").strip()) for c in el.findall("dcc:content", _NS)]
    for lang in (*_LANGS, None):
        for got, text in contents:
            if got == lang and text:
                return text
    return next((text for _, text in contents if text), "")


def _tokens(el: etree._Element) -> set[str]:
    return set((el.get("refType") or "").split())


def _date(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text.strip()[:10])


@dataclass
class _Quantity:
    el: etree._Element
    name: str
    tokens: set[str]
    forms: list[list[DccValue]]

    def main(self) -> list[DccValue]:
        """The representation that carries U, else the first."""
        return next((f for f in self.forms if any(v.expanded_uncertainty for v in f)), self.forms[0])

    def in_unit(self, dsi: str) -> list[DccValue]:
        return next((f for f in self.forms if f and f[0].dsi_unit == dsi), self.forms[0])


def _groups(data: etree._Element) -> Iterator[etree._Element]:
    """The result's data and every dcc:list in it (lists of lists too): the quantities side by side in
    one are read together."""
    yield data
    for lst in data.findall("dcc:list", _NS):
        yield from _groups(lst)


def _at(values: Sequence[DccValue], i: int) -> DccValue | None:
    if len(values) == 1:
        return values[0]
    return values[i] if i < len(values) else None


def _where(q: _Quantity, i: int, value: DccValue, group: list[_Quantity], validity: DccRange | None) -> DccRange | None:
    lows = [g for g in group if "basic_validityRangeMin" in g.tokens]
    highs = [g for g in group if "basic_validityRangeMax" in g.tokens]
    if lows and highs:
        lo, hi = _at(lows[0].main(), i), _at(highs[0].main(), i)
        n = len(q.main())
        if lo and hi and len(lows[0].main()) in (1, n) and len(highs[0].main()) in (1, n):
            return DccRange(lo.value, hi.value, lo.unit)
        return None
    references = [g for g in group if "basic_referenceValue" in g.tokens and g is not q]
    if references:
        ref = references[0].in_unit(value.dsi_unit)
        at = _at(ref, i) if len(ref) in (1, len(q.main())) else None
        return None if at is None else DccRange(at.value, at.value, at.unit)
    if "basic_referenceValue" in q.tokens:
        return DccRange(value.value, value.value, value.unit)
    return validity


def _quantities(root: etree._Element, validity: DccRange | None) -> list[DccQuantity]:
    out = []
    results = root.findall("dcc:measurementResults/dcc:measurementResult/dcc:results/dcc:result", _NS)
    for result in results:
        title = _text(result, "name")
        data = result.find("dcc:data", _NS)
        if data is None:
            continue
        for group_el in _groups(data):
            group = [
                _Quantity(q, _text(q, "name"), _tokens(q), forms)
                for q in group_el.findall("dcc:quantity", _NS)
                if (forms := representations(q))
            ]
            for q in group:
                main = q.main()
                values = tuple(
                    DccValue(**{**v.__dict__, "applies_to": _where(q, i, v, group, validity)})
                    if v.expanded_uncertainty is not None
                    else v
                    for i, v in enumerate(main)
                )
                others = tuple(tuple(f) for f in q.forms if f is not main)
                out.append(DccQuantity(title, q.name or title, " ".join(sorted(q.tokens)), values, others))
    return out


def _validity(root: etree._Element) -> DccRange | None:
    for statement in root.findall("dcc:administrativeData/dcc:statements/dcc:statement", _NS):
        if "basic_validityRange" not in _tokens(statement):
            continue
        ends: dict[str, DccValue] = {}
        for q in statement.findall("dcc:data/dcc:quantity", _NS):
            forms = representations(q)
            for end in ("Min", "Max"):
                if f"basic_validityRange{end}" in _tokens(q) and forms and forms[0]:
                    ends[end] = forms[0][0]
        lo, hi = ends.get("Min"), ends.get("Max")
        if lo or hi:
            return DccRange(lo.value if lo else None, hi.value if hi else None, (lo or hi).unit)  # type: ignore[union-attr]
    return None


def _recalibration(root: etree._Element) -> date | None:
    for statement in root.findall("dcc:administrativeData/dcc:statements/dcc:statement", _NS):
        if "basic_recalibration" in _tokens(statement):
            return _date(statement.findtext("dcc:date", namespaces=_NS))
    return None


def _conformity(root: etree._Element) -> tuple[str, ...]:
    found: list[str] = []
    for tag in ("conformity", "conformityXMLList"):
        for el in root.iter(f"{{{DCC}}}{tag}"):
            found.extend((el.text or "").split())
    return tuple(found)


# --- checks ---------------------------------------------------------------------------------------


@cache
def shipped_schema() -> Any:
    """The DCC 3.3.0 schema shipped with jiliang (loaded once: it takes most of a second)."""
    return dcc_schema(Path(__file__).resolve().parent.parent / "reference" / "dcc")


def _parse(data: bytes) -> etree._Element:
    if len(data) > MAX_BYTES:
        raise DccError(f"文件超过 {MAX_BYTES // 2**20} MB / the file is larger than {MAX_BYTES // 2**20} MB")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DccError(f"不是格式正确的 XML 文件 / not a well-formed XML file: {exc}") from None
    if root.tag != f"{{{DCC}}}digitalCalibrationCertificate":
        raise DccError(
            f"不是 DCC：根元素是 {etree.QName(root).localname} / not a DCC: the root element is {root.tag}, "
            f"not digitalCalibrationCertificate of {DCC}"
        )
    got = root.get("schemaVersion")
    if got != SCHEMA_VERSION:
        raise DccError(
            f"DCC 模式版本 {got} 不受支持，只读 {SCHEMA_VERSION} / "
            f"schemaVersion {got} is not read: only {SCHEMA_VERSION}"
        )
    return root


def _valid(root: etree._Element, schema: Any) -> None:
    error = next(iter(schema.iter_errors(root)), None)
    if error is not None:
        where = f"第 {error.sourceline} 行 / line {error.sourceline}" if getattr(error, "sourceline", None) else ""
        raise DccError(
            f"DCC 不符合 {SCHEMA_VERSION} 模式 / the DCC does not follow schema {SCHEMA_VERSION}: "
            f"{error.path} {where}: {error.reason}"
        )


def read_dcc(data: bytes, trust_root: bytes | None = None, schema: Any = None) -> ImportedDcc:
    """The DCC's results and administrative data, after the checks above; a DccError names what is wrong."""
    root = _parse(data)
    _valid(root, schema if schema is not None else shipped_schema())
    signature, signed = verify_dcc_signature(data, root, trust_root)
    adm = signed.find("dcc:administrativeData", _NS)
    core = adm.find("dcc:coreData", _NS) if adm is not None else None
    if adm is None or core is None:  # the schema requires both; a signature over a part would lack them
        raise DccError("DCC 缺少管理数据 / the DCC has no administrative data")
    validity = _validity(signed)
    begin = _date(core.findtext("dcc:beginPerformanceDate", namespaces=_NS))
    end = _date(core.findtext("dcc:endPerformanceDate", namespaces=_NS))
    assert begin is not None and end is not None  # required by the schema
    contact = adm.find("dcc:calibrationLaboratory/dcc:contact", _NS)
    return ImportedDcc(
        unique_identifier=(core.findtext("dcc:uniqueIdentifier", namespaces=_NS) or "").strip(),
        laboratory=_text(contact, "name"),
        begin=begin,
        end=end,
        issue_date=_date(core.findtext("dcc:issueDate", namespaces=_NS)),
        items=tuple(_text(item, "name") for item in adm.findall("dcc:items/dcc:item", _NS)),
        quantities=tuple(_quantities(signed, validity)),
        signature=signature,
        validity_range=validity,
        recalibration=_recalibration(signed),
        conformity=_conformity(signed),
    )
