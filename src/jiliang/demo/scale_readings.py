"""Synthetic JJG 539 records: every test the procedure prescribes (weighing with E0, eccentricity at
1/3 Max on each segment, repeatability at about 50 % Max and Max, discrimination, zero-setting), each
reading written by the changeover-point method (I and the additional load ΔL that give the error drawn)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from ..measurement.procedure import Edition
from ..verification.readings import ReadingInput

__all__ = ["scale_readings"]


def _reading(point: str, load: Decimal, error: Decimal, e: Decimal, position: str | None = None) -> ReadingInput:
    """I = the multiple of e nearest L + E, ΔL = I + ½e − E − L (OIML R 76-1 A.4.4.3 solved for ΔL)."""
    steps = (error / e + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)
    indication = load + steps * e
    added = indication + e / 2 - error - load
    return ReadingInput(point, str(load), str(indication), added_load=str(added), position=position)


def scale_readings(
    edition: Edition, e: Decimal, loads: Sequence[Decimal], passes: bool, rng: random.Random
) -> list[ReadingInput]:
    """A whole JJG 539 record; small errors (within ±0.3e, inside every MPE band) when it passes, one
    weighing load 3.5e off (beyond every band, in service too) when it fails."""
    tenth = e / 10

    def small() -> Decimal:
        return rng.randint(-3, 3) * tenth

    cap = max(loads)
    half = (cap / 2 / e).to_integral_value(rounding=ROUND_FLOOR) * e
    loads = sorted({*loads, half})  # at least five loads: Min, the MPE steps, ½ Max and Max
    out = [_reading("weighing_zero", Decimal(0), Decimal(0), e)]
    errors = [small() for _ in loads]
    if not passes:
        errors[rng.randrange(len(errors))] = Decimal("3.5") * e * rng.choice((1, -1))
    out += [_reading("load", m, err, e) for m, err in zip(loads, errors, strict=True)]
    third = (cap / 3 / e).to_integral_value(rounding=ROUND_FLOOR) * e
    tests = {t.id: t for t in edition.tests}
    if "eccentricity" in tests:
        out += [_reading("eccentricity", third, small(), e, p.id) for p in tests["eccentricity"].positions]
    for point, m in (("repeat_half", half), ("repeat_max", cap)):
        base = small()
        out += [_reading(point, m, base + rng.randint(0, 2) * tenth, e) for _ in range(3)]
    for m in (loads[0], half, cap):
        out.append(ReadingInput("discrimination", str(m), str(m), indication_after=str(m + e)))
    out.append(_reading("zero_setting", Decimal(0), rng.randint(-2, 2) * tenth, e))
    return out
