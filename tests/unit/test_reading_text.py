"""A reading's text becomes its exact Decimal, or is refused naming the point and what it is — the
second time as the first (parsed texts are remembered; refusals must be too)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jiliang.errors import InvalidInput
from jiliang.verification.readings import reading_decimal


@pytest.mark.parametrize(("text", "value"), [("25.005", "25.005"), (" 0.10 ", "0.10"), ("-3", "-3"), ("1E+2", "100")])
def test_a_reading_is_its_exact_decimal(text: str, value: str) -> None:
    for _ in range(2):
        got = reading_decimal(text, "示值 indication", "w1")
        assert got == Decimal(value) and str(got) == str(Decimal(text.strip()))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("abc", "is not a number"),
        ("NaN", "must be finite"),
        ("Infinity", "must be finite"),
        ("1E+13", "recordable range"),
    ],
)
def test_a_bad_reading_is_refused_each_time_naming_its_point(text: str, says: str) -> None:
    for point in ("w1", "w2"):
        with pytest.raises(InvalidInput, match=f"{point} 示值 indication.*{says}"):
            reading_decimal(text, "示值 indication", point)
    with pytest.raises(InvalidInput, match=f"^[^ ]*示值 indication.*{says}"):
        reading_decimal(text, "示值 indication")
