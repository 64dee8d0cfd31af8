"""QR codes on pages: inline SVG (segno), so a page or a printed label carries the code itself."""

from __future__ import annotations

import segno
from markupsafe import Markup

__all__ = ["qr_svg"]


def qr_svg(url: str, title: str, scale: int = 3, mask: int | None = None) -> Markup:
    """An SVG QR code of the absolute `url`, error correction M, with its four-module quiet zone;
    `title` is what a screen reader says of it. `mask`: None lets segno choose the best of eight
    (≈9 ms); a fixed one, as the printed certificate's, is three times cheaper (a busy page's)."""
    code = segno.make(url, error="m", micro=False, mask=mask)
    # a viewBox, no fixed size: the page sizes it (a label, a phone) and it scales instead of cropping
    return Markup(code.svg_inline(scale=scale, border=4, title=title, svgclass="qr", lineclass=None, omitsize=True))
