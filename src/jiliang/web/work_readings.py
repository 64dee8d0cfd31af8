"""The results form as typed: its rows of readings (point, reference, indication and, for a
calibration, U and k) and the fields around them, read from the posted form and turned into the
service's `ReadingInput` / `ResultsInput`. Blank rows are left out; lengths are those stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from fastapi import Request

from ..errors import InvalidInput
from ..platform import shanghai_today
from ..verification.readings import ReadingInput
from ..verification.results import ResultsInput
from .work_common import form_date

__all__ = ["TypedResults", "typed_results", "MAX_ROWS"]

MAX_ROWS = 200
MAX_ENVIRONMENT = 20
# the stored lengths (verification/tables.py measurement_points), as the JSON API checks them
_LIMITS = {
    "point_id": 32,
    "reference": 32,
    "indication": 32,
    "u": 32,
    "k": 8,
    "added_load": 32,  # ΔL of the changeover-point method
    "position": 16,  # eccentricity: where the load stands
    "indication_after": 32,  # discrimination: the indication after the extra load
}


@dataclass
class TypedResults:
    """What the verifier typed, kept as text so a refused form comes back exactly as it was."""

    performed_on: str = ""
    stage: str = ""
    standard_ids: list[str] = field(default_factory=list)
    rows: list[ReadingInput] = field(default_factory=list)
    temperature: str = ""
    humidity: str = ""
    valid_until: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # the budget's environment entries (env_<name>)

    def on(self) -> date:
        """The verification date, today when not (or not validly) given: the live preview needs one."""
        try:
            return date.fromisoformat(self.performed_on.strip())
        except ValueError:
            return shanghai_today()

    def readings(self) -> list[ReadingInput]:
        """The rows typed in (a pre-filled position alone does not make a row)."""
        return [r for r in self.rows if r.reference.strip() or r.indication.strip()]

    def environment(self) -> dict[str, str]:
        given = {"temperature": self.temperature, "humidity": self.humidity, **self.extra}
        return {k: v.strip() for k, v in given.items() if v.strip()}

    def chosen_standards(self) -> list[int]:
        """The ticked standards that are numbers (the live preview ignores the rest)."""
        return [int(s) for s in self.standard_ids if s.isdigit()]

    def to_input(self) -> ResultsInput:
        """The service's input; a clear message for what the service cannot take."""
        performed_on = form_date(self.performed_on, "检定日期 / verification date")
        assert performed_on is not None
        try:
            standard_ids = [int(s) for s in self.standard_ids]
        except ValueError:
            raise InvalidInput("计量标准选择有误 / the choice of standards is not valid") from None
        return ResultsInput(
            performed_on=performed_on,
            standard_ids=standard_ids,
            readings=self.readings(),
            stage=self.stage or None,
            environment=self.environment(),
            institution_valid_until=form_date(self.valid_until, "有效期至 / valid-until date", required=False),
        )


def _texts(values: Sequence[object], n: int) -> list[str]:
    texts = [v.strip() if isinstance(v, str) else "" for v in values]
    return texts + [""] * (n - len(texts))


async def typed_results(request: Request) -> TypedResults:
    """Dependency: the posted results form (also what the live evaluation posts)."""
    form = await request.form()
    columns = {name: list(form.getlist(name)) for name in _LIMITS}
    n = max(len(columns["point_id"]), len(columns["reference"]), len(columns["indication"]))
    if n > MAX_ROWS:
        raise InvalidInput(f"一次最多录入 {MAX_ROWS} 行 / at most {MAX_ROWS} rows at a time")
    cols = {name: _texts(values, n) for name, values in columns.items()}
    for name, limit in _LIMITS.items():
        if any(len(v) > limit for v in cols[name]):
            raise InvalidInput(f"{name} 最多 {limit} 个字符 / {name}: at most {limit} characters")
    rows = [
        ReadingInput(
            cols["point_id"][i],
            cols["reference"][i],
            cols["indication"][i],
            cols["u"][i] or None,
            cols["k"][i] or None,
            cols["added_load"][i] or None,
            cols["position"][i] or None,
            cols["indication_after"][i] or None,
        )
        for i in range(n)
    ]

    def text(name: str, limit: int = 64) -> str:
        value = form.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if len(value) > limit:
            raise InvalidInput(f"{name} 最多 {limit} 个字符 / {name}: at most {limit} characters")
        return value

    extra = {
        key.removeprefix("env_"): text(key)
        for key in list(form.keys())[:200]
        if key.startswith("env_") and key.removeprefix("env_").isidentifier()
    }
    if len(extra) > MAX_ENVIRONMENT:
        raise InvalidInput(f"环境条目最多 {MAX_ENVIRONMENT} 项 / at most {MAX_ENVIRONMENT} environment entries")
    return TypedResults(
        performed_on=text("performed_on", 10),
        stage=text("stage", 16),
        standard_ids=[v for v in form.getlist("standard_ids") if isinstance(v, str)][:50],
        rows=rows,
        temperature=text("temperature"),
        humidity=text("humidity"),
        valid_until=text("valid_until", 10),
        extra=extra,
    )
