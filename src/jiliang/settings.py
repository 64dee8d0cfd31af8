"""Runtime settings, read from JILIANG_* environment variables (twelve-factor style)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MIN_RETENTION_DAYS = 183  # audit events: six months at least (GB/T 22239-2019 level 3)


def check_retention(days: int) -> int:
    if days != 0 and days < MIN_RETENTION_DAYS:
        raise ValueError(
            f"JILIANG_AUDIT_RETENTION_DAYS={days}: audit events are kept at least {MIN_RETENTION_DAYS} days "
            "(0 keeps them for ever)"
        )
    return days


__all__ = ["Settings", "get_settings"]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    procedures_dir: Path | None
    public_rate_limit: int  # requests per minute per client address on public endpoints; 0 = off
    token_ttl_minutes: int
    ledger_origin: str = "jiliang.local/ledger"  # names the log in its checkpoints
    ledger_sm2: bool = False  # co-sign checkpoints with SM2/SM3 too
    checkpoint_log: Path | None = None  # copy of every checkpoint outside the database
    checkpoint_interval: int = 300  # seconds between scheduled checkpoints while serving; 0 = off
    witness_url: str | None = None  # a `jiliang witness` to cosign checkpoints
    witness_key: Path | None = None  # its public key file (as `jiliang witness init` prints it)
    max_body_bytes: int = 1_048_576  # a request body above this is refused (413) before it is parsed
    login_max_failures: int = 5  # consecutive wrong passwords (login or signing) that lock an account
    login_lock_minutes: int = 15  # how long the lock holds
    login_rate_limit: int = 30  # login attempts per minute per client address; 0 = off
    audit_retention_days: int = 0  # audit events older than this may be archived; 0 = kept for ever
    db_pool_size: int = 10  # connections each process keeps open
    db_max_overflow: int = 50  # more it may open under load (closed when returned)
    page_cache_bytes: int = 33_554_432  # API list pages each process keeps (page_cache.py); 0 = none
    public_url: str = "http://localhost:8000"  # where the public reach the platform: a certificate's QR code
    tsa_url: str | None = None  # an RFC 3161 time-stamp server: PDF signatures become PAdES B-T

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("JILIANG_DATA_DIR", "jiliang-data")).resolve()
        url = os.environ.get("JILIANG_DATABASE_URL") or f"sqlite:///{data_dir / 'jiliang.db'}"
        proc = os.environ.get("JILIANG_PROCEDURES_DIR")
        return cls(
            data_dir=data_dir,
            database_url=url,
            procedures_dir=Path(proc).resolve() if proc else None,
            public_rate_limit=int(os.environ.get("JILIANG_PUBLIC_RATE_LIMIT", "120")),
            token_ttl_minutes=int(os.environ.get("JILIANG_TOKEN_TTL_MINUTES", "480")),
            ledger_origin=os.environ.get("JILIANG_LEDGER_ORIGIN", "jiliang.local/ledger"),
            ledger_sm2=os.environ.get("JILIANG_LEDGER_SM2", "") in ("1", "true", "yes"),
            checkpoint_log=Path(os.environ.get("JILIANG_CHECKPOINT_LOG") or data_dir / "checkpoints.log").resolve(),
            checkpoint_interval=int(os.environ.get("JILIANG_CHECKPOINT_INTERVAL", "300")),
            witness_url=os.environ.get("JILIANG_WITNESS_URL") or None,
            witness_key=Path(os.environ["JILIANG_WITNESS_KEY"]).resolve()
            if os.environ.get("JILIANG_WITNESS_KEY")
            else None,
            max_body_bytes=int(os.environ.get("JILIANG_MAX_BODY_BYTES", "1048576")),
            login_max_failures=int(os.environ.get("JILIANG_LOGIN_MAX_FAILURES", "5")),
            login_lock_minutes=int(os.environ.get("JILIANG_LOGIN_LOCK_MINUTES", "15")),
            login_rate_limit=int(os.environ.get("JILIANG_LOGIN_RATE_LIMIT", "30")),
            audit_retention_days=check_retention(int(os.environ.get("JILIANG_AUDIT_RETENTION_DAYS", "0"))),
            db_pool_size=int(os.environ.get("JILIANG_DB_POOL_SIZE", "10")),
            db_max_overflow=int(os.environ.get("JILIANG_DB_MAX_OVERFLOW", "50")),
            page_cache_bytes=int(os.environ.get("JILIANG_PAGE_CACHE_BYTES", "33554432")),
            public_url=os.environ.get("JILIANG_PUBLIC_URL", "http://localhost:8000"),
            tsa_url=os.environ.get("JILIANG_TSA_URL") or None,
        )


def get_settings() -> Settings:
    return Settings.from_env()
