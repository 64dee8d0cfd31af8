"""Pages under /work, the institution's workbench: the task queue and results form (work_tasks), the
record with its check and approval (work_records), and the issued certificates (work_certificates).
Each part builds its own page router; this module gathers them for `web.install`."""

from __future__ import annotations

from fastapi import APIRouter

from . import work_certificates, work_records, work_tasks

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
for _part in (work_tasks, work_records, work_certificates):
    router.include_router(_part.router)
