"""Scheduled checkpoints while the platform serves: one at start-up, then every
`JILIANG_CHECKPOINT_INTERVAL` seconds (default 300). Several worker processes may each run the
schedule: a checkpoint is only signed when the tree grew, under the ledger head's lock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from ..platform import Platform
from .checkpoints import issue_checkpoint

__all__ = ["with_checkpoint_schedule"]

log = logging.getLogger(__name__)


async def _every(platform: Platform, seconds: int) -> None:
    while True:
        try:
            await asyncio.to_thread(issue_checkpoint, platform)
        except Exception:  # the next round tries again; the error is in the log
            log.exception("scheduled checkpoint failed")
        await asyncio.sleep(seconds)


def with_checkpoint_schedule(app: FastAPI, platform: Platform) -> FastAPI:
    seconds = platform.settings.checkpoint_interval
    if seconds <= 0:
        return app
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        task = asyncio.create_task(_every(platform, seconds))
        try:
            async with inner(a) as state:
                yield state
        finally:
            task.cancel()

    app.router.lifespan_context = lifespan
    return app
