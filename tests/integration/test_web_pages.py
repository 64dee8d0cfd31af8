"""The public certificate page as HTTP sees it: an HTML shell with strict headers (the checking
itself runs in the browser, see tests/browser), and its script and stylesheet served from /static."""

from __future__ import annotations


def test_the_certificate_page_is_public_html_with_a_strict_content_policy(client):
    r = client.get("/public/verify/D310104-2026-000001?token=abc_DEF-123")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"  # the URL carries the QR code's token
    html = r.text
    assert '<html lang="zh-CN">' in html and 'name="viewport"' in html
    assert 'data-proof-url="/public/certificates/D310104-2026-000001/proof?token=abc_DEF-123"' in html
    assert 'src="/static/verify-certificate.js?v=' in html and 'type="module"' in html
    for check in ("signature", "leaf", "inclusion", "checkpoint"):
        assert f'id="check-{check}"' in html


def test_the_page_escapes_what_the_visitor_typed(client):
    html = client.get("/public/verify/%3Cb%3Ex%22y?token=%22%3E%3Cscript%3E").text
    assert "<b>x" not in html and "&lt;b&gt;x&#34;y" in html
    assert '"><script>' not in html and "token=%22%3E%3Cscript%3E" in html


def test_without_a_token_the_page_asks_for_the_qr_code_and_fetches_no_proof(client):
    html = client.get("/public/verify/D310104-2026-000001").text
    assert 'data-has-token="no"' in html and 'data-proof-url=""' in html and 'id="proof-link"' not in html


def test_the_script_and_stylesheet_are_served_from_static(client):
    js = client.get("/static/verify-certificate.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "export async function verifyInclusion" in js.text
    css = client.get("/static/jiliang.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
