"""A new metrology institution (检定机构), added by an administrator after `jiliang init` seeded the
first ones (registry/institutions.yaml). In one transaction it gets what a seeded institution gets at
`init`: its row, its signing key for the certificate JSON (certificates/keys.py) and its X.509
certificate under the platform root for its PDFs (certificates/pki.py); each ledgered, with its
audit event. It is authorised for no item yet: the administrator sets them on its page."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from ..audit import record_event
from ..auth import Actor
from ..certificates.keys import replace_institution_key
from ..certificates.pki import issue_institution_certificate
from ..db import UnitOfWork
from ..errors import InvalidInput, RuleViolation
from ..ledger.append import track
from .directory import District, list_districts
from .tables import districts, institutions

__all__ = ["CODE_MAX", "NAME_MAX", "NewInstitution", "create_institution", "district_choices"]

CODE_MAX = 16  # institutions.code
NAME_MAX = 128  # institutions.name_zh, name_en
SIGNING_ALGORITHM = "Ed25519"  # as `init` gives the seeded institutions
_CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?")
_DISTRICT = re.compile(r"[0-9]{6}")  # as reference/shanghai_districts.csv: 310104


@dataclass(frozen=True)
class NewInstitution:
    id: int
    code: str
    name_zh: str
    name_en: str
    district_code: str | None
    cross_district: bool
    signing_kid: str
    x509_serial: str


def district_choices(conn: Connection, actor: Actor) -> list[District]:
    """The districts a new institution may belong to, for the administrator's form."""
    actor.require("admin")
    return list_districts(conn)


def _code(text: str) -> str:
    """As typed, full-width letters and lower case allowed: D310104, SIMT, SH-LAB-2."""
    code = unicodedata.normalize("NFKC", text or "").strip().upper()
    if not code:
        raise InvalidInput("请填写机构代码 / give the institution's code", rule="code")
    if len(code) > CODE_MAX or not _CODE.fullmatch(code):
        raise InvalidInput(
            f"机构代码由大写字母、数字和连字符组成，最多 {CODE_MAX} 个字符（如 D310104、SIMT） / the institution "
            f"code is capital letters, digits and hyphens, at most {CODE_MAX} characters (e.g. D310104, SIMT)",
            rule="code",
        )
    return code


def _name(text: str, zh: str, en: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", text or "").split())
    if not name:
        raise InvalidInput(f"请填写{zh} / give the {en}", rule="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"{zh}最多 {NAME_MAX} 个字符 / the {en} has at most {NAME_MAX} characters", rule="name")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in name):
        raise InvalidInput(f"{zh}只能是可打印的文字 / the {en} must be printable text", rule="name")
    return name


def create_institution(
    uow: UnitOfWork,
    actor: Actor,
    code: str,
    name_zh: str,
    name_en: str,
    district_code: str | None,
    cross_district: bool,
) -> NewInstitution:
    """Adds the institution with its signing key and PDF certificate, ready to issue certificates once
    it has staff and authorised items. Refused, with nothing written: a code in use, a name missing, a
    district that is not Shanghai's, or neither a district nor city-wide work."""
    actor.require("admin")
    code = _code(code)
    zh = _name(name_zh, "中文名称", "Chinese name")
    en = _name(name_en, "英文名称", "English name")
    district = (district_code or "").strip() or None
    if district is None and not cross_district:
        raise InvalidInput(
            "请选择机构所在的区，或勾选“跨区承担检定” / choose the institution's district, or tick "
            "“works across districts”: otherwise no task would ever come to it",
            rule="district",
        )
    with uow:
        conn = uow.conn
        if district is not None and (
            not _DISTRICT.fullmatch(district)
            or conn.execute(select(districts.c.code).where(districts.c.code == district)).first() is None
        ):
            raise InvalidInput(f"没有区代码 {district} / no district {district}", rule="district")
        if conn.execute(select(institutions.c.id).where(institutions.c.code == code)).first() is not None:
            raise RuleViolation(f"机构代码 {code} 已被使用 / the institution code {code} is taken", rule="duplicate")
        values = {
            "code": code,
            "name_zh": zh,
            "name_en": en,
            "district_code": district,
            "cross_district": cross_district,
            "signing_algorithm": SIGNING_ALGORITHM,
        }
        try:
            iid = conn.execute(insert(institutions).values(**values).returning(institutions.c.id)).scalar_one()
        except IntegrityError:  # the same code added at the same moment by another administrator
            raise RuleViolation(
                f"机构代码 {code} 已被使用 / the institution code {code} is taken", rule="duplicate"
            ) from None
        track(uow, "institution", [iid], new=True)
        kid = replace_institution_key(uow, code, SIGNING_ALGORITHM)  # tracks the key and the row again
        serial = issue_institution_certificate(uow, iid)
        record_event(
            uow,
            actor.user_id,
            "institution.created",
            "institution",
            iid,
            None,
            {**values, "signing_kid": kid, "x509_serial": serial},
            iid,
        )
        uow.commit()
    return NewInstitution(iid, code, zh, en, district, cross_district, kid, serial)
