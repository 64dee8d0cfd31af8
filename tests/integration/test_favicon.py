"""The site's icon: where a browser looks for it unasked (/favicon.ico, no 404 in the console on a first
visit) and linked from every page's head, both served from the package."""

from __future__ import annotations

import re


def test_the_icon_is_served_where_browsers_look_and_linked_from_every_page(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00" and int.from_bytes(r.content[4:6], "little") >= 2  # an ICO, sizes
    assert "max-age" in r.headers["cache-control"]
    for page in ("/login", "/public/verify", "/signup"):
        link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', client.get(page).text)
        assert link, page
        svg = client.get(link.group(1))
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.lstrip().startswith("<svg")
