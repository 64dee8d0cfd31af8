"""What an institution's printed certificates carry besides the signed payload: its 计量授权证书 number
and its 检定专用章 (the seal image, checked in seal_image.py). An administrator sets them for any
institution, a lab manager for their own only; each change is one transaction with its audit event
and its ledger entry (the institution record, v2 with its number; the seal as its image's digest)."""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..audit import record_event
from ..auth import Actor
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound
from ..ledger.append import track
from ..listing import Keyset, KeysetPage, contains
from ..types import utcnow
from .seal_image import SealImage, seal_image
from .tables import institution_seals, institutions, users

__all__ = [
    "AUTHORISATION_NO_MAX",
    "institution_settings",
    "institution_overview",
    "seal_png",
    "printed_marks",
    "set_authorisation_no",
    "upload_seal",
    "remove_seal",
]

AUTHORISATION_NO_MAX = 64  # institutions.authorisation_no


def _managed(conn: Connection, actor: Actor, code: str) -> Any:
    """The institution the actor may manage: any for an administrator, their own for a lab manager.
    Another institution is not there for a lab manager: the same answer as a code that names none
    (the role is checked first, so other roles are refused whatever the code)."""
    if not actor.has("admin"):
        actor.require("lab_manager")
    row = conn.execute(select(institutions).where(institutions.c.code == code)).first()
    if row is None or not (actor.has("admin") or row.id == actor.institution_id):
        raise NotFound(f"没有机构 {code} / no institution {code}")
    return row


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (the first, right after the signature)."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _seal_facts(png: bytes, uploaded_at: Any, uploaded_by: str | None) -> dict[str, Any]:
    width, height = _png_size(png)
    return {
        "sha256": hashlib.sha256(png).hexdigest(),
        "size_bytes": len(png),
        "width": width,
        "height": height,
        "uploaded_at": uploaded_at,
        "uploaded_by": uploaded_by,
    }


def institution_settings(conn: Connection, actor: Actor, code: str) -> dict[str, Any]:
    """The institution's name, authorisation number and seal (its facts, not the image)."""
    inst = _managed(conn, actor, code)
    seal = conn.execute(
        select(institution_seals.c.png, institution_seals.c.uploaded_at, users.c.display_name)
        .join(users, users.c.id == institution_seals.c.uploaded_by)
        .where(institution_seals.c.institution_id == inst.id)
    ).first()
    return {
        "code": inst.code,
        "name_zh": inst.name_zh,
        "name_en": inst.name_en,
        "authorisation_no": inst.authorisation_no,
        "seal": None if seal is None else _seal_facts(bytes(seal.png), seal.uploaded_at, seal.display_name),
    }


def institution_overview(conn: Connection, actor: Actor, at: Keyset, search: str = "") -> KeysetPage[dict[str, Any]]:
    """A page of the institutions the actor manages (all for an administrator) with its number and
    whether it has a seal, in id order; those `search` finds by name (either language) or code."""
    if not actor.has("admin"):
        actor.require("lab_manager")
    i = institutions.c
    q = select(
        i.id,
        i.code,
        i.name_zh,
        i.name_en,
        i.authorisation_no,
        institution_seals.c.uploaded_at.label("seal_uploaded_at"),
    ).select_from(institutions.outerjoin(institution_seals, institution_seals.c.institution_id == i.id))
    if not actor.has("admin"):
        q = q.where(i.id == actor.institution_id)
    if (found := contains(search, i.name_zh, i.name_en, i.code)) is not None:
        q = q.where(found)
    return at.fetch(conn, q, i.id, lambda r: dict(r._mapping))


def seal_png(conn: Connection, actor: Actor, code: str) -> bytes:
    inst = _managed(conn, actor, code)
    png = conn.execute(
        select(institution_seals.c.png).where(institution_seals.c.institution_id == inst.id)
    ).scalar_one_or_none()
    if png is None:
        raise NotFound(f"机构 {code} 尚未上传检定专用章 / institution {code} has no seal uploaded")
    return bytes(png)


def printed_marks(conn: Connection, institution_id: int) -> tuple[str | None, bytes | None]:
    """The authorisation number and the seal image a certificate of this institution prints, in one
    statement (the PDF's path: whoever asks has been allowed to see the certificate already)."""
    row = conn.execute(
        select(institutions.c.authorisation_no, institution_seals.c.png)
        .select_from(institutions.outerjoin(institution_seals, institution_seals.c.institution_id == institutions.c.id))
        .where(institutions.c.id == institution_id)
    ).first()
    if row is None:
        return None, None
    return row.authorisation_no, None if row.png is None else bytes(row.png)


def _authorisation_no(text: str | None) -> str | None:
    """As typed (NFC), trimmed; empty: not recorded. One line of printable text, at most 64 characters."""
    number = unicodedata.normalize("NFC", text or "").strip()
    if not number:
        return None
    if len(number) > AUTHORISATION_NO_MAX:
        raise InvalidInput(
            f"计量授权证书编号最多 {AUTHORISATION_NO_MAX} 个字符 / the authorisation number has at most "
            f"{AUTHORISATION_NO_MAX} characters",
            rule="authorisation_no",
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in number):
        raise InvalidInput(
            "计量授权证书编号只能是一行可打印的文字 / the authorisation number must be one line of printable text",
            rule="authorisation_no",
        )
    return number


def set_authorisation_no(uow: UnitOfWork, actor: Actor, code: str, text: str | None) -> str | None:
    """Records (or, given empty, clears) the institution's authorisation number; returns it as kept."""
    number = _authorisation_no(text)
    with uow:
        inst = _managed(uow.conn, actor, code)
        if number == inst.authorisation_no:
            return number  # nothing changes: no event, no ledger entry
        uow.conn.execute(update(institutions).where(institutions.c.id == inst.id).values(authorisation_no=number))
        track(uow, "institution", [inst.id])
        record_event(
            uow,
            actor.user_id,
            "institution.authorisation_no_set",
            "institution",
            inst.id,
            {"authorisation_no": inst.authorisation_no},
            {"authorisation_no": number},
            inst.id,
        )
        uow.commit()
    return number


def upload_seal(uow: UnitOfWork, actor: Actor, code: str, data: bytes) -> SealImage:
    """Checks the uploaded PNG and keeps it as the institution's seal, replacing any earlier one."""
    with uow:
        inst = _managed(uow.conn, actor, code)  # who may, before the image is looked at
        image = seal_image(data)  # decoded here: an upload is rare, and a few tens of milliseconds
        old = uow.conn.execute(
            select(institution_seals.c.png).where(institution_seals.c.institution_id == inst.id)
        ).scalar_one_or_none()
        values = {"png": image.png, "uploaded_at": utcnow(), "uploaded_by": actor.user_id}
        if old is None:
            uow.conn.execute(insert(institution_seals).values(institution_id=inst.id, **values))
        else:
            uow.conn.execute(
                update(institution_seals).where(institution_seals.c.institution_id == inst.id).values(**values)
            )
        track(uow, "institution_seal", [inst.id], new=old is None)
        record_event(
            uow,
            actor.user_id,
            "institution.seal_uploaded" if old is None else "institution.seal_replaced",
            "institution",
            inst.id,
            None if old is None else {"seal_sha256": hashlib.sha256(bytes(old)).hexdigest()},
            {"seal_sha256": image.sha256, "width": image.width, "height": image.height, "size_bytes": len(image.png)},
            inst.id,
        )
        uow.commit()
    return image


def remove_seal(uow: UnitOfWork, actor: Actor, code: str) -> None:
    """Removes the institution's seal: its certificates print the place for it again."""
    with uow:
        inst = _managed(uow.conn, actor, code)
        old = uow.conn.execute(
            select(institution_seals.c.png).where(institution_seals.c.institution_id == inst.id)
        ).scalar_one_or_none()
        if old is None:
            raise NotFound(f"机构 {code} 尚未上传检定专用章 / institution {code} has no seal uploaded")
        uow.conn.execute(delete(institution_seals).where(institution_seals.c.institution_id == inst.id))
        track(uow, "institution_seal", [inst.id])
        record_event(
            uow,
            actor.user_id,
            "institution.seal_removed",
            "institution",
            inst.id,
            {"seal_sha256": hashlib.sha256(bytes(old)).hexdigest()},
            None,
            inst.id,
        )
        uow.commit()
