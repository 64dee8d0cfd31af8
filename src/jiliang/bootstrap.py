"""`jiliang init`: create or upgrade the schema, load reference data, make keys and the first admin."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select

from .auth import hash_password
from .certificates.keys import ensure_institution_keys
from .certificates.pki import ensure_pdf_certificates
from .ledger.append import adopt_existing, adopt_new_kinds, track
from .ledger.keys import ensure_platform_keys
from .ledger.mac import ensure_mac_key
from .ledger.procedures import sync_procedures
from .ledger.tiles import tree_size
from .migrate import upgrade
from .platform import Platform, shanghai_today
from .registry.seed import seed_reference_data
from .registry.tables import users
from .settings import Settings
from .supervision.counts import ensure as ensure_counts

__all__ = ["ADMIN_NAME", "InitReport", "init_platform"]

# the name of the account `init` makes, which belongs to no person: pages show it as the role's name in
# their language (web/render.py `person`)
ADMIN_NAME = "系统管理员"


@dataclass(frozen=True)
class InitReport:
    seeded: bool
    keys_created: int
    admin_password: str | None  # only when the admin account was created just now


def init_platform(settings: Settings) -> tuple[Platform, InitReport]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    platform = Platform(settings)
    upgrade(platform.engine)
    with platform.engine.connect() as conn:  # MACs from here on; older leaves stand on their checkpoints
        ensure_mac_key(settings.data_dir, tree_size(conn))
    adopt_existing(platform.uow())  # rows of a database from before the ledger
    adopt_new_kinds(platform.uow())  # rows of kinds this version ledgers for the first time
    seeded = seed_reference_data(platform.uow())
    keys = ensure_institution_keys(platform.uow()) + ensure_platform_keys(platform.uow())
    keys += ensure_pdf_certificates(platform.uow())  # the root CA and each institution's PDF certificate
    with platform.uow() as uow:  # the procedures in force, as the ledger will hold them
        sync_procedures(uow.conn, platform.procedures, platform.ledger_mac)
        uow.commit()
    with platform.uow() as uow:  # the coverage counts the dashboard reads, built once
        ensure_counts(uow.conn, shanghai_today())
        uow.commit()
    admin_password = None
    uow = platform.uow()
    with uow:
        if uow.conn.execute(select(users.c.id).where(users.c.username == "admin")).first() is None:
            admin_password = os.environ.get("JILIANG_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            uid = uow.conn.execute(
                insert(users)
                .values(
                    username="admin",
                    password_hash=hash_password(admin_password),
                    display_name=ADMIN_NAME,
                    roles="admin",
                    active=True,
                )
                .returning(users.c.id)
            ).scalar_one()
            track(uow, "user", [uid], new=True)
            uow.commit()
    return platform, InitReport(seeded, keys, admin_password)
