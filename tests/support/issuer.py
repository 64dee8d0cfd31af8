"""Runs in a separate process: approves records (issuing certificates) as one approver."""

from __future__ import annotations

from pathlib import Path


def approve_all(
    url: str, data_dir: str, approver_id: int, password: str, record_ids: list[int], start: object
) -> list[str]:
    from jiliang.auth import confirm_password, load_actor
    from jiliang.platform import Platform
    from jiliang.settings import Settings
    from jiliang.verification.service import approve_record

    platform = Platform(Settings(Path(data_dir), url, None, 0, 60))
    with platform.engine.connect() as c:
        conf = confirm_password(c, load_actor(c, approver_id), password)
    start.wait()  # type: ignore[attr-defined]  # both processes begin issuing together
    numbers = [approve_record(platform.uow(), conf, rid) for rid in record_ids]
    platform.engine.dispose()
    return numbers
