"""The public certificate page in a real browser: the visitor's browser checks the signature, the
ledger entry, the inclusion proof and the checkpoint itself, and any altered byte is caught. The page
speaks the visitor's language only (Chinese here; English in tests/browser/test_public_pages.py)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from jiliang.certificates.keys import replace_institution_key
from jiliang.certificates.service import revoke_certificate
from jiliang.certificates.tables import certificates, signing_keys
from jiliang.ledger import merkle
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.ledger.keys import ensure_platform_keys
from jiliang.ledger.note import key_id
from jiliang.ledger.tables import ledger_leaves
from jiliang.platform import Platform
from jiliang.verification import service as workflow
from tests.browser.conftest import screenshot
from tests.support import world

CHECKS = ("signature", "leaf", "inclusion", "checkpoint")
ALL_PASS = dict.fromkeys(CHECKS, "pass")


@dataclass
class Issued:
    number: str
    token: str
    lab: world.Lab


def issue(platform: Platform) -> Issued:
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    number = world.verify(platform, lab, task)
    with platform.engine.connect() as c:
        token = c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one()
    return Issued(number, token, lab)


@pytest.fixture
def issued(platform: Platform) -> Issued:
    return issue(platform)


def open_check(page, base_url: str, number: str, token: str | None) -> str:  # type: ignore[no-untyped-def]
    """Open the page the QR code leads to and wait for the browser's verdict."""
    query = f"?token={token}" if token is not None else ""
    page.goto(f"{base_url}/public/verify/{number}{query}")
    page.wait_for_selector('#verdict:not([data-result="checking"])', timeout=15_000)
    assert page.script_errors == []
    return str(page.get_attribute("#verdict", "data-result"))


def results(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c: str(page.get_attribute(f"#check-{c}", "data-result")) for c in CHECKS}


def _latest_leaf_index(platform, number: str) -> int:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return int(
            c.execute(
                select(func.max(ledger_leaves.c.idx)).where(
                    ledger_leaves.c.kind == "certificate", ledger_leaves.c.record_id == number
                )
            ).scalar_one()
        )


# ------------------------------------------------------------------ genuine, revoked, pending, unknown


def test_a_genuine_certificate_passes_every_check_and_shows_its_place_in_the_ledger(
    platform, issued, live_server, page
):
    checkpoint = issue_checkpoint(platform)
    assert checkpoint is not None
    assert open_check(page, live_server, issued.number, issued.token) == "valid"
    assert page.evaluate("performance.getEntriesByName('jiliang:verdict').length") == 1  # User Timing mark
    assert results(page) == ALL_PASS
    for mark in page.locator("#checks .mark").all_inner_texts():
        assert mark == "✓"
    index = _latest_leaf_index(platform, issued.number)
    position = page.locator("#ledger-position")
    assert position.get_attribute("data-index") == str(index)
    assert position.get_attribute("data-checkpoint") == str(checkpoint.number)
    assert position.inner_text() == f"已记入账本：第 {index} 号叶子，检查点 {checkpoint.number}"
    # the facts are read from the signed bytes
    assert page.inner_text("#fact-number") == issued.number
    assert page.inner_text("#fact-instrument") == "电子计价秤"
    assert "徐汇区计量所" in page.inner_text("#fact-institution")
    assert page.inner_text("#fact-conclusion").startswith("合格")
    assert page.inner_text("#fact-decision-rule").startswith("简单接受")  # the rule the verdict was decided by
    assert page.get_attribute("#status", "data-status") == "valid"
    assert "真实有效" in page.inner_text("#verdict")
    assert "ed25519:" in page.inner_text("#check-checkpoint")  # names the platform key that signed
    assert "Genuine" not in page.inner_text("#certificate-check")  # one language: the page's
    screenshot(page, "public-certificate-valid")


def test_a_revoked_certificate_is_shown_as_genuine_but_revoked_with_the_reason(platform, issued, live_server, page):
    revoke_certificate(
        platform.uow(), world.confirm(platform, issued.lab.approver), issued.number, "示值超差，已重新检定"
    )
    issue_checkpoint(platform)
    assert open_check(page, live_server, issued.number, issued.token) == "revoked"
    assert results(page) == ALL_PASS  # the revocation itself is proven by the ledger
    assert page.get_attribute("#status", "data-status") == "revoked"
    assert "已撤销" in page.inner_text("#status")
    verdict = page.inner_text("#verdict")
    assert "证书真实，但已被撤销" in verdict and "请勿再以此证书为据" in verdict and "示值超差，已重新检定" in verdict
    assert page.get_attribute("#ledger-position", "data-index") == str(_latest_leaf_index(platform, issued.number))
    screenshot(page, "public-certificate-revoked")


def test_a_certificate_not_yet_in_a_checkpoint_is_pending(platform, issued, live_server, page):
    assert open_check(page, live_server, issued.number, issued.token) == "pending"
    assert results(page) == {"signature": "pass", "leaf": "pass", "inclusion": "skipped", "checkpoint": "skipped"}
    assert "签名已核实，账本证明尚待生成" in page.inner_text("#verdict") and "稍后" in page.inner_text("#verdict")
    assert page.get_attribute("#ledger-position", "data-checkpoint") == ""
    screenshot(page, "certificate-pending")


def test_a_wrong_token_says_the_certificate_was_not_found(platform, issued, live_server, page):
    issue_checkpoint(platform)
    assert open_check(page, live_server, issued.number, "not-the-qr-token") == "not-found"
    verdict = page.inner_text("#verdict")
    assert "未找到证书" in verdict and "证书编号或校验码不正确" in verdict
    assert page.locator("#certificate").is_hidden() and page.locator("#checks-card").is_hidden()
    screenshot(page, "certificate-wrong-token")


def test_the_number_alone_shows_only_the_status_rendered_by_the_server(platform, issued, live_server, page):
    assert open_check(page, live_server, issued.number, None) == "valid"
    assert "该证书有效" in page.inner_text("#verdict")
    assert page.locator("#certificate").count() == 0 and page.locator("#checks").count() == 0  # no facts, no proof


def test_an_sm2_signature_is_reported_as_not_checkable_in_the_browser_while_the_ledger_still_proves_it(
    settings, serve, page
):
    platform = Platform(replace(settings, ledger_sm2=True))  # checkpoints co-signed with SM2 too
    try:
        ensure_platform_keys(platform.uow())
        with platform.uow() as uow:
            replace_institution_key(uow, "D310104", "SM2-SM3")
            uow.commit()
        issued = issue(platform)
        issue_checkpoint(platform)
        assert open_check(page, serve(platform), issued.number, issued.token) == "partial"
    finally:
        platform.engine.dispose()
    assert results(page) == {"signature": "unavailable", "leaf": "pass", "inclusion": "pass", "checkpoint": "pass"}
    assert "国密 SM2-SM3 签名无法在浏览器中核验" in page.inner_text("#check-signature")
    assert "另有 1 个 SM2 签名未在浏览器中核验" in page.inner_text("#check-checkpoint")  # listed, not checked
    screenshot(page, "certificate-sm2")


# ------------------------------------------------------------------ tampering caught by the browser


def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _proof_hash(proof: dict[str, Any]) -> None:
    proof["ledger"]["inclusion_proof"][0] = _flip(proof["ledger"]["inclusion_proof"][0])


def _leaf_status(proof: dict[str, Any]) -> None:
    leaf = proof["ledger"]["leaf"]
    assert '"status":"valid"' in leaf
    proof["ledger"]["leaf"] = leaf.replace('"status":"valid"', '"status":"revoked"')


def _payload(proof: dict[str, Any]) -> None:
    assert '"serial_no":"SN' in proof["payload"]
    proof["payload"] = proof["payload"].replace('"serial_no":"SN', '"serial_no":"SX')


def _checkpoint_root(proof: dict[str, Any]) -> None:
    lines = proof["ledger"]["checkpoint"].split("\n")
    lines[2] = _flip(lines[2])
    proof["ledger"]["checkpoint"] = "\n".join(lines)


@pytest.mark.parametrize(
    ("name", "tamper", "failing"),
    [
        ("tampered-proof", _proof_hash, {"inclusion"}),
        ("tampered-leaf", _leaf_status, {"inclusion"}),
        ("tampered-payload", _payload, {"signature", "leaf"}),
        ("tampered-checkpoint", _checkpoint_root, {"inclusion", "checkpoint"}),
    ],
)
def test_one_altered_byte_in_the_server_answer_makes_the_check_fail(
    platform, issued, live_server, page, name: str, tamper: Callable[[dict[str, Any]], None], failing: set[str]
):
    issue_checkpoint(platform)

    def altered(route):  # type: ignore[no-untyped-def]
        response = route.fetch()
        body = response.json()
        tamper(body)
        route.fulfill(response=response, json=body)

    page.route(re.compile(r"/proof\?token="), altered)
    assert open_check(page, live_server, issued.number, issued.token) == "invalid"
    assert results(page) == {c: "fail" if c in failing else "pass" for c in CHECKS}
    for check in failing:
        assert page.inner_text(f"#check-{check} .mark") == "✗"
    assert "核验未通过" in page.inner_text("#verdict") and "证书或其证明可能被篡改" in page.inner_text("#verdict")
    screenshot(page, f"certificate-{name}")


def test_a_checkpoint_signed_after_the_platform_key_was_reported_compromised_fails(platform, issued, live_server, page):
    issue_checkpoint(platform)
    with platform.engine.begin() as c:
        c.execute(
            update(signing_keys)
            .where(signing_keys.c.owner == "platform")
            .values(compromised_from=datetime.now().astimezone() - timedelta(days=1))
        )
    assert open_check(page, live_server, issued.number, issued.token) == "invalid"
    assert results(page) == {"signature": "pass", "leaf": "pass", "inclusion": "pass", "checkpoint": "fail"}
    assert "已报告泄露" in page.inner_text("#check-checkpoint")


# ------------------------------------------------------------------ the JavaScript port equals the Python


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_browser_inclusion_check_agrees_with_the_python_one_on_every_leaf_of_small_trees(live_server, page):
    cases, expected = [], []
    for size in range(1, 34):
        leaves = [merkle.leaf_hash(f"leaf {i} of {size} 计量".encode()) for i in range(size)]
        root = merkle.root(leaves)
        for index in range(size):
            proof = merkle.inclusion_proof(leaves, index)
            genuine, wrong_index, wrong_size = (index, size, proof), (index ^ 1, size, proof), (index, size + 1, proof)
            for i, n, p in (genuine, wrong_index, wrong_size, (index, size, proof[:-1])):
                case = {"leaf": _b64(leaves[index]), "index": i, "size": n, "proof": [_b64(h) for h in p]}
                cases.append(case | {"root": _b64(root)})
                expected.append(merkle.verify_inclusion(leaves[index], i, n, p, root))
    assert all(expected[::4]) and not all(expected)  # the genuine proofs hold, most variants do not
    page.goto(f"{live_server}/login")  # a page whose policy lets it load this site's scripts
    got = page.evaluate(
        """async (cases) => {
            const m = await import("/static/verify-certificate.js");
            const out = [];
            for (const c of cases) {
                out.push(await m.verifyInclusion(m.b64decode(c.leaf), c.index, c.size,
                                                 c.proof.map(m.b64decode), m.b64decode(c.root)));
            }
            return out;
        }""",
        cases,
    )
    assert got == expected


def test_the_browser_computes_leaf_hashes_and_note_key_ids_as_the_platform_does(live_server, page):
    leaf = json.dumps({"kind": "certificate", "id": "D310104-2026-000001", "名称": "电子计价秤"}, ensure_ascii=False)
    raw_key = bytes(range(32))
    page.goto(f"{live_server}/login")  # a page whose policy lets it load this site's scripts
    got = page.evaluate(
        """async ([leaf, rawKey]) => {
            const m = await import("/static/verify-certificate.js");
            const key = m.b64decode(rawKey);
            return [m.hex(await m.leafHash(new TextEncoder().encode(leaf))),
                    m.hex(await m.noteKeyId("jiliang.local/ledger", Uint8Array.of(1), key))];
        }""",
        [leaf, _b64(raw_key)],
    )
    assert got == [merkle.leaf_hash(leaf.encode()).hex(), key_id("jiliang.local/ledger", "ed25519", raw_key).hex()]
