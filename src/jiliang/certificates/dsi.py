"""D-SI 2.2.1 values read back from a DCC: si:real, si:constant, si:realList, si:list, si:realListXMLList
and each representation of an si:hybrid, every value with its unit as users write it (°C, not
\\degreecelsius) and its uncertainty in any D-SI form (expanded U with k; a standard uncertainty u is
U with k = 1). Numbers stay the decimal text written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from ..errors import InvalidInput
from .dcc import DSI_UNITS, SI

__all__ = ["DccError", "DccRange", "DccValue", "representation", "representations", "unit_text"]

_NS = {"si": SI}


class DccError(InvalidInput):
    rule = "dcc"


@dataclass(frozen=True)
class DccRange:
    """Where a U applies: from `lower` to `upper` (equal for a point), in `unit`; None: open."""

    lower: str | None
    upper: str | None
    unit: str

    @property
    def is_point(self) -> bool:
        return self.lower is not None and self.lower == self.upper


@dataclass(frozen=True)
class DccValue:
    value: str  # the decimal text as written
    unit: str  # as users know it (°C, kWh)
    dsi_unit: str  # as the D-SI writes it (\degreecelsius)
    expanded_uncertainty: str | None = None  # U, in `unit`
    coverage_factor: str | None = None  # k
    coverage_probability: str | None = None
    applies_to: DccRange | None = None  # the point or range U applies to


# --- units ----------------------------------------------------------------------------------------

_PREFIXES = {
    "yotta": "Y", "zetta": "Z", "exa": "E", "peta": "P", "tera": "T", "giga": "G", "mega": "M", "kilo": "k",
    "hecto": "h", "deca": "da", "deci": "d", "centi": "c", "milli": "m", "micro": "µ", "nano": "n",
    "pico": "p", "femto": "f", "atto": "a", "zepto": "z", "yocto": "y",
}  # fmt: skip
_SYMBOLS = {
    "metre": "m", "kilogram": "kg", "gram": "g", "second": "s", "ampere": "A", "kelvin": "K", "mole": "mol",
    "candela": "cd", "one": "1", "percent": "%", "ppm": "ppm", "radian": "rad", "steradian": "sr",
    "hertz": "Hz", "newton": "N", "pascal": "Pa", "joule": "J", "watt": "W", "coulomb": "C", "volt": "V",
    "farad": "F", "ohm": "Ω", "siemens": "S", "weber": "Wb", "tesla": "T", "henry": "H",
    "degreecelsius": "°C", "lumen": "lm", "lux": "lx", "becquerel": "Bq", "sievert": "Sv", "gray": "Gy",
    "katal": "kat", "day": "d", "hour": "h", "minute": "min", "degree": "°", "arcminute": "′",
    "arcsecond": "″", "hectare": "ha", "litre": "L", "tonne": "t", "electronvolt": "eV", "dalton": "Da",
    "bar": "bar", "mmhg": "mmHg", "decibel": "dB", "bel": "B", "neper": "Np",
}  # fmt: skip
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_TOKEN = re.compile(r"\\([A-Za-z]+)(?:\{([^}]*)\})?")
_KNOWN = {dsi: unit for unit, dsi in reversed(DSI_UNITS.items())}  # the first name of each D-SI unit wins


def unit_text(dsi: str) -> str:
    """A D-SI unit as users write it: \\degreecelsius → °C, \\kilo\\watt\\hour → kWh, \\metre\\second\\tothe{-1}
    → m·s⁻¹. A unit outside this vocabulary is shown as written."""
    dsi = dsi.strip()
    if dsi in _KNOWN:
        return _KNOWN[dsi]
    parts: list[str] = []
    prefix = ""
    at = 0
    for m in _TOKEN.finditer(dsi):
        if m.start() != at:
            return dsi
        at = m.end()
        name, arg = m.group(1), m.group(2)
        if name in _PREFIXES and not prefix:
            prefix = _PREFIXES[name]
        elif name in _SYMBOLS:
            parts.append(prefix + _SYMBOLS[name])
            prefix = ""
        elif name == "tothe" and arg is not None and parts and not prefix:
            power = arg.strip()
            parts[-1] += power.translate(_SUPERSCRIPT) if re.fullmatch(r"-?\d+", power) else f"^{power}"
        else:
            return dsi
    if at != len(dsi) or prefix or not parts:
        return dsi
    return "·".join(parts)


# --- values ----------------------------------------------------------------------------------------


def _words(el: etree._Element | None, tag: str) -> list[str]:
    found = None if el is None else el.find(f"si:{tag}", _NS)
    return [] if found is None else (found.text or "").split()


def _one(el: etree._Element | None, tag: str) -> str | None:
    found = None if el is None else el.find(f"si:{tag}", _NS)
    return None if found is None or found.text is None else found.text.strip()


# one uncertainty of an si:real (or of a whole si:realList): (U, k, p); a standard uncertainty is U with k = 1
_Uncertainty = tuple[str, str, str | None]


def _real_uncertainty(holder: etree._Element) -> _Uncertainty | None:
    """The U of an si:real, or the one U of an si:realList (its list uncertainty), in any D-SI form."""
    wrappers = (
        "measurementUncertaintyUnivariate",
        "measurementUncertaintyUnivaraite",
        "listMeasurementUncertaintyUnivariate",
    )
    forms = [mu for w in wrappers if (mu := holder.find(f"si:{w}", _NS)) is not None]
    forms += [holder] + [w for w in (holder.find("si:listUnivariateUnc", _NS),) if w is not None]
    for form in forms:
        expanded = form.find("si:expandedMU", _NS)
        if expanded is not None:
            u, k = _need(_one(expanded, "valueExpandedMU"), _one(expanded, "coverageFactor"), expanded)
            return u, k, _one(expanded, "coverageProbability")
        old = form.find("si:expandedUnc", _NS)
        if old is not None:
            u, k = _need(_one(old, "uncertainty"), _one(old, "coverageFactor"), old)
            return u, k, _one(old, "coverageProbability")
        for tag in ("standardMU", "coverageIntervalMU", "coverageInterval"):
            standard = form.find(f"si:{tag}", _NS)
            if standard is not None:  # a standard uncertainty u: U = k·u with k = 1
                u, k = _need(_one(standard, "valueStandardMU") or _one(standard, "standardUnc"), "1", standard)
                return u, k, None
    return None


def _need(u: str | None, k: str | None, where: etree._Element) -> tuple[str, str]:
    if not u or not k:
        raise DccError(
            f"DCC 第 {where.sourceline} 行的不确定度不完整 / the uncertainty at line {where.sourceline} is incomplete"
        )
    return u, k


def _from_real(real: etree._Element, list_unit: str | None = None, list_u: _Uncertainty | None = None) -> DccValue:
    value, dsi = _one(real, "value"), _one(real, "unit") or list_unit
    if value is None or dsi is None:
        raise DccError(
            f"DCC 第 {real.sourceline} 行的量值缺少数值或单位 / "
            f"a value at line {real.sourceline} lacks its number or unit"
        )
    u = _real_uncertainty(real) or list_u
    return DccValue(value, unit_text(dsi), dsi, *(u or (None, None, None)))


def _broadcast(values: Sequence[str], n: int, what: str, where: etree._Element) -> list[str | None]:
    """One entry per value: a single one applies to all (D-SI XMLList rule); none gives None."""
    if not values:
        return [None] * n
    if len(values) == 1:
        return [values[0]] * n
    if len(values) != n:
        raise DccError(
            f"DCC 第 {where.sourceline} 行：{what} 有 {len(values)} 个，数值有 {n} 个 / line {where.sourceline}: "
            f"{len(values)} {what} for {n} values"
        )
    return list(values)


def _from_xml_list(el: etree._Element) -> list[DccValue]:
    values = _words(el, "valueXMLList")
    n = len(values)
    units = _broadcast(_words(el, "unitXMLList"), n, "单位 / units", el)
    u: list[str] = []
    k: list[str] = []
    p: list[str] = []
    mu = el.find("si:measurementUncertaintyUnivariateXMLList", _NS)
    old = el.find("si:expandedUncXMLList", _NS)
    if mu is not None:
        expanded = mu.find("si:expandedMUXMLList", _NS)
        standard = mu.find("si:standardMUXMLList", _NS)
        if standard is None:
            standard = mu.find("si:coverageIntervalMUXMLList", _NS)
        if expanded is not None:
            u, k = _words(expanded, "valueExpandedMUXMLList"), _words(expanded, "coverageFactorXMLList")
            p = _words(expanded, "coverageProbabilityXMLList")
        elif standard is not None:
            u, k = _words(standard, "valueStandardMUXMLList"), ["1"]
    elif old is not None:
        u, k, p = (
            _words(old, t) for t in ("uncertaintyXMLList", "coverageFactorXMLList", "coverageProbabilityXMLList")
        )
    if u and not k:
        raise DccError(
            f"DCC 第 {el.sourceline} 行的不确定度缺少包含因子 / "
            f"the uncertainty at line {el.sourceline} has no coverage factor"
        )
    us = _broadcast(u, n, "不确定度 / uncertainties", el)
    ks = _broadcast(k, n, "包含因子 / coverage factors", el)
    ps = _broadcast(p, n, "包含概率 / coverage probabilities", el)
    out = []
    for i, value in enumerate(values):
        dsi = units[i]
        if dsi is None:
            raise DccError(f"DCC 第 {el.sourceline} 行的量值缺少单位 / the values at line {el.sourceline} have no unit")
        out.append(DccValue(value, unit_text(dsi), dsi, us[i], ks[i] if us[i] else None, ps[i] if us[i] else None))
    return out


def representation(el: etree._Element) -> list[DccValue] | None:
    """The values of one D-SI element; None for one that holds no real numbers (complex, text)."""
    tag = etree.QName(el).localname if etree.QName(el).namespace == SI else None
    if tag in ("real", "constant"):
        return [_from_real(el)]
    if tag == "realListXMLList":
        return _from_xml_list(el)
    if tag == "realList":
        unit, list_u = _one(el, "listUnit"), _real_uncertainty(el)
        return [_from_real(r, unit, list_u) for r in el.findall("si:real", _NS)]
    if tag == "list":
        out: list[DccValue] = []
        for child in el:
            if isinstance(child.tag, str) and (got := representation(child)) is not None:
                out.extend(got)
        return out
    return None


def representations(q: etree._Element) -> list[list[DccValue]]:
    """The values of a dcc:quantity: one representation, or one per unit of an si:hybrid."""
    for child in q:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != SI:
            continue
        if etree.QName(child).localname == "hybrid":  # one quantity, each child in another unit
            return [r for c in child if isinstance(c.tag, str) and (r := representation(c)) is not None]
        found = representation(child)
        return [] if found is None else [found]
    return []
