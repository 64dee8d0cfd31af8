"""The public certificate page as the visitor's browser fills it in (verify-certificate.js), in Chinese
and in English on a phone: what the signed bytes state in Chinese — the instrument's type, the issuing
institution — is named in English on an English page from the catalogue and the registry, sources are
cited as written, and the page holds no code and nothing of the other language (the vocabulary scan of
tests/integration/test_vocabulary_scan.py, run on the rendered page)."""

from __future__ import annotations

from sqlalchemy import select

from jiliang.certificates.tables import certificates
from jiliang.ledger.checkpoints import issue_checkpoint
from tests.browser.conftest import screenshot
from tests.support import vocabulary_world, world
from tests.support.page_scan import forbidden_on, visible_text


def test_the_certificate_a_qr_code_opens_names_everything_in_the_visitors_language(platform, live_server, page):
    _, number = world.issued_certificate(platform)  # a scale of the Xuhui institute, with the regulation's tests
    issue_checkpoint(platform)
    with platform.engine.connect() as c:
        token = c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one()
    forbidden = forbidden_on(platform, vocabulary_world.typed_texts(platform))
    shown = {}
    for lang in ("zh-CN", "en"):
        page.context.add_cookies([{"name": "jiliang_lang", "value": lang, "url": live_server}])
        page.goto(f"{live_server}/public/verify/{number}?token={token}")
        page.wait_for_selector('#verdict[data-result="valid"]', timeout=15_000)
        page.click("#fact-sources summary")  # where the limits come from: open, as a visitor would
        findings = [str(f) for f in forbidden.findings(lang, lang, visible_text(page.content()))]
        assert findings == [], "\n".join(findings)
        shown[lang] = (page.inner_text("#fact-type"), page.inner_text("#fact-institution"))
        assert page.locator("#fact-rules cite").count() >= 1  # each source cited as written
        screenshot(page, f"public-certificate-names-{lang}")
    assert shown["zh-CN"] == ("数字指示秤/电子计价秤", "徐汇区计量所（D310104）")
    assert shown["en"] == (
        "Non-automatic weighing instrument / price-computing scale",
        "Xuhui Metrology Institute (D310104)",
    )
    assert page.script_errors == []
