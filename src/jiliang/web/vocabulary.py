"""The site's words for the platform's codes, so a person reads names, never codes, in the page's
language: instrument, certificate and task statuses, uses, certificate kinds, verification stages and
history events as translatable labels (and the order statuses are listed in); and `Names`, which names
what the data holds — catalogue items and types, procedures, their editions and regulations, points,
tests, instrument parameters, environment quantities with their units, texts written "中文 / English" —
from the catalogue and the procedures. Every page gets a `names` for its language; page code makes one
with `names_for(request)`. Every area's pages use these, so a code reads the same everywhere."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from fastapi import Request

from ..measurement.procedure import Edition, Procedure
from ..measurement.procedure_model import ambient
from ..registry.catalogue import Catalogue, load_catalogue
from ..registry.service import USES
from .i18n import N_, ROLE_LABELS, bilingual, language_of, translations

__all__ = [
    "INSTRUMENT_STATUSES",
    "ATTENTION",
    "STATUS_LABELS",
    "USE_LABELS",
    "KIND_LABELS",
    "STAGE_LABELS",
    "EVENT_LABELS",
    "ZONE_LABELS",
    "OWNER_STATUS_LABELS",
    "USES",
    "Names",
    "names_for",
    "english_names",
    "vocabulary",
    "translate",
]

# Instrument statuses (registry.label.instrument_status), the ones needing action first.
INSTRUMENT_STATUSES = ("overdue", "due_soon", "never_verified", "barred", "unknown", "in_date", "scrapped")
ATTENTION = frozenset({"overdue", "due_soon", "never_verified"})  # preselected when applying

STATUS_LABELS = {
    # instruments
    "in_date": N_("In date"),
    "due_soon": N_("Due within 30 days"),
    "overdue": N_("Overdue"),
    "never_verified": N_("Never verified"),
    "barred": N_("Barred from use"),
    "unknown": N_("Period unknown"),
    "scrapped": N_("Scrapped"),
    # certificates
    "valid": N_("Valid"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
    "superseded": N_("Superseded"),
    # tasks and records
    "assigned": N_("Assigned"),
    "recorded": N_("Results recorded"),
    "checked": N_("Checked"),
    "approved": N_("Approved"),
    "returned": N_("Returned"),
    "issued": N_("Certificate issued"),
    "pass": N_("Pass"),
    "fail": N_("Fail"),
}

USE_LABELS = {
    "trade": N_("Trade settlement"),
    "safety": N_("Safety protection"),
    "medical": N_("Medical and health"),
    "environment": N_("Environmental monitoring"),
}

KIND_LABELS = {
    "verification": N_("Verification"),
    "calibration": N_("Calibration"),
    "nonconformity": N_("Notice of non-conformity"),
}

STAGE_LABELS = {
    "initial": N_("Initial verification"),
    "subsequent": N_("Subsequent verification"),
    "in_service": N_("In-service inspection"),
}

EVENT_LABELS = {
    "instrument.registered": N_("Registered"),
    "instrument.transferred": N_("Transferred to another owner"),
    "instrument.relocated": N_("Relocated"),
    "instrument.scrapped": N_("Scrapped"),
}

ZONE_LABELS = {"lingang": N_("Lingang Special Area"), "airport": N_("Airport")}

# how far a rule's number is confirmed (reference/mpe-rules.md): the regulation's text, a secondary source, memory
CONFIDENCE_LABELS = {
    "high": N_("confirmed by the regulation's text or two sources"),
    "medium": N_("from one secondary source"),
    "low": N_("unconfirmed"),
}

OWNER_STATUS_LABELS = {"pending": N_("Awaiting approval"), "approved": N_("Approved"), "rejected": N_("Rejected")}


def vocabulary() -> dict[str, Any]:
    """The labels, for a template's context."""
    return {
        "STATUS_LABELS": STATUS_LABELS,
        "USE_LABELS": USE_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "STAGE_LABELS": STAGE_LABELS,
        "EVENT_LABELS": EVENT_LABELS,
        "ZONE_LABELS": ZONE_LABELS,
        "OWNER_STATUS_LABELS": OWNER_STATUS_LABELS,
        "CONFIDENCE_LABELS": CONFIDENCE_LABELS,
    }


def translate(request: Request, message: str, **values: object) -> str:
    """A text in the visitor's language, with `%(name)s` placeholders filled in."""
    text = str(translations(language_of(request)).gettext(message))
    return text % values if values else text


# the notes the reference data adds to a regulation's number, in both languages
REGULATION_NOTES = {
    "试行": ("试行", "trial"),
    "edition not checked": ("版本未核实", "edition not checked"),
    "editions not checked": ("版本未核实", "editions not checked"),
    "ultrasonic": ("超声波", "ultrasonic"),
}
_NOTE = re.compile(r"\s*[(（]([^()（）]+)[)）]")
CJK = re.compile(r"[\u3400-\u9fff]")


@cache
def _catalogue() -> Catalogue:
    return load_catalogue()


def _capital(name: str) -> str:
    """A name standing alone (in a list, a cell) begins with a capital in English."""
    return name[:1].upper() + name[1:]


def _number(text: str) -> bool:
    try:
        return Decimal(text.strip()).is_finite()
    except InvalidOperation:
        return False


class Names:
    """The names of the platform's codes in one language. A name missing in this language gives way to
    the other language's, never to the code; an unknown code is returned as it is (the vocabulary scan,
    tests/integration/test_vocabulary_scan.py, finds it on the page)."""

    def __init__(self, lang: str, procedures: Mapping[str, Procedure] | None = None) -> None:
        self.lang = lang
        self.zh = lang == "zh-CN"
        self.procedures = procedures or {}
        self._gettext = translations(lang).gettext

    def pick(self, zh: str | None, en: str | None) -> str:
        """Of a Chinese and an English text, the one in this language (the other where it is missing)."""
        first, second = (zh, en) if self.zh else (en, zh)
        return first or second or ""

    def of(self, thing: Any) -> str:
        """A named thing of a procedure — a point, test, position, parameter or environment quantity —
        or a record's copy of it (a mapping)."""
        get = thing.get if isinstance(thing, Mapping) else lambda key: getattr(thing, key, None)
        if get("label_zh") is not None:
            return self.pick(get("label_zh"), get("label_en"))
        return self.pick(get("name_zh"), get("name_en"))

    def listed(self, things: Any, name: Any = str) -> str:
        """Things named in a line, each by `name` (e.g. names.item): "水表、燃气表", "Water meter, Gas meter"."""
        return ("、" if self.zh else ", ").join(name(t) for t in things)

    def text(self, message: str) -> str:
        """A text written "中文 / English" (service messages, decision rules, sources), in this language."""
        return bilingual(message, self.lang)

    def role(self, code: str) -> str:
        return str(self._gettext(ROLE_LABELS[code])) if code in ROLE_LABELS else code

    def item(self, code: str | None) -> str:
        """A catalogue item (强检目录项目) by its code (or its Chinese name, as a certificate states it);
        None: an instrument outside the catalogue."""
        if code is None:
            return str(self._gettext(N_("Outside the catalogue")))
        item = next((i for i in _catalogue().items if code in (i.code, i.name_zh)), None)
        return self.pick(item.name_zh, item.name_en) if item else code

    def type(self, name_zh: str | None, name_en: str | None = None) -> str:
        """An instrument type by its Chinese name (as a certificate states it), with its English name if
        known; the catalogue's English name otherwise."""
        if not name_zh or self.zh:
            return name_zh or name_en or ""
        return _capital(name_en or self.type_en(name_zh)) or name_zh

    def type_en(self, name_zh: str) -> str:
        catalogue = _catalogue()
        name = catalogue.canonical_type(name_zh)
        return next((t.name_en for t in catalogue.types if t.name_zh == name), "")

    def procedure(self, code: str | None) -> str:
        procedure = self.procedures.get(code or "")
        return _capital(self.of(procedure)) if procedure else str(code or "")

    def edition(self, edition: Edition, procedure: Procedure | None = None) -> str:
        """The regulation in force and its title: "JJG 539-2016 数字指示秤"."""
        title = self.pick(edition.title_zh, edition.title_en or (procedure.name_en if procedure else ""))
        return f"{self.pick(edition.regulation, edition.regulation_en)} {title}"

    def regulation(self, text: str | None, procedure_code: str | None = None) -> str:
        """A regulation as the data states it: its number with a note ("JJG 1148-2022 (试行)", "JJG 539
        (edition not checked)"), a method in words (an edition's regulation_en), or "中文 / English"."""
        if not text:
            return ""
        zh, sep, en = text.partition(" / ")
        if sep and CJK.search(zh) and not CJK.search(en):
            return self.text(text)
        own = self.procedures.get(procedure_code or "")
        procedures = [own] if own else self.procedures.values()
        for p in procedures:
            for e in p.editions:
                if e.regulation == text:
                    return self.pick(e.regulation, e.regulation_en)
        return _NOTE.sub(self._note, text)

    def _note(self, found: re.Match[str]) -> str:
        note = REGULATION_NOTES.get(found.group(1).strip())
        if note is None:
            return found.group(0)
        return f"（{note[0]}）" if self.zh else f" ({note[1]})"

    def point(self, procedure_code: str | None, point_id: str) -> str:
        procedure = self.procedures.get(procedure_code or "")
        for e in procedure.editions if procedure else ():
            found = e.point(point_id)
            if found:
                return self.of(found)
        return point_id

    def position(self, procedure_code: str | None, position_id: str) -> str:
        """Where a load stood (an eccentricity test's segment)."""
        procedure = self.procedures.get(procedure_code or "")
        for e in procedure.editions if procedure else ():
            for t in e.tests:
                found = t.position(position_id)
                if found:
                    return self.of(found)
        return position_id

    def parameter(self, procedure: Procedure | str | None, name: str, value: Any) -> tuple[str, str]:
        """An instrument parameter as (name, value with its unit), e.g. ("检定分度值 e", "0.005 kg"): named
        by the instrument's procedure (or its code), else by any procedure that has it."""
        if isinstance(procedure, str):
            procedure = self.procedures.get(procedure)
        found = procedure.parameter(name) if procedure else None
        for p in self.procedures.values() if found is None else ():
            found = p.parameter(name)
            if found:
                break
        if found is None:
            return name, str(value)
        text = str(value)
        return _capital(self.of(found)), f"{text} {found.unit}" if found.unit and _number(text) else text

    def environment(self, name: str, value: Any, procedure: Procedure | None = None) -> tuple[str, str]:
        """An environment condition as (name, value with its unit), e.g. ("环境温度", "20.5 °C"): a value
        typed as a bare number takes the procedure's unit for it."""
        quantity = (procedure.environment_quantity(name) if procedure else None) or ambient(name)
        for p in self.procedures.values() if quantity is None else ():
            quantity = p.environment_quantity(name)
            if quantity:
                break
        if quantity is None:
            return name, str(value)
        return _capital(self.of(quantity)), quantity.shown(str(value))


def names_for(request: Request) -> Names:
    """The names in the visitor's language (for page code; templates have `names`)."""
    return Names(language_of(request), request.app.state.platform.procedures)


def english_names(types: Mapping[str, str], institutions: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """What an English page needs to name what a signed certificate states in Chinese: catalogue types
    (`types`: Chinese → English, with the catalogue's other wordings) and items by their Chinese name,
    institutions by code (the public certificate page's script reads it; the signed bytes stay as signed)."""
    catalogue = _catalogue()
    named = {zh: _capital(en) for zh, en in types.items() if en}
    named |= {alias: named[name] for alias, name in catalogue.type_aliases.items() if name in named}
    return {
        "types": named,
        "items": {i.name_zh: i.name_en for i in catalogue.items},
        "institutions": dict(institutions),
    }
