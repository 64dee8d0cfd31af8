"""The owner's pages (/owner/…) answer only to an owner's users. Anyone else — staff, a regulator, an
administrator — is refused as every page of another role refuses them (403, the page saying whose
pages these are), before any id in the address is looked at, so the answer tells nothing about it."""

from __future__ import annotations

from fastapi import Depends

from ..errors import Forbidden
from .session import PageActor

__all__ = ["OWNER_PAGES"]


def _owner_only(actor: PageActor) -> None:
    if actor.owner_id is None or not actor.has("owner_user"):
        raise Forbidden(
            "这些页面供使用单位使用，您的页面在上方菜单中 / "
            "these pages are for instrument owners: yours are in the menu above",
            rule="owner_pages",
        )


OWNER_PAGES = Depends(_owner_only)  # a router dependency of every owner page
