"""The one error a budget can cause: it names the field at fault, so the API answers 422 with it and the
CLI exits 2 with it."""

from __future__ import annotations

__all__ = ["BudgetError"]


class BudgetError(ValueError):
    """A budget that cannot be evaluated; names the field (e.g. inputs[2].half_width)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)
