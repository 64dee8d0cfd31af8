"""Pure rules of the workflow: who may sign, which standards are usable on a date, what is signed."""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

import orjson

from ..certificates.canonical import canonical_json
from ..measurement.standard_u import STANDARD_NOTE, STANDARD_RANGES, StandardRanges, UncertaintyRange

__all__ = [
    "CONTENT_KEYS",
    "POINT_KEYS",
    "STAGES",
    "budget_context",
    "content_hash",
    "qualified",
    "record_content",
    "standard_problem",
]

STAGES = ("initial", "subsequent", "in_service")

CONTENT_KEYS = (
    "task_id",
    "instrument_id",
    "institution_id",
    "verifier_id",
    "kind",
    "stage",
    "performed_on",
    "procedure_code",
    "regulation",
    "decision_rule",
    "verdict",
    "advisory",
    "valid_until",
    "replace_by",
)
POINT_KEYS = (
    "seq",
    "point_id",
    "unit",
    "reference",
    "indication",
    "error",
    "relative_error_percent",
    "mpe_lower",
    "mpe_upper",
    "mpe_unit",
    "rule_id",
    "conforms",
    "advisory",
    "expanded_uncertainty",
    "coverage_factor",
)
# signed only when present, so records made before these existed keep their content hash
ASSESSMENT_KEYS = (
    "uncertainty",
    "decision",
    "added_load",
    "corrected_error",
    "position",
    "indication_after",
    "rule_source",
    "rule_confidence",
)


def qualified(qualifications: Iterable[Mapping[str, Any]], item_code: str | None, on: date) -> bool:
    """A verifier needs a qualification for the item valid on the verification date."""
    if item_code is None:  # calibration outside the catalogue: the verifier role is the authorisation
        return True
    return any(q["item_code"] == item_code and q["valid_from"] <= on <= q["valid_until"] for q in qualifications)


def standard_problem(
    standard: Mapping[str, Any],
    serves: set[str],
    calibrations: Sequence[Mapping[str, Any]],
    item_code: str | None,
    on: date,
) -> tuple[str, str] | None:
    """(rule, message) if the standard may not be used on `on`, else None.

    Its examination certificate must be valid, and the calibration in force on the date (the latest
    one made on or before it) must be in tolerance and not yet due.
    """
    name = standard["name"]
    if standard["examination_valid_until"] < on:
        return (
            "standard_expired",
            f"计量标准《{name}》考核证书已于 {standard['examination_valid_until']} 过期 / "
            f"the examination certificate of standard “{name}” expired on {standard['examination_valid_until']}",
        )
    latest = calibration_in_force(calibrations, on)
    if latest is None or not latest["in_tolerance"] or latest["due"] < on:
        return (
            "standard_calibration_expired",
            f"计量标准《{name}》在 {on} 没有有效的溯源（校准） / standard “{name}” "
            f"has no valid in-tolerance calibration on {on}",
        )
    if item_code is not None and item_code not in serves:
        return (
            "standard_not_for_item",
            f"计量标准《{name}》未登记用于本器具所属的强检项目 / standard “{name}” is not registered for this "
            "instrument's catalogue item",
        )
    return None


# budget names the record's environment may not supply
RESERVED_BUDGET_NAMES = frozenset(
    {"reference", "indication", "standard_U", "standard_k", STANDARD_RANGES, STANDARD_NOTE}
)


def same_unit(unit: str) -> str:
    """A unit as compared: NFKC-normalised (℃ is °C, a full-width ％ is %) without spaces."""
    return unicodedata.normalize("NFKC", unit).replace(" ", "")


def calibration_in_force(calibrations: Sequence[Mapping[str, Any]], on: date) -> Mapping[str, Any] | None:
    """The latest calibration made on or before `on`."""
    earlier = [c for c in calibrations if c["calibrated_on"] <= on]
    return max(earlier, key=lambda c: (c["calibrated_on"], c["id"])) if earlier else None


def _decimal(text: Any) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def standard_ranges(cal: Mapping[str, Any], reference_unit: str | None) -> StandardRanges | None:
    """The U per range or point the calibration's certificate states (an imported DCC), those in the
    unit of its whole-calibration U; None when it states none."""
    unit = same_unit(cal.get("uncertainty_unit") or "")
    found = []
    for r in cal.get("ranges") or ():
        u, k = _decimal(r["expanded_uncertainty"]), _decimal(r["coverage_factor"])
        if same_unit(r["uncertainty_unit"] or "") != unit or u is None or k is None or k <= 0:
            continue
        lower, upper = _decimal(r["lower"]), _decimal(r["upper"])
        found.append(UncertaintyRange(lower, upper, r["unit"], u, k))
    if not found:
        return None
    return StandardRanges(
        str(cal.get("standard_name") or ""), str(cal.get("uncertainty_unit")), reference_unit, tuple(found)
    )


def budget_context(
    standard_ids: Sequence[int],
    calibrations: Mapping[int, Sequence[Mapping[str, Any]]],
    unit: str | None,
    on: date,
    environment: Mapping[str, str],
    reference_unit: str | None = None,
) -> dict[str, Any]:
    """Values a procedure's budget may name beside the reading and the instrument's parameters:
    standard_U and standard_k from the certificate of the first standard used (by id) whose calibration
    in force on `on` records U in `unit`, and each environment entry that is a number (e.g.
    bath_uniformity). The environment never supplies the standard's values (they come from its
    certificate) nor the reading's; conformity.budget_values lets the instrument's parameters win.
    Where the certificate states U per range or point (an imported DCC), STANDARD_RANGES holds them
    (with `reference_unit`, the unit of the budget's reference value) and each point takes the U at its
    reference (measurement.standard_u); standard_U stays the largest, the whole certificate's."""
    out: dict[str, Any] = {}
    for name, text in environment.items():
        if name in RESERVED_BUDGET_NAMES or not name.isidentifier():
            continue
        try:
            value = float(str(text).strip())
        except ValueError:
            continue
        if math.isfinite(value):
            out[name] = value
    wanted = None if unit is None else same_unit(unit)
    for sid in sorted(standard_ids):
        cal = calibration_in_force(calibrations.get(sid, ()), on)
        recorded = cal.get("uncertainty_unit") if cal else None
        if cal and cal.get("expanded_uncertainty") and (wanted is None or same_unit(recorded or "") == wanted):
            out["standard_U"] = float(cal["expanded_uncertainty"])
            out["standard_k"] = float(cal["coverage_factor"])
            ranges = standard_ranges(cal, reference_unit)
            if ranges is not None:
                out[STANDARD_RANGES] = ranges
            break
    return out


_PLAIN = frozenset((str, bool, type(None)))


def _text(v: Any) -> Any:
    """A value as signed: text, flags and None as they are, anything else as its text, within
    dicts (a point's uncertainty and decision, ASCII keys) and lists (the record's tests)."""
    if type(v) in _PLAIN:  # most values, first
        return v
    if isinstance(v, dict):
        return {(k if type(k) is str else str(k)): (x if type(x) in _PLAIN else _text(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [x if type(x) in _PLAIN else _text(x) for x in v]
    return str(v)


def record_content(
    record: Mapping[str, Any], points: Sequence[Mapping[str, Any]], standard_ids: Sequence[int]
) -> dict[str, Any]:
    """What each signatory signs: the record and its points as exact text (hashed canonically)."""
    content = {
        "record": {k: _text(record[k]) for k in CONTENT_KEYS},
        "environment": {str(k): str(v) for k, v in (record["environment"] or {}).items()},
        "standards": [str(s) for s in sorted(standard_ids)],
        "points": [_point(p) for p in sorted(points, key=lambda p: p["seq"])],
    }
    if record.get("tests") is not None:  # the regulation's tests and their verdicts (migration 0006)
        content["tests"] = _text(record["tests"])
    if record.get("correction_curve") is not None:  # a calibration's correction line (migration 0007)
        content["correction_curve"] = _text(record["correction_curve"])
    return content


_pick_point = itemgetter(*POINT_KEYS)


def _point(p: Mapping[str, Any]) -> dict[str, Any]:
    """A point's signed fields; the uncertainty and decision only when evaluated, so records made
    before they existed keep their content hash."""
    values = _pick_point(p)
    if _PLAIN.issuperset(map(type, values[1:])):  # all but seq are text, flags or None (the usual case)
        out = dict(zip(POINT_KEYS, values, strict=True))
        out["seq"] = _text(values[0])
    else:
        out = {k: _text(v) for k, v in zip(POINT_KEYS, values, strict=True)}
    for k in ASSESSMENT_KEYS:
        v = p.get(k)
        if v is not None:
            out[k] = _text(v)
    return out


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of a record's content.

    `record_content` holds only str/bool/None under str keys, where Python's sorted JSON is exactly
    RFC 8785 as long as keys stay in the BMP; the fixed keys are ASCII, so only user-named
    environment keys are looked at before taking the fast path (tests compare both paths)."""
    if all(k.isascii() for k in content["environment"]):
        data = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    else:
        data = canonical_json(content)
    return hashlib.sha256(data).hexdigest()
