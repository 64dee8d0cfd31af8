"""JJG 539 readings written by hand for the tests: the changeover-point method's additional load ΔL that
gives a chosen error, and a complete set of the regulation's tests (all passing) around the readings a
test is about. Class III, e = d = 5 g, Max = 30 kg (6000e); loads in kg."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from jiliang.measurement import PointReading

E = Decimal("0.005")
MAX = Decimal(30)
SCALE_III = {"accuracy_class": "III", "e": E}


def changeover(point_id: str, load: Decimal, error: Decimal, position: str | None = None) -> PointReading:
    """A reading whose error before rounding is `error` (a multiple of 0.1e): the indication I is the
    multiple of e nearest L + E, and ΔL = I + ½e − E − L (OIML R 76-1 A.4.4.3 solved for ΔL)."""
    steps = (error / E + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)
    indication = load + steps * E
    added = indication + E / 2 - error - load
    assert 0 <= added <= E and (added / (E / 10)) % 1 == 0, (load, error, added)
    return PointReading(point_id, load, indication, added, position)


def load(m_e: int | Decimal, error_e: Decimal) -> PointReading:
    """A weighing-test reading at m_e·e with error error_e·e."""
    return changeover("load", Decimal(m_e) * E, Decimal(error_e) * E)


def zero(e0_e: Decimal = Decimal(0)) -> PointReading:
    return changeover("weighing_zero", Decimal(0), Decimal(e0_e) * E)


def weighing(extra: Sequence[PointReading] = ()) -> list[PointReading]:
    """E0 = 0 and five loads (Min = 20e, 500e, 2000e, 4000e, Max) without error, then `extra`."""
    return [zero(), *(load(m, Decimal(0)) for m in (20, 500, 2000, 4000, 6000)), *extra]


def eccentricity(errors_e: Sequence[Decimal] = (Decimal(0),) * 4, at: Decimal = MAX / 3) -> list[PointReading]:
    return [changeover("eccentricity", at, Decimal(err) * E, str(i + 1)) for i, err in enumerate(errors_e)]


def repeatability(half_e: Sequence[Decimal] = (Decimal(0),) * 3, full_e: Sequence[Decimal] = (Decimal(0),) * 3):
    return [changeover("repeat_half", MAX / 2, Decimal(x) * E) for x in half_e] + [
        changeover("repeat_max", MAX, Decimal(x) * E) for x in full_e
    ]


def discrimination(changes_e: Sequence[int] = (1, 1, 1)) -> list[PointReading]:
    loads = (Decimal(20) * E, MAX / 2, MAX)
    return [PointReading("discrimination", m, m, None, None, m + c * E) for m, c in zip(loads, changes_e, strict=True)]


def zero_setting(error_e: Decimal = Decimal(0)) -> list[PointReading]:
    return [changeover("zero_setting", Decimal(0), Decimal(error_e) * E)]


def complete(*, replace: dict[str, list[PointReading]] | None = None) -> list[PointReading]:
    """Every test required at initial verification, all passing; `replace` swaps a test's readings."""
    parts = {
        "weighing": weighing(),
        "eccentricity": eccentricity(),
        "repeatability": repeatability(),
        "discrimination": discrimination(),
        "zero_setting": zero_setting(),
    }
    parts.update(replace or {})
    return [r for readings in parts.values() for r in readings]


def as_inputs(readings: Sequence[PointReading]) -> list:
    """The readings as the service takes them (text, as typed)."""
    from jiliang.verification.readings import ReadingInput

    def text(v: Decimal | None) -> str | None:
        return None if v is None else str(v)

    return [
        ReadingInput(
            r.point_id,
            str(r.reference),
            str(r.indication),
            added_load=text(r.added_load),
            position=r.position,
            indication_after=text(r.indication_after),
        )
        for r in readings
    ]


def as_json(readings: Sequence[PointReading]) -> list[dict[str, str]]:
    """The readings as the JSON API takes them."""
    out = []
    for r in as_inputs(readings):
        row = {"point_id": r.point_id, "reference": r.reference, "indication": r.indication}
        row |= {k: v for k in ("added_load", "position", "indication_after") if (v := getattr(r, k)) is not None}
        out.append(row)
    return out


def failing() -> list[PointReading]:
    """A complete record whose weighing test fails: 2000e (10 kg) read with an error of 2e (MPE 1.0e)."""
    return complete(replace={"weighing": weighing([load(2000, Decimal(2))])})
