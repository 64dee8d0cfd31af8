"""The running platform: settings, database engine, loaded procedures; hands out units of work."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from . import (
    auth,
    schema,  # noqa: F401 - every table known and its columns checked before any statement
)
from .db import UnitOfWork, make_engine
from .ledger.mac import LedgerMacKey, load_mac_key
from .measurement.procedure import Procedure, load_procedures
from .settings import Settings
from .types import utcnow

__all__ = ["Platform", "SHANGHAI", "shanghai_today"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


class Platform:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
        self.engine = engine or make_engine(settings.database_url, **pool)
        auth.configure(auth.LoginPolicy(settings.login_max_failures, settings.login_lock_minutes))

    @property
    def ledger_mac(self) -> LedgerMacKey | None:
        """The ledger's MAC key from the key folder (read again only when the file changes)."""
        return load_mac_key(self.settings.data_dir)

    @cached_property
    def procedures(self) -> dict[str, Procedure]:
        return load_procedures(self.settings.procedures_dir)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self)
