"""The standard's expanded uncertainty at a reading's reference value, from the U its calibration
certificate states per range or point (an imported DCC): the U of the ranges that hold the reference,
else the largest U recorded, said so in the budget's note — never a smaller one than the certificate
gives. Of several candidates the one with the largest standard uncertainty U/k wins (the budget uses
u = U/k: JJF 1059.1-2012 §4.3.3.2), then the larger U."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["STANDARD_NOTE", "STANDARD_RANGES", "UncertaintyRange", "StandardRanges"]

# the budget context's entries for the standard's U by range, and the note it leaves for a point
STANDARD_RANGES = "standard_U_ranges"
STANDARD_NOTE = "standard_U_note"


def _unit(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").replace(" ", "")


@dataclass(frozen=True)
class UncertaintyRange:
    lower: Decimal | None  # None with upper None: the certificate does not say where U applies
    upper: Decimal | None
    unit: str | None  # of lower and upper
    expanded: Decimal  # U, in the standard's uncertainty unit
    coverage_factor: Decimal  # k

    def holds(self, reference: Decimal, unit: str | None) -> bool:
        if self.lower is None or self.upper is None or unit is None or _unit(self.unit) != _unit(unit):
            return False
        return self.lower <= reference <= self.upper

    @property
    def weight(self) -> tuple[Decimal, Decimal]:
        return self.expanded / self.coverage_factor, self.expanded


@dataclass(frozen=True)
class StandardRanges:
    """The calibration's ranges whose U is in the unit the budget asks for; `reference_unit` is the
    unit of the budget's reference value (a range in another unit never holds it)."""

    standard: str  # the standard's name, for the note
    uncertainty_unit: str
    reference_unit: str | None
    ranges: tuple[UncertaintyRange, ...]

    def at(self, reference: Decimal) -> tuple[Decimal, Decimal, str | None]:
        """(U, k, note): the note is None when a range holds the reference."""
        holding: Sequence[UncertaintyRange] = [r for r in self.ranges if r.holds(reference, self.reference_unit)]
        if holding:
            best = max(holding, key=lambda r: r.weight)
            return best.expanded, best.coverage_factor, None
        best = max(self.ranges, key=lambda r: r.weight)
        u, k, unit = best.expanded, best.coverage_factor, self.uncertainty_unit
        where = f"{reference} {self.reference_unit or ''}".strip()
        note = (
            f"标准值 {where} 不在计量标准《{self.standard}》校准证书给出的任何范围内，取证书中最大的 U = {u} {unit}"
            f"（k = {k}） / the reference value {where} lies in no range of the calibration certificate of "
            f"standard {self.standard}: its largest U = {u} {unit} (k = {k}) is used"
        )
        return u, k, note
