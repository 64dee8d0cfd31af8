"""Which page texts need a Chinese translation: Babel's extractors over the templates (`_()`) and the
web code (`_()`, `N_()`), compared with the zh_CN catalogues. Used by the i18n test and by
`python -m jiliang.web.messages [--append FILE.po]`, which lists (or adds empty entries for) the
missing ones."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from .i18n import LOCALES_DIR

__all__ = ["used_messages", "translated_messages", "missing_translations", "conflicting_translations"]

WEB = Path(__file__).parent
_METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
_OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def used_messages() -> dict[str, str]:
    """message id → where it is first used (file:line)."""
    found: dict[str, str] = {}
    stream: Iterator = extract_from_dir(
        WEB, method_map=_METHODS, options_map=_OPTIONS, keywords={"_": None, "N_": None, "gettext": None}
    )
    for filename, lineno, message, _comments, _context in stream:
        for msg in message if isinstance(message, tuple) else (message,):
            if msg:
                found.setdefault(msg, f"{filename}:{lineno}")
    return found


def translated_messages(locale: str = "zh_CN") -> dict[str, str]:
    out: dict[str, str] = {}
    for po in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            for m in read_po(f, locale=locale):
                if m.id and m.string:
                    out[str(m.id)] = str(m.string)
    return out


def conflicting_translations(locale: str = "zh_CN") -> dict[str, set[str]]:
    """Texts that two area catalogues translate differently (the one loaded last would win)."""
    seen: dict[str, set[str]] = {}
    for po in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            for m in read_po(f, locale=locale):
                if m.id and m.string:
                    seen.setdefault(str(m.id), set()).add(str(m.string))
    return {msg: found for msg, found in seen.items() if len(found) > 1}


def missing_translations(locale: str = "zh_CN") -> dict[str, str]:
    done = translated_messages(locale)
    return {msg: where for msg, where in used_messages().items() if msg not in done}


def _po_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    missing = missing_translations()
    if len(sys.argv) == 3 and sys.argv[1] == "--append":
        with open(sys.argv[2], "a", encoding="utf-8") as f:
            for msg, where in missing.items():
                f.write(f'\n#: {where}\nmsgid {_po_quote(msg)}\nmsgstr ""\n')
    for msg, where in missing.items():
        print(f"{where}\t{msg}")
