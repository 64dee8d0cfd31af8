"""A reading as the verifier gives it, and the instrument's parameters it is judged with: rounding to the
resolution by GB/T 8170 (round half even)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from jiliang.measurement.procedure import Procedure

__all__ = ["PointReading", "ReadingError", "parse_parameters", "round_to_resolution"]


class ReadingError(ValueError):
    """Readings or parameters cannot be evaluated (unknown point or stage, missing parameter)."""


@dataclass(slots=True)
class PointReading:  # not frozen: made for every reading, and a frozen one costs five times as much
    point_id: str
    reference: Decimal  # the load L or reference value
    indication: Decimal  # I as displayed
    added_load: Decimal | None = None  # ΔL of the changeover-point method
    position: str | None = None  # where on the load receptor (eccentricity)
    indication_after: Decimal | None = None  # discrimination: the indication after the extra load


def round_to_resolution(value: Decimal, resolution: Decimal) -> Decimal:
    """Round to an integer multiple of the resolution, half to even (GB/T 8170 §3.3)."""
    return (value / resolution).to_integral_value(rounding=ROUND_HALF_EVEN) * resolution


def parse_parameters(procedure: Procedure, given: Mapping[str, str | Decimal]) -> dict[str, str | Decimal]:
    values: dict[str, str | Decimal] = {}
    for param in procedure.instrument_parameters:
        raw = given.get(param.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if param.required:
                raise ReadingError(
                    f"{procedure.name_zh}: missing instrument parameter '{param.name}' ({param.label_zh})"
                )
            continue
        if param.kind == "number":
            try:
                number = Decimal(str(raw).strip())
            except InvalidOperation:
                raise ReadingError(f"parameter '{param.name}' must be a number, got {raw!r}") from None
            if not number.is_finite() or number <= 0:
                raise ReadingError(f"parameter '{param.name}' must be a positive number, got {raw!r}")
            values[param.name] = number
        else:
            text = str(raw).strip()
            if param.choices is not None and text not in param.choices:
                raise ReadingError(f"parameter '{param.name}' must be one of {list(param.choices)}, got {text!r}")
            values[param.name] = text
    return values
