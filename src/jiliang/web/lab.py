"""Pages under /lab (being built)."""

from __future__ import annotations

from .routing import page_router

__all__ = ["router"]

router = page_router("/lab")
