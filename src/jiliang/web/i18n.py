"""The pages' languages: Babel catalogues (zh-CN first, English switchable), dates shown in Asia/Shanghai.

Texts in templates and page code are written in English as gettext message ids (`_("Instruments")`);
the Chinese comes from `locales/zh_CN/LC_MESSAGES/*.po`. Each area of the site keeps its own .po file
(owner.po, workbench.po, ...); they are merged into one catalogue when the app starts. English needs
no catalogue. `tests/unit/test_i18n.py` fails when a text has no Chinese translation.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

from ..platform import SHANGHAI

__all__ = [
    "LANGUAGES",
    "DEFAULT_LANGUAGE",
    "LOCALES_DIR",
    "LANG_COOKIE",
    "translations",
    "pick_language",
    "language_of",
    "bilingual",
    "N_",
    "ROLE_LABELS",
]

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = {"zh-CN": "中文", "en": "English"}  # code → name shown in the switch, each in its own language
DEFAULT_LANGUAGE = "zh-CN"
LANG_COOKIE = "jiliang_lang"
_BABEL = {"zh-CN": "zh_CN", "en": "en"}


def N_(message: str) -> str:
    """Marks a text for the catalogue without translating it yet (labels in module-level tables)."""
    return message


ROLE_LABELS = {
    "verifier": N_("Verifier"),
    "checker": N_("Checker"),
    "approver": N_("Approver"),
    "lab_manager": N_("Lab manager"),
    "regulator": N_("Regulator"),
    "owner_user": N_("Instrument owner"),
    "admin": N_("Administrator"),
}


@cache
def translations(language: str) -> NullTranslations:
    """The merged catalogue of one language (cached: the catalogues ship with the package)."""
    merged: Translations | None = None
    for po in sorted((LOCALES_DIR / _BABEL[language] / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=_BABEL[language])
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        part = Translations(buf)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    return merged or NullTranslations()


def pick_language(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE


def language_of(request: Request) -> str:
    """The visitor's language: the language switch's cookie, else Chinese."""
    return pick_language(request.cookies.get(LANG_COOKIE))


def bilingual(message: str, language: str) -> str:
    """Service messages read "中文 / English": show the half in the page's language."""
    zh, sep, en = message.partition(" / ")
    if not sep:
        return message
    return zh if language == "zh-CN" else en


def local_datetime(value: datetime | None, language: str, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored UTC time as Shanghai wall-clock time."""
    if value is None:
        return ""
    return format_datetime(value, fmt, tzinfo=SHANGHAI, locale=Locale.parse(_BABEL[language]))


def local_date(value: date | str | None, language: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return format_date(value, "medium", locale=Locale.parse(_BABEL[language]))
