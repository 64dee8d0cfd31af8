"""The certificates-per-month chart's series (web/supervision_views.chart_data): every institution in a
colour of its own up to the palette's twenty — Shanghai's seventeen institutes among them — and past
that the smallest drawn together as one grey series, their counts summed month by month."""

from __future__ import annotations

from datetime import date

from jiliang.supervision import CertificateSeries
from jiliang.supervision.issuance import InstitutionSeries
from jiliang.web.supervision_views import PALETTE, chart_data


def _lab(colour: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB hex colour (IEC 61966-2-1, CIE 15)."""
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _delta_e(a: str, b: str) -> float:
    """CIE76 colour difference: about 2 is just noticeable, past 10 the two read as different colours."""
    return float(sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b), strict=True)) ** 0.5)


def _series(n: int) -> CertificateSeries:
    months = (date(2026, 1, 1), date(2026, 2, 1))
    institutions = tuple(
        InstitutionSeries(i, f"D{310100 + i}", f"机构{i}", f"Institute {i}", (i, 2 * i), 3 * i) for i in range(1, n + 1)
    )
    totals = tuple(sum(s.counts[m] for s in institutions) for m in range(2))
    return CertificateSeries(months, institutions, totals, sum(totals))


def test_seventeen_institutions_get_seventeen_colours_far_apart() -> None:
    bars = chart_data(_series(17), "zh-CN", lambda m: m)["series"]
    assert [b["code"] for b in bars] == [f"D{310100 + i}" for i in range(1, 18)]
    colours = [b["color"] for b in bars]
    assert len(set(colours)) == 17
    # no two alike (ECharts' default nine repeat from the tenth series on)
    for i, a in enumerate(colours):
        for b in colours[i + 1 :]:
            assert _delta_e(a, b) > 12, (a, b)


def test_past_twenty_the_smallest_institutions_are_one_grey_series_summed() -> None:
    data = chart_data(_series(25), "en", lambda m: m)
    bars = data["series"]
    assert len(bars) == len(PALETTE) == 20
    kept = {b["code"] for b in bars[:-1]}
    assert kept == {f"D{310100 + i}" for i in range(7, 26)}  # the 19 with the most certificates
    others = bars[-1]
    assert others["name"] == "Other institutions (6)" and others["code"] == ""
    assert others["data"] == [sum(range(1, 7)), 2 * sum(range(1, 7))]
    assert len({b["color"] for b in bars}) == 20
    assert sum(sum(b["data"]) for b in bars) == _series(25).total  # nothing lost from the stack
