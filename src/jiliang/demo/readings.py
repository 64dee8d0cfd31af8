"""Synthetic readings whose verdict is genuine: errors are drawn against the MPE the procedure gives
for each point (a pass stays within ±MPE after rounding to the resolution; a fail is well outside)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from ..measurement.conformity import PointReading, evaluate
from ..measurement.procedure import Procedure
from ..verification.readings import parse_reading
from ..verification.service import ReadingInput
from .scale_readings import scale_readings

__all__ = ["verification_readings", "calibration_readings"]


def _resolution(params: Mapping[str, str]) -> Decimal:
    return Decimal(params.get("resolution") or params["e"])


def _fmt(value: Decimal, resolution: Decimal) -> str:
    places = max(0, -resolution.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{value:.{places}f}"


def verification_readings(
    procedure: Procedure,
    on: date,
    stage: str,
    params: Mapping[str, str],
    points: Sequence[tuple[str, ...]],  # (point id, reference)
    passes: bool,
    rng: random.Random,
) -> list[ReadingInput]:
    """Readings at (point id, reference) pairs that pass, or fail at one or two points.

    The MPE of each point comes from evaluating an exact reading against the edition in force on `on`.
    """
    edition = procedure.edition_on(on)
    if edition.declared_tests and not params.get("resolution"):  # a JJG 539 scale (d = e): the regulation's tests
        loads = [Decimal(ref) for pid, ref in points if pid == "load"]
        readings = scale_readings(edition, Decimal(params["e"]), loads, passes, rng)
        _check(procedure, on, stage, params, readings, passes)
        return readings
    res = _resolution(params)
    exact = [PointReading(pid, Decimal(ref), Decimal(ref)) for pid, ref in points]
    ev = evaluate(procedure, on, stage, params, exact)
    steps: list[int] = []
    for pr in ev.points:
        assert pr.mpe_lower is not None and pr.mpe_upper is not None, f"{procedure.item_code}: no MPE at {pr.point_id}"
        scale = pr.reference / 100 if pr.mpe_unit == "%" else Decimal(1)
        lo = math.ceil(pr.mpe_lower * scale / res)
        hi = math.floor(pr.mpe_upper * scale / res)
        k = round(rng.gauss(0, max(hi - lo, 1) / 6))
        steps.append(min(max(k, lo), hi))
    if not passes:
        bad = rng.sample(range(len(points)), k=min(len(points), rng.choice((1, 1, 2))))
        for i in bad:
            pr = ev.points[i]
            assert pr.mpe_lower is not None and pr.mpe_upper is not None
            scale = pr.reference / 100 if pr.mpe_unit == "%" else Decimal(1)
            hi = math.floor(pr.mpe_upper * scale / res)
            lo = math.ceil(pr.mpe_lower * scale / res)
            over = rng.randint(1, max(2, hi - lo))  # one to about two MPE widths beyond the limit
            steps[i] = hi + over if rng.random() < 0.6 else lo - over
    readings = [
        ReadingInput(pid, ref, _fmt(Decimal(ref) + k * res, res)) for (pid, ref), k in zip(points, steps, strict=True)
    ]
    _check(procedure, on, stage, params, readings, passes)
    return readings


def _check(
    procedure: Procedure,
    on: date,
    stage: str,
    params: Mapping[str, str],
    readings: Sequence[ReadingInput],
    passes: bool,
) -> None:
    got = evaluate(procedure, on, stage, params, [parse_reading(r) for r in readings])
    expected = "pass" if passes else "fail"
    if got.verdict != expected:  # a generator bug, never a data condition
        raise AssertionError(f"demo readings for {procedure.item_code} gave {got.verdict}, meant {expected}")


def calibration_readings(points: Sequence[tuple[str, str, str]], rng: random.Random) -> list[ReadingInput]:
    """Calibration points (id, reference, expanded uncertainty U) with k = 2 and a small random error."""
    out = []
    for pid, ref, u in points:
        ref_d, u_d = Decimal(ref), Decimal(u)
        error = u_d * Decimal(str(round(rng.uniform(-1.2, 1.2), 2)))
        places = max(0, -u_d.normalize().as_tuple().exponent) + 1  # type: ignore[operator]
        out.append(ReadingInput(pid, ref, f"{ref_d + error:.{places}f}", expanded_uncertainty=u, coverage_factor="2"))
    return out
