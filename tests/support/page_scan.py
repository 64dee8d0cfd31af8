"""What a person reads on a page, and what it must not hold.

`visible_text` keeps the text a person reads (with `title`, `placeholder`, `aria-label`, `alt` and
`data-label` attribute texts and option labels; without scripts, styles and other attributes), each run with the
language an element declares (`lang`), and leaves out citations (`<cite>`: sources shown as written, like
a bibliography). `Forbidden` is built at test time from the loaded catalogue, procedures and message
catalogues: the codes a person must never read (item and procedure codes, point, test, rule, position and
parameter ids, the site's own status, role and kind codes) and, per language, the other language's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from babel.messages.pofile import read_po

from jiliang.measurement.procedure import Procedure
from jiliang.platform import Platform
from jiliang.registry.catalogue import Catalogue, load_catalogue
from jiliang.web import vocabulary
from jiliang.web.i18n import LOCALES_DIR, ROLE_LABELS
from jiliang.web.work_common import TASK_STATES

__all__ = ["Run", "read_page", "visible_text", "Forbidden", "Finding", "forbidden_on"]

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9]|[A-Za-z]")
_SKIP = frozenset({"script", "style", "cite"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
# three English words in a row, on a Chinese page: a sentence of the other language
_SENTENCE = re.compile(r"\b[A-Za-z][a-z]+(?:[ ,]+[a-z]{2,}){2,}\b")
_ATTRS = ("title", "placeholder", "aria-label", "alt", "data-label")  # data-label: a cell's label on a phone
# shown by pattern, never a code: certificate numbers, regulation numbers
_ALLOWED = re.compile(
    r"\b[A-Z][A-Z0-9]*-\d{4}-\d{6}\b|\b(?:JJG|JJF|GB|GB/T|OIML R|ISO|ISO/IEC|JCGM)\s?[\d.]+(?:[-–:][\d.]+)?"
)


@dataclass(frozen=True)
class Run:
    text: str
    lang: str | None  # the language an enclosing element declares, if any


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[Run] = []
        self.hrefs: list[str] = []
        self.stack: list[tuple[str, str | None]] = []
        self.skipping = 0

    def _lang(self) -> str | None:
        return next((lang for _, lang in reversed(self.stack) if lang), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"])
        lang = values.get("lang") or None
        if not self.skipping:
            here = lang or self._lang()
            for name in _ATTRS:
                if values.get(name, "").strip():
                    self.runs.append(Run(values[name], here))
            if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
                self.runs.append(Run(values["value"], here))
        if tag in _VOID:
            return
        self.stack.append((tag, lang))
        if tag in _SKIP:
            self.skipping += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            name, _ = self.stack.pop()
            if name in _SKIP:
                self.skipping -= 1
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.runs.append(Run(" ".join(data.split()), self._lang()))


def read_page(html: str, base: str = "http://testserver/") -> tuple[list[Run], list[str]]:
    """The page's visible text, and the site-local targets of its links (path and query)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    targets = []
    for href in parser.hrefs:
        parts = urlsplit(urljoin(base, href))
        if parts.scheme in ("http", "https") and parts.netloc == "testserver":
            targets.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return parser.runs, targets


def visible_text(html: str) -> list[Run]:
    return read_page(html)[0]


@dataclass(frozen=True)
class Finding:
    page: str
    what: str  # "code", "cjk" or "english"
    found: str
    context: str

    def __str__(self) -> str:
        return f"{self.page}: {self.what} {self.found!r} in “{self.context}”"


def _tokens(texts: Iterable[str]) -> set[str]:
    return {t for text in texts for t in _TOKEN.findall(text)}


def _message_pattern(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"%\([a-z_]+\)[sd]|%[sd]", msgid)
    body = r".{1,60}?".join(re.escape(p) for p in parts)
    return re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])")


class Forbidden:
    """What no page may show, collected from the platform's data and message catalogues."""

    def __init__(
        self,
        catalogue: Catalogue,
        procedures: dict[str, Procedure],
        po_files: Iterable[Path],
        site_codes: Iterable[str],
        names_zh: Iterable[str],
        names_en: Iterable[str],
    ) -> None:
        codes = {item.code for item in catalogue.items} | set(procedures) | set(site_codes)
        for p in procedures.values():
            codes |= {par.name for par in p.instrument_parameters}
            for e in p.editions:
                codes |= {pt.id for pt in e.points} | {r.id for r in e.rules}
                codes |= {t.id for t in e.tests} | {pos.id for t in e.tests for pos in t.positions}
                if e.uncertainty is not None:
                    codes |= set(e.uncertainty.template.parameters)
        # a one-letter id (e, d) is a symbol, and a number (an eccentricity position) reads as one
        self.codes = {c for c in codes if len(c) > 1 and not c.isdigit()}
        messages = []
        for po in po_files:
            with po.open("rb") as f:
                messages += [m for m in read_po(f) if m.id and isinstance(m.id, str) and m.string]
        english = [m.id for m in messages if m.id != m.string]
        # a code spelt like a word of the language's own names reads as that word there (an English page
        # says "load", a Chinese one "Q3"), so it is only looked for in the other language
        self.words = {
            "zh-CN": {t.lower() for t in _tokens([*names_zh, *(str(m.string) for m in messages)])},
            "en": {t.lower() for t in _tokens([*names_en, *(str(m.id) for m in messages)])},
        }
        self.code_patterns = {
            lang: re.compile(
                r"(?<![A-Za-z0-9_])("
                + "|".join(map(re.escape, sorted(codes, key=len, reverse=True)))
                + r")(?![A-Za-z0-9_])"
            )
            for lang in ("zh-CN", "en")
            for codes in [{c for c in self.codes if c.lower() not in self.words[lang]}]
        }
        # by their first word, longest first, so a finding names the whole text rather than a word inside it
        self.english: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        for m in sorted(set(english), key=len, reverse=True):
            first = re.search("[A-Za-z]+", m)
            if first:
                self.english.setdefault(first.group(0), []).append((m, _message_pattern(m)))
        self.typed: list[str] = []  # what people typed, longest first
        self._seen: dict[tuple[str, str, str | None], list[tuple[str, str]]] = {}

    def findings(self, page: str, lang: str, runs: list[Run]) -> Iterator[Finding]:
        for run in runs:
            key = (lang, run.text, run.lang)
            found = self._seen.get(key)
            if found is None:
                found = self._seen[key] = list(self._check(lang, run))
            yield from (Finding(page, what, value, run.text) for what, value in found)

    def _check(self, lang: str, run: Run) -> Iterator[tuple[str, str]]:
        text = _ALLOWED.sub(" ", run.text)
        for value in self.typed:  # what people typed is theirs, in whatever language they typed it
            text = text.replace(value, " ")
        for code in sorted(set(self.code_patterns[lang].findall(text))):
            yield "code", code
        if run.lang and not run.lang.startswith(lang[:2]):
            return  # declared to be in another language (the language switch)
        if lang == "en":
            cjk = CJK.search(text)
            if cjk:
                yield "cjk", cjk.group(0)
        else:
            yield from self._english(text)

    def _english(self, text: str) -> Iterator[tuple[str, str]]:
        for word in dict.fromkeys(re.findall("[A-Za-z]+", text)):
            for message, pattern in self.english.get(word, ()):
                if pattern.search(text):
                    yield "english", message
                    return
        sentence = _SENTENCE.search(text)
        if sentence:
            yield "english", sentence.group(0)


def forbidden_on(platform: Platform, typed: Iterable[str] = ()) -> Forbidden:
    """What no page of this platform may show; `typed`: what people typed (shown as typed)."""
    catalogue = load_catalogue()
    procedures = platform.procedures
    names_zh = [i.name_zh for i in catalogue.items] + [t.name_zh for t in catalogue.types]
    names_en = [t.name_en for t in catalogue.types] + [i.name_en for i in catalogue.items]
    for p in procedures.values():
        names_zh += [p.name_zh, *(par.label_zh for par in p.instrument_parameters)]
        names_en += [p.name_en, *(par.label_en for par in p.instrument_parameters)]
        names_zh += [q.label_zh for q in p.environment]
        names_en += [q.label_en for q in p.environment]
        for e in p.editions:
            names_zh += [pt.label_zh for pt in e.points] + [t.name_zh for t in e.tests]
            names_en += [pt.label_en for pt in e.points] + [t.name_en for t in e.tests]
            names_zh += [pos.label_zh for t in e.tests for pos in t.positions]
            names_en += [pos.label_en for t in e.tests for pos in t.positions]
    site_codes = set(ROLE_LABELS) | set(TASK_STATES)
    for table in vocabulary.vocabulary().values():
        site_codes |= set(table)
    forbidden = Forbidden(
        catalogue,
        procedures,
        sorted((LOCALES_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")),
        site_codes,
        names_zh,
        names_en,
    )
    forbidden.typed = sorted(set(typed), key=len, reverse=True)
    return forbidden
