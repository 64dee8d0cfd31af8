"""Helpers for the list-page tests: many people at once (rows written straight into the test database,
with one password hash copied: a list's paging is under test, not creating accounts), and a list page
read back as the rows it shows and the pager links it offers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from html import unescape

from sqlalchemy import event, insert, select

from jiliang.platform import Platform, shanghai_today
from jiliang.registry.tables import qualifications, users

__all__ = ["add_staff", "shown", "links", "walk", "counted"]


def add_staff(platform: Platform, institution_id: int, names: list[str], item_code: str = "nawi") -> list[int]:
    """People of the institution (verifiers, each qualified for `item_code` for a year); their ids."""
    with platform.engine.begin() as c:
        password_hash = c.execute(select(users.c.password_hash).where(users.c.username == "admin")).scalar_one()
        ids = []
        for name in names:
            ids.append(
                c.execute(
                    insert(users)
                    .values(
                        username=name,
                        password_hash=password_hash,
                        display_name=f"人员{name}",
                        roles="verifier",
                        institution_id=institution_id,
                        active=True,
                    )
                    .returning(users.c.id)
                ).scalar_one()
            )
        today = shanghai_today()
        c.execute(
            insert(qualifications),
            [
                {
                    "user_id": uid,
                    "item_code": item_code,
                    "certificate_no": f"Q-{uid}",
                    "valid_from": today - timedelta(days=365),
                    "valid_until": today + timedelta(days=365),
                }
                for uid in ids
            ],
        )
    return ids


def shown(html: str, attribute: str) -> list[str]:
    """The values of `attribute` on the list's rows, in the page's order (e.g. data-user)."""
    return re.findall(rf'<tr[^>]* {attribute}="([^"]+)"', html)


def links(html: str) -> dict[str, str]:
    """The pager's links by their place: first, prev, next, last."""
    return {
        rel: unescape(href) for href, rel in re.findall(r'<a class="button" href="([^"]+)"[^>]*data-page="(\w+)"', html)
    }


def walk(client, url: str, attribute: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Every page from `url` on by its Next link: the rows each shows."""
    pages = []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        pages.append(shown(r.text, attribute))
        url = links(r.text).get("next", "")
    return pages


@contextmanager
def counted(platform: Platform) -> Iterator[list[str]]:
    """The SQL statements the platform's engine runs meanwhile."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(platform.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(platform.engine, "before_cursor_execute", count)
