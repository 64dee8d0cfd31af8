"""The mandatory-verification catalogue 强制检定目录, loaded as data from the shipped reference CSVs.

Items come from mandatory_catalogue_2020.csv, instrument types and their periods from
verification_periods.csv; catalogue_map.yaml only supplies the join keys (ASCII item codes).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from jiliang.registry.periods import (
    Confidence,
    Period,
    PeriodMode,
    parse_confidence,
    parse_mode,
    parse_period,
    unknown_period,
)

__all__ = [
    "CATALOGUE_CSV",
    "CATALOGUE_MAP",
    "PERIODS_CSV",
    "REFERENCE_DIR",
    "Catalogue",
    "CatalogueError",
    "CatalogueItem",
    "CatalogueType",
    "load_catalogue",
]

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"
CATALOGUE_MAP = Path(__file__).resolve().parent / "catalogue_map.yaml"
CATALOGUE_CSV = "mandatory_catalogue_2020.csv"
PERIODS_CSV = "verification_periods.csv"

_CATALOGUE_COLUMNS = (
    "item_zh",
    "types_zh",
    "supervision_mode",
    "verification_scope",
    "verification_mode",
    "period_note",
    "source",
    "confidence",
)
_PERIODS_COLUMNS = (
    "instrument_zh",
    "instrument_en",
    "regulation",
    "current_edition_dates",
    "mode",
    "period_or_service_life",
    "other_limits",
    "source",
    "confidence",
)
_T = TypeVar("_T")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TRAILING_NOTE = re.compile(r"\s*\(([^()]*)\)\s*$")


class CatalogueError(ValueError):
    """The reference data or its join map is inconsistent; the message names the file and row."""


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """A first-level item of the catalogue (e.g. 水表). Text cells are kept verbatim.

    types_zh: the Chinese type names the catalogue row lists (empty when it lists none);
    mode: the verification mode when the row states it plainly, "unknown" when it is only
    expected/believed (the raw cell is in mode_text).
    """

    code: str
    name_zh: str
    types_zh: tuple[str, ...]
    supervision_mode: str
    scope: str
    mode: PeriodMode
    period_note: str
    source: str
    confidence: Confidence
    types_text: str = ""
    mode_text: str = ""
    name_en: str = ""


@dataclass(frozen=True, slots=True)
class CatalogueType:
    """An instrument type with its regulation and period (one verification_periods.csv row)."""

    item_code: str
    name_zh: str
    name_en: str
    regulation: str
    period: Period
    source: str
    confidence: Confidence
    edition_dates: str = ""
    other_limits: str = ""
    mode_text: str = ""


class Catalogue:
    """The loaded catalogue: items, their instrument types, and period look-up."""

    def __init__(
        self,
        items: tuple[CatalogueItem, ...],
        types: tuple[CatalogueType, ...],
        type_aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.items = items
        self.types = types
        self._items = {item.code: item for item in items}
        self._types: dict[str, list[CatalogueType]] = {item.code: [] for item in items}
        for type_ in types:
            self._types[type_.item_code].append(type_)
        self._aliases = dict(type_aliases or {})

    def item(self, code: str) -> CatalogueItem:
        try:
            return self._items[code]
        except KeyError:
            raise KeyError(f"强检目录中没有代码为 “{code}” 的项目 / no catalogue item with code {code!r}") from None

    @property
    def type_aliases(self) -> Mapping[str, str]:
        """Other Chinese names of types (the catalogue's wording) → the verification_periods.csv name."""
        return self._aliases

    def canonical_type(self, type_name_zh: str) -> str:
        """The verification_periods.csv name of a type named another way (the catalogue's wording)."""
        return self._aliases.get(type_name_zh.strip(), type_name_zh.strip())

    def types_of(self, item_code: str) -> tuple[CatalogueType, ...]:
        self.item(item_code)
        return tuple(self._types[item_code])

    def period_for(self, item_code: str, type_name_zh: str | None = None) -> Period:
        """The period of a type of an item; an unknown Period when the data gives none.

        With no type name, an item with exactly one type gives that type's period.
        """
        item = self.item(item_code)
        types = self._types[item_code]
        if type_name_zh is None:
            if len(types) == 1:
                return types[0].period
            note = item.period_note or "检定周期未知：需指明器具类型 / unknown: name the instrument type"
            return unknown_period(note=note, source=item.source, mode=item.mode)
        name = self.canonical_type(type_name_zh)
        for type_ in types:
            if type_.name_zh == name:
                return type_.period
        return unknown_period(
            note=f"参考数据未给出 {item.name_zh}/{type_name_zh} 的检定周期"
            f" / the reference data gives no period for {type_name_zh}",
            source=item.source,
            mode=item.mode,
        )


def load_catalogue(ref_dir: Path = REFERENCE_DIR, map_path: Path = CATALOGUE_MAP) -> Catalogue:
    """Load every row of the catalogue and periods CSVs, joined through catalogue_map.yaml."""
    join = _load_map(map_path)
    item_codes: Mapping[str, str] = join["items"]
    type_items: Mapping[str, str] = join["types"]

    items: list[CatalogueItem] = []
    for line, row in _read_csv(ref_dir / CATALOGUE_CSV, _CATALOGUE_COLUMNS):
        name = row["item_zh"].strip()
        code = item_codes.get(name)
        if code is None:
            raise CatalogueError(
                f"{CATALOGUE_CSV} 第 {line} 行：{map_path.name} 中没有项目 “{name}” 的代码"
                f" / line {line}: item {name!r} has no code in {map_path.name}"
            )
        items.append(
            CatalogueItem(
                code=code,
                name_zh=name,
                types_zh=_type_names(row["types_zh"]),
                supervision_mode=row["supervision_mode"].strip(),
                scope=row["verification_scope"].strip(),
                mode=_cell(parse_mode, row["verification_mode"], CATALOGUE_CSV, line),
                period_note=row["period_note"].strip(),
                source=row["source"].strip(),
                confidence=_cell(parse_confidence, row["confidence"], CATALOGUE_CSV, line),
                types_text=row["types_zh"].strip(),
                mode_text=row["verification_mode"].strip(),
                name_en=join["item_names_en"].get(code, ""),
            )
        )

    types: list[CatalogueType] = []
    for line, row in _read_csv(ref_dir / PERIODS_CSV, _PERIODS_COLUMNS):
        name = row["instrument_zh"].strip()
        code = type_items.get(name)
        if code is None:
            raise CatalogueError(
                f"{PERIODS_CSV} 第 {line} 行：{map_path.name} 中没有 “{name}” 所属的项目"
                f" / line {line}: {name!r} is not mapped to an item in {map_path.name}"
            )
        source = row["source"].strip()
        confidence = _cell(parse_confidence, row["confidence"], PERIODS_CSV, line)
        try:
            period = parse_period(row["period_or_service_life"], row["mode"], source, confidence)
        except ValueError as exc:
            raise CatalogueError(f"{PERIODS_CSV} 第 {line} 行 / line {line}: {exc}") from exc
        types.append(
            CatalogueType(
                item_code=code,
                name_zh=name,
                name_en=row["instrument_en"].strip(),
                regulation=row["regulation"].strip(),
                period=period,
                source=source,
                confidence=confidence,
                edition_dates=row["current_edition_dates"].strip(),
                other_limits=row["other_limits"].strip(),
                mode_text=row["mode"].strip(),
            )
        )

    _check_join(join, items, types, map_path.name)
    return Catalogue(tuple(items), tuple(types), join["type_aliases"])


def _load_map(path: Path) -> dict[str, dict[str, str]]:
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path.name}: 应为映射 / expected a mapping")
    result: dict[str, dict[str, str]] = {}
    for section in ("items", "types", "type_aliases", "item_names_en"):
        value = raw.get(section) or {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise CatalogueError(f"{path.name}: “{section}” 应为 名称→代码 映射 / {section!r} must map names to codes")
        result[section] = {k.strip(): v.strip() for k, v in value.items()}
    for name, code in result["items"].items():
        if not _CODE.match(code):
            raise CatalogueError(
                f"{path.name}: {name} 的代码 “{code}” 不是小写 ASCII 标识"
                f" / code {code!r} for {name!r} is not a lower-case ASCII slug"
            )
    codes = list(result["items"].values())
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise CatalogueError(f"{path.name}: 项目代码重复 / duplicate item codes: {', '.join(duplicates)}")
    return result


def _check_join(
    join: Mapping[str, Mapping[str, str]], items: list[CatalogueItem], types: list[CatalogueType], map_name: str
) -> None:
    codes = {item.code for item in items}
    item_names = {item.name_zh for item in items}
    type_names = {type_.name_zh for type_ in types}
    problems = [f"items: “{n}” 不在 {CATALOGUE_CSV} / not in the CSV" for n in join["items"] if n not in item_names]
    problems += [f"types: “{n}” 不在 {PERIODS_CSV} / not in the CSV" for n in join["types"] if n not in type_names]
    problems += [
        f"types: “{n}” → 未知项目代码 / unknown item code {c!r}" for n, c in join["types"].items() if c not in codes
    ]
    problems += [
        f"item_names_en: 项目 {c} 没有英文名称 / item {c} has no English name"
        for c in sorted(codes - set(join["item_names_en"]))
    ]
    problems += [
        f"item_names_en: 未知项目代码 / unknown item code {c!r}" for c in join["item_names_en"] if c not in codes
    ]
    problems += [
        f"type_aliases: “{a}” → “{n}” 不在 {PERIODS_CSV} / not in the CSV"
        for a, n in join["type_aliases"].items()
        if n not in type_names
    ]
    if problems:
        raise CatalogueError(f"{map_name} 与参考数据不一致 / does not match the reference data: " + "; ".join(problems))


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != columns:
            raise CatalogueError(
                f"{path.name}: 表头应为 / header should be {', '.join(columns)};"
                f" got {', '.join(reader.fieldnames or ())}"
            )
        rows: list[tuple[int, dict[str, str]]] = []
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise CatalogueError(
                    f"{path.name} 第 {reader.line_num} 行：列数不对 / line {reader.line_num}: wrong number of columns"
                )
            rows.append((reader.line_num, row))
    return rows


def _cell(parse: Callable[[str], _T], text: str, file: str, line: int) -> _T:
    try:
        return parse(text)
    except ValueError as exc:
        raise CatalogueError(f"{file} 第 {line} 行 / line {line}: {exc}") from exc


def _type_names(cell: str) -> tuple[str, ...]:
    """Chinese type names listed in a catalogue `types_zh` cell; () when it lists none.

    Pieces without Chinese text (e.g. "DN15~DN50") describe a range, not a type, and are left out;
    a trailing bracket without Chinese (e.g. "(JJG 1148-2022)") is dropped from the name. The whole
    cell stays in CatalogueItem.types_text.
    """
    text = cell.strip()
    if not text or text.lower().startswith("not confirmed"):
        return ()
    names: list[str] = []
    for piece in re.split(r"[,，、]", text):
        name = piece.strip()
        note = _TRAILING_NOTE.search(name)
        if note and not _CJK.search(note.group(1)):
            name = name[: note.start()].strip()
        if _CJK.search(name):
            names.append(name)
    return tuple(names)
