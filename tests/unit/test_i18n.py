"""Every page text has a Chinese translation (zh-CN is the default language), and the catalogues
are well-formed: placeholders survive translation."""

from __future__ import annotations

import re

from jiliang.web.messages import conflicting_translations, missing_translations, translated_messages, used_messages

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_page_text_has_a_chinese_translation() -> None:
    missing = missing_translations()
    assert not missing, "texts without a zh_CN translation (python -m jiliang.web.messages):\n" + "\n".join(
        f"{where}: {msg}" for msg, where in missing.items()
    )


def test_translations_keep_their_placeholders() -> None:
    for msg, zh in translated_messages().items():
        assert set(PLACEHOLDER.findall(msg)) == set(PLACEHOLDER.findall(zh)), msg


def test_the_extractor_sees_templates_and_code() -> None:
    used = used_messages()
    assert any(where.startswith("templates/") for where in used.values())
    assert any(where.endswith(".py") or ".py:" in where for where in used.values())


def test_a_text_has_one_translation_across_the_area_catalogues() -> None:
    assert not conflicting_translations()
