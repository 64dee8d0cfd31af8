"""Runtime settings, read from JILIANG_* environment variables (twelve-factor style)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "get_settings"]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    procedures_dir: Path | None
    public_rate_limit: int  # requests per minute per client address on public endpoints; 0 = off
    token_ttl_minutes: int

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
        )


def get_settings() -> Settings:
    return Settings.from_env()
