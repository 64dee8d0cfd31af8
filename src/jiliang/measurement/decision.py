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


@dataclass(frozen=True)
class Decision:
    """The numbers behind one point's verdict."""

    rule: RuleKind
    zone: Zone
    conforms: bool | None  # None in the undetermined zone
    acceptance: tuple[Decimal, Decimal]  # the error must lie within these limits to conform
    guard_band: Decimal | None  # w actually applied (0 when the error alone decided)
    expanded_uncertainty: Decimal | None  # U in the comparison unit; None when not evaluated
    ratio: Decimal | None  # U / MPEV (JJF 1094) — the smaller limit's magnitude for asymmetric limits
    note: str  # "中文 / English"


def _zone(value: Decimal, lower: Decimal, upper: Decimal, w: Decimal) -> tuple[Zone, bool | None]:
    if lower + w <= value <= upper - w:
        return "accept", True
    if value <= lower - w or value >= upper + w:  # JJF 1094 §5.3.2: |error| ≥ MPEV + U95 does not conform
        return "reject", False
    return "undetermined", None


def decide(rule: DecisionRule, value: Decimal, lower: Decimal, upper: Decimal, expanded: Decimal | None) -> Decision:
    """Judge `value` (an error, in the unit of the limits) with expanded uncertainty U (same unit)."""
    mpev = min(abs(lower), abs(upper))
    ratio = expanded / mpev if expanded is not None and mpev > 0 else None
    if rule.kind == "simple" or expanded is None:
        zone, ok = _zone(value, lower, upper, Decimal(0))
        note = ""
        if rule.kind != "simple":
            note = "未评定不确定度，仅按误差判定 / uncertainty not evaluated: the error alone decides"
            if rule.kind == "jjf1094":
                note = (
                    "未评定不确定度：按规程检定，视为满足 U95 ≤ MPEV/3（JJF 1094 §5.3.1），仅按误差判定 / "
                    "uncertainty not evaluated: verified to the regulation, U95 ≤ MPEV/3 is presumed "
                    "(JJF 1094 §5.3.1) and the error alone decides"
                )
        return Decision(rule.kind, zone, ok, (lower, upper), Decimal(0), expanded, ratio, note)
    if rule.kind == "jjf1094" and ratio is not None and ratio * 3 <= 1:
        zone, ok = _zone(value, lower, upper, Decimal(0))
        note = "U95 ≤ MPEV/3，仅按误差判定 / U95 ≤ MPEV/3: the error alone decides"
        return Decision(rule.kind, zone, ok, (lower, upper), Decimal(0), expanded, ratio, note)
    w = expanded if rule.kind == "jjf1094" else rule.guard_band * expanded
    zone, ok = _zone(value, lower, upper, w)
    if rule.kind == "guarded" and zone == "undetermined":  # ILAC-G8 binary: outside the acceptance zone fails
        zone, ok = "reject", False
    note = {
        "accept": "在合格区内 / within the acceptance zone",
        "reject": "在不合格区 / in the rejection zone",
        "undetermined": "在待定区，不能判定，应减小不确定度后重测 / in the undetermined zone: no conclusion; "
        "reduce the uncertainty and measure again",
    }[zone]
    return Decision(rule.kind, zone, ok, (lower + w, upper - w), w, expanded, ratio, note)
