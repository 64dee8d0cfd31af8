"""Decision rules for a statement of conformity of one measured error against its MPE limits:
simple acceptance, guarded acceptance (ILAC-G8:09/2019 §4.2.2, guard band w = r·U) and the JJF 1094
practice (JJF 1094-2002 §5.3: when U95 ≤ MPEV/3 the error alone decides; otherwise an error within
MPEV − U95 conforms, one beyond MPEV + U95 does not, and between them no conclusion is drawn)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["Decision", "DecisionRule", "RULE_KINDS", "Zone", "decide"]

RuleKind = Literal["simple", "guarded", "jjf1094"]
RULE_KINDS: tuple[str, ...] = ("simple", "guarded", "jjf1094")
Zone = Literal["accept", "reject", "undetermined"]


@dataclass(frozen=True)
class DecisionRule:
    kind: RuleKind = "simple"
    guard_band: Decimal = Decimal(1)  # r in w = r·U (guarded acceptance only)

    @property
    def text(self) -> tuple[str, str]:
        """(中文, English) statement of the rule, as printed with the verdict."""
        if self.kind == "guarded":
            return (
                f"保护带接受（ILAC-G8 §4.2.2）：w = {self.guard_band}·U，下限 + w ≤ 误差 ≤ 上限 − w 判合格",
                f"guarded acceptance (ILAC-G8 §4.2.2): w = {self.guard_band}·U, "
                "conforms when lower + w ≤ error ≤ upper − w",
            )
        if self.kind == "jjf1094":
            return (
                "JJF 1094 §5.3：U95 ≤ MPEV/3 时仅按误差判定；否则 |误差| ≤ MPEV − U95 合格，"
                "|误差| ≥ MPEV + U95 不合格，其间为待定区",
                "JJF 1094 §5.3: when U95 ≤ MPEV/3 the error alone decides; otherwise |error| ≤ MPEV − U95 "
                "conforms, |error| ≥ MPEV + U95 does not, and between them no conclusion is drawn",
            )
        return ("简单接受：下限 ≤ 误差 ≤ 上限 判合格", "simple acceptance: conforms when lower ≤ error ≤ upper")


@dataclass(slots=True)
class Decision:  # not frozen: one for every judged point (a frozen one costs several times as much)
    """The numbers behind one point's verdict. Each limit is judged on its own side: with asymmetric
    limits (a taximeter's −4 %/+1 %) each side has its own MPEV, U/MPEV and guard band."""

    rule: RuleKind
    zone: Zone
    conforms: bool | None  # None in the undetermined zone
    acceptance: tuple[Decimal, Decimal]  # the error must lie within these limits to conform
    guard_bands: tuple[Decimal, Decimal] | None  # w applied at the (lower, upper) limit; 0: the error alone decides
    expanded_uncertainty: Decimal | None  # U in the comparison unit; None when not evaluated
    ratios: tuple[Decimal | None, Decimal | None]  # U / |limit| at the (lower, upper) limit
    note: str  # "中文 / English"

    @property
    def guard_band(self) -> Decimal | None:
        """The wider of the two guard bands."""
        return None if self.guard_bands is None else max(self.guard_bands)

    @property
    def ratio(self) -> Decimal | None:
        """U/MPEV at the tighter limit (the larger of the two ratios)."""
        known = [r for r in self.ratios if r is not None]
        return max(known) if known else None


def _zone(
    value: Decimal, lower: Decimal, upper: Decimal, w_lower: Decimal, w_upper: Decimal
) -> tuple[Zone, bool | None]:
    if lower + w_lower <= value <= upper - w_upper:
        return "accept", True
    # JJF 1094 §5.3.2: |error| ≥ MPEV + U95 does not conform; with no guard on a side, beyond the limit
    if value <= lower - w_lower or value >= upper + w_upper:
        return "reject", False
    return "undetermined", None


def _ratio(expanded: Decimal | None, limit: Decimal) -> Decimal | None:
    return expanded / abs(limit) if expanded is not None and limit != 0 else None


_ZONE_NOTES = {
    "accept": "在合格区内 / within the acceptance zone",
    "reject": "在不合格区 / in the rejection zone",
    "undetermined": "在待定区，不能判定，应减小不确定度后重测 / in the undetermined zone: no conclusion; "
    "reduce the uncertainty and measure again",
}


def decide(rule: DecisionRule, value: Decimal, lower: Decimal, upper: Decimal, expanded: Decimal | None) -> Decision:
    """Judge `value` (an error, in the unit of the limits) with expanded uncertainty U (same unit),
    each limit on its own side: under JJF 1094 a side whose U95 ≤ MPEV/3 is decided by the error
    alone and the other side is guarded by U95; under ILAC-G8 both limits move inward by w = r·U."""
    ratios = (_ratio(expanded, lower), _ratio(expanded, upper))
    zero = Decimal(0)
    if rule.kind == "simple" or expanded is None:
        zone, ok = _zone(value, lower, upper, zero, zero)
        note = ""
        if rule.kind != "simple":
            note = "未评定不确定度，仅按误差判定 / uncertainty not evaluated: the error alone decides"
            if rule.kind == "jjf1094":
                note = (
                    "未评定不确定度：按规程检定，视为满足 U95 ≤ MPEV/3（JJF 1094 §5.3.1），仅按误差判定 / "
                    "uncertainty not evaluated: verified to the regulation, U95 ≤ MPEV/3 is presumed "
                    "(JJF 1094 §5.3.1) and the error alone decides"
                )
        return Decision(rule.kind, zone, ok, (lower, upper), (zero, zero), expanded, ratios, note)
    if rule.kind == "jjf1094":
        # JJF 1094 §5.3.1 on each side: U95 ≤ MPEV/3 there lets the error alone decide at that limit
        w_lower, w_upper = (zero if r is not None and r * 3 <= 1 else expanded for r in ratios)
    else:
        w_lower = w_upper = rule.guard_band * expanded
    zone, ok = _zone(value, lower, upper, w_lower, w_upper)
    if rule.kind == "guarded" and zone == "undetermined":  # ILAC-G8 binary: outside the acceptance zone fails
        zone, ok = "reject", False
    if rule.kind == "jjf1094" and w_lower == w_upper == zero:
        note = "U95 ≤ MPEV/3，仅按误差判定 / U95 ≤ MPEV/3: the error alone decides"
    elif rule.kind == "jjf1094" and zero in (w_lower, w_upper):
        side_zh, side_en = ("下限", "lower") if w_lower == zero else ("上限", "upper")
        zone_zh, zone_en = _ZONE_NOTES[zone].split(" / ")
        note = (
            f"{side_zh}一侧 U95 ≤ MPEV/3，该侧仅按误差判定；另一侧按 U95 设待定区，{zone_zh} / "
            f"at the {side_en} limit U95 ≤ MPEV/3 and the error alone decides there; the other limit is guarded "
            f"by U95, {zone_en}"
        )
    else:
        note = _ZONE_NOTES[zone]
    return Decision(rule.kind, zone, ok, (lower + w_lower, upper - w_upper), (w_lower, w_upper), expanded, ratios, note)
