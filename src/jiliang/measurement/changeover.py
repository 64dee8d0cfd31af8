"""The changeover-point method (闪变点法) of OIML R 76-1 A.4.4.3, used by JJG 539 for scales whose
actual scale interval d equals e: small additional weights ΔL (steps of 0.1e) are added until the
indication I changes up by one e; then the indication before rounding is P = I + ½e − ΔL, the error
E = P − L, and the corrected error Ec = E − E0 with E0 the error at (or near) zero. Exact decimals."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["STEP_E", "ChangeoverError", "applies", "error_before_rounding"]

STEP_E = Decimal("0.1")  # the additional weights, in units of e


class ChangeoverError(ValueError):
    """ΔL is outside 0 … e or not a whole number of 0.1e steps; says so in Chinese (`zh`) and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def applies(e: Decimal | None, d: Decimal | None) -> bool:
    """The method is needed where the display does not resolve better than e: d absent or equal to e."""
    return e is not None and (d is None or d == e)


def error_before_rounding(load: Decimal, indication: Decimal, added: Decimal, e: Decimal) -> Decimal:
    """E = I + ½e − ΔL − L (R 76-1 A.4.4.3)."""
    if added < 0 or added > e:
        raise ChangeoverError(f"ΔL = {added} 应在 0 与 e = {e} 之间", f"ΔL = {added} must lie between 0 and e = {e}")
    if (added / (STEP_E * e)) % 1 != 0:
        raise ChangeoverError(
            f"ΔL = {added} 不是 0.1e（{STEP_E * e}）的整数倍",
            f"ΔL = {added} is not a whole number of 0.1e steps (0.1e = {STEP_E * e})",
        )
    return indication + e / 2 - added - load
