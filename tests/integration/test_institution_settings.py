"""An institution's authorisation number and seal (issue 15): a lab manager records them for their
own institution over the API and the pages, an administrator for any; the printed certificate shows
them (pdftotext for the number, pdfimages for the seal); each change is one transaction with its audit
event and ledger entry, and a bad image is refused with a message in both languages, nothing written."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from jiliang.audit import audit_events, history
from jiliang.certificates.printed import printed_certificate
from jiliang.certificates.tables import certificates
from jiliang.ledger.auditor import audit
from jiliang.ledger.tables import ledger_leaves
from jiliang.registry.tables import institution_seals
from tests.conftest import ADMIN_PASSWORD, login, missing_service
from tests.integration.test_cli import cli  # noqa: F401  (fixture)
from tests.support import seal, world
from tests.support.work_pages import log_in

XUHUI = "D310104"


@pytest.fixture
def poppler() -> None:
    if not all(shutil.which(tool) for tool in ("pdftotext", "pdfimages")):
        missing_service("poppler-utils (pdftotext, pdfimages) not installed")


def _pdf(client, headers, number: str, tmp_path: Path) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """The certificate's PDF: its text layer and the type of each image it holds (image, smask: an
    image's transparency), as `pdfimages -list` names them."""
    r = client.get(f"/api/certificates/{number}/document", params={"format": "pdf"}, headers=headers)
    assert r.status_code == 200, r.text
    path = tmp_path / f"{number}.pdf"
    path.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True)
    return text.stdout, [line.split()[2] for line in images.stdout.splitlines()[2:]]  # two header lines


def _upload(client, headers, png: bytes, code: str = XUHUI):  # type: ignore[no-untyped-def]
    return client.put(f"/api/institutions/{code}/seal", headers=headers, files={"file": ("seal.png", png, "image/png")})


def test_the_pdf_prints_the_number_and_seal_a_lab_manager_records(platform, client, poppler, tmp_path) -> None:
    lab, number = world.issued_certificate(platform)
    manager = login(client, lab.manager.username, world.PASSWORD)
    text, images = _pdf(client, manager, number, tmp_path)
    assert "计量授权证书编号：未登记" in text.replace(" ", "")
    assert "检定专用章" in text  # the dashed place for a seal stamped by hand

    r = client.put(
        f"/api/institutions/{XUHUI}/authorisation-number",
        headers=manager,
        json={"authorisation_no": " （沪）法计（2021）01004号 "},
    )
    assert r.status_code == 200, r.text
    assert r.json()["authorisation_no"] == "（沪）法计（2021）01004号" and r.json()["seal"] is None
    png = seal.seal_png(1200)
    r = _upload(client, manager, png)
    assert r.status_code == 200, r.text
    kept = r.json()
    assert (kept["width"], kept["height"]) == (400, 400)  # kept at most 400 pixels a side

    text, with_seal = _pdf(client, manager, number, tmp_path)
    assert "计量授权证书编号：（沪）法计（2021）01004号" in text.replace(" ", "")
    assert "未登记" not in text and "（检定专用章）" not in text
    assert sorted(with_seal) == sorted([*images, "image", "smask"])  # the seal, and its transparency

    r = client.get(f"/api/institutions/{XUHUI}/seal", headers=manager)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG") and len(r.content) == kept["size_bytes"]

    assert client.delete(f"/api/institutions/{XUHUI}/seal", headers=manager).status_code == 204
    text, images_after = _pdf(client, manager, number, tmp_path)
    assert images_after == images and "检定专用章" in text
    assert client.get(f"/api/institutions/{XUHUI}/seal", headers=manager).status_code == 404


def test_each_change_is_audited_and_ledgered_and_the_ledger_stays_clean(platform, client) -> None:
    lab = world.make_lab(platform, XUHUI, ["nawi"])
    h = login(client, lab.manager.username, world.PASSWORD)
    with platform.engine.connect() as c:
        leaves_before = c.execute(select(func.count()).select_from(ledger_leaves)).scalar_one()
    steps = [
        client.put(f"/api/institutions/{XUHUI}/authorisation-number", headers=h, json={"authorisation_no": "A-1"}),
        client.put(f"/api/institutions/{XUHUI}/authorisation-number", headers=h, json={"authorisation_no": "A-1"}),
        _upload(client, h, seal.seal_png(300)),
        _upload(client, h, seal.seal_png(320)),
        client.delete(f"/api/institutions/{XUHUI}/seal", headers=h),
        client.put(f"/api/institutions/{XUHUI}/authorisation-number", headers=h, json={"authorisation_no": ""}),
    ]
    assert [r.status_code for r in steps] == [200, 200, 200, 200, 204, 200]
    with platform.engine.connect() as c:
        events = [e for e in history(c, "institution", lab.institution_id) if e["action"].startswith("institution.")]
        kinds = c.execute(
            select(ledger_leaves.c.kind, ledger_leaves.c.version)
            .where(ledger_leaves.c.kind.in_(("institution", "institution_seal")))
            .where(ledger_leaves.c.record_id == str(lab.institution_id))
            .order_by(ledger_leaves.c.idx)
        ).all()
        leaves = c.execute(select(func.count()).select_from(ledger_leaves)).scalar_one()
    # the same number again changes nothing: no event, no entry
    assert [e["action"] for e in events] == [
        "institution.authorisation_no_set",
        "institution.seal_uploaded",
        "institution.seal_replaced",
        "institution.seal_removed",
        "institution.authorisation_no_set",
    ]
    assert events[0]["before"] == {"authorisation_no": None} and events[0]["after"] == {"authorisation_no": "A-1"}
    assert events[2]["before"]["seal_sha256"] == events[1]["after"]["seal_sha256"]
    assert events[-1]["after"] == {"authorisation_no": None}
    assert all(e["actor_id"] == lab.manager.user_id and e["institution_id"] == lab.institution_id for e in events)
    changes = ["institution", "institution_seal", "institution_seal", "institution_seal", "institution"]
    assert [k for k, _ in kinds][-5:] == changes
    assert kinds[-1][1] == kinds[-5][1] + 1  # the institution's record, version after version
    assert leaves - leaves_before == 10  # each change: its record's entry and its audit event's
    report = audit(platform)
    assert report.clean, [str(f) for f in report.findings]


def test_an_institution_never_sees_or_changes_anothers(platform, client) -> None:
    xuhui = world.make_lab(platform, XUHUI, ["nawi"])
    other = world.make_lab(platform, "D310105", ["nawi"])
    assert _upload(client, login(client, xuhui.manager.username, world.PASSWORD), seal.seal_png()).status_code == 200
    theirs = login(client, other.manager.username, world.PASSWORD)
    for method, path, kw in (
        ("GET", "", {}),
        ("PUT", "/authorisation-number", {"json": {"authorisation_no": "X"}}),
        ("GET", "/seal", {}),
        ("DELETE", "/seal", {}),
    ):
        real = client.request(method, f"/api/institutions/{XUHUI}{path}", headers=theirs, **kw)
        made_up = client.request(method, f"/api/institutions/X987654{path}", headers=theirs, **kw)
        assert real.status_code == made_up.status_code == 404, (method, path, real.text)
        assert real.json()["detail"] == made_up.json()["detail"].replace("X987654", XUHUI)
    r = _upload(client, theirs, seal.seal_png())
    assert r.status_code == 404
    verifier = login(client, xuhui.verifier.username, world.PASSWORD)  # staff, but not its lab manager
    assert client.get(f"/api/institutions/{XUHUI}", headers=verifier).status_code == 403
    assert _upload(client, verifier, seal.seal_png()).status_code == 403
    admin = login(client, "admin", ADMIN_PASSWORD)
    r = client.put("/api/institutions/D310105/authorisation-number", headers=admin, json={"authorisation_no": "B-2"})
    assert r.status_code == 200 and r.json()["authorisation_no"] == "B-2"
    with platform.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(institution_seals)).scalar_one() == 1  # Xuhui's only


@pytest.mark.parametrize(
    ("png", "says"),
    [
        (seal.jpeg(), "must be a PNG file"),
        (seal.seal_png(background=(255, 255, 255, 255)), "needs a transparent background"),
        (seal.seal_png(60), "100–2500 pixels"),
        (seal.seal_png(400)[:3000], "damaged or not a PNG"),
        (b"", "choose the seal's image file"),
    ],
)
def test_a_bad_seal_image_is_refused_plainly_and_nothing_is_written(platform, client, png, says) -> None:
    lab = world.make_lab(platform, XUHUI, ["nawi"])
    h = login(client, lab.manager.username, world.PASSWORD)
    with platform.engine.connect() as c:
        events = c.execute(select(func.count()).select_from(audit_events)).scalar_one()
    r = _upload(client, h, png)
    assert r.status_code == 422 and r.json()["rule"] == "seal_image", r.text
    zh, en = r.json()["detail"].split(" / ", 1)
    assert says in en and re.search(r"[\u4e00-\u9fff]", zh)
    with platform.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(institution_seals)).scalar_one() == 0
        assert c.execute(select(func.count()).select_from(audit_events)).scalar_one() == events


def test_a_seal_over_512_kb_and_a_bad_number_are_refused(platform, client) -> None:
    lab = world.make_lab(platform, XUHUI, ["nawi"])
    h = login(client, lab.manager.username, world.PASSWORD)
    big = seal.seal_png(400)
    big = big[:-12] + b"\x00" * (600 * 1024) + big[-12:]  # padding before IEND: a file over the limit
    r = _upload(client, h, big)
    assert r.status_code == 422 and "at most 512 KB" in r.json()["detail"]
    for bad in ("A\n1", "x" * 65, "A\u200b1"):
        r = client.put(f"/api/institutions/{XUHUI}/authorisation-number", headers=h, json={"authorisation_no": bad})
        assert r.status_code == 422, bad
    assert client.get(f"/api/institutions/{XUHUI}", headers=h).json()["authorisation_no"] is None


def test_printing_reads_the_number_and_seal_in_one_statement(platform) -> None:
    lab, number = world.issued_certificate(platform)
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
        statements: list[str] = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(platform.engine, "before_cursor_execute", listener)
        try:
            printed = printed_certificate(c, platform, cert)
        finally:
            event.remove(platform.engine, "before_cursor_execute", listener)
    assert printed.authorisation_no is None and printed.seal_png is None
    assert len(statements) == 2, statements  # its ledger leaf, and the institution's number with its seal


def test_the_pages_record_the_number_and_the_seal_in_the_visitors_language(platform) -> None:
    from fastapi.testclient import TestClient

    from jiliang.api import create_app
    from tests.support.work_pages import form_token

    lab = world.make_lab(platform, XUHUI, ["nawi"])
    with TestClient(create_app(platform)) as browser:
        log_in(browser, lab.manager.username)
        r = browser.get("/lab/institutions", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/lab/institutions/{XUHUI}"
        page = f"/lab/institutions/{XUHUI}"
        token = form_token(browser, page)
        r = browser.post(f"{page}/authorisation-number", data={"authorisation_no": "沪法计2021-4", "csrf_token": token})
        assert r.status_code == 200 and "已保存计量授权证书编号" in r.text and "沪法计2021-4" in r.text
        jpeg = {"seal": ("s.jpg", seal.jpeg(), "image/jpeg")}
        r = browser.post(f"{page}/seal", data={"csrf_token": token}, files=jpeg)
        assert r.status_code == 422 and "印章图片须为 PNG 格式" in r.text and "must be a PNG" not in r.text
        browser.get("/lang/en")
        png = {"seal": ("s.png", seal.seal_png(), "image/png")}
        r = browser.post(f"{page}/seal", data={"csrf_token": token}, files=png)
        assert r.status_code == 200 and "Seal uploaded." in r.text and 'id="seal-image"' in r.text
        assert not re.search(r"[\u4e00-\u9fff]", _labels(r.text)), _labels(r.text)  # English labels only
        assert browser.get(f"{page}/seal.png").headers["content-type"] == "image/png"
        r = browser.post(f"{page}/seal/remove", data={"csrf_token": token})
        assert r.status_code == 200 and "Seal removed." in r.text and 'id="seal-missing"' in r.text


def _labels(html: str) -> str:
    """The page's own words (its main part's text) without the number typed in Chinese, which is data."""
    main = re.search(r"<main.*?</main>", html, flags=re.S)
    assert main
    return re.sub(r"<[^>]+>", " ", main.group(0)).replace("沪法计2021-4", "")


def _forged(platform, actor, change) -> None:  # type: ignore[no-untyped-def]
    """A change written in the lab manager's name with database access and the platform's code: the
    rows, a ledger entry and an audit event naming them — everything but the right to make it."""
    from sqlalchemy import update

    from jiliang.audit import record_event
    from jiliang.ledger.append import track
    from jiliang.registry.tables import institutions

    uow = platform.uow()
    with uow:
        iid = change(uow)
        if iid is None:  # the institution's record itself
            iid = actor.institution_id
            values = {"authorisation_no": "A-9", "cross_district": True}
            uow.conn.execute(update(institutions).where(institutions.c.id == iid).values(**values))
            track(uow, "institution", [iid])
        record_event(uow, actor.user_id, "institution.authorisation_no_set", "institution", iid, None, None, iid)
        uow.commit()


def _seal_for(other: int):  # type: ignore[no-untyped-def]
    def change(uow):  # type: ignore[no-untyped-def]
        from sqlalchemy import insert

        from jiliang.ledger.append import track
        from jiliang.types import utcnow

        values = {"institution_id": other, "png": seal.seal_png(), "uploaded_at": utcnow(), "uploaded_by": 1}
        uow.conn.execute(insert(institution_seals).values(**values))
        track(uow, "institution_seal", [other], new=True)
        return other

    return change


@pytest.mark.parametrize("what", ["more than the number", "another institution's seal"])
def test_the_ledger_names_a_lab_managers_change_beyond_their_right(platform, what) -> None:
    lab = world.make_lab(platform, XUHUI, ["nawi"])
    other = world.institution_id(platform, "D310105")
    number = what == "more than the number"
    _forged(platform, lab.manager, (lambda uow: None) if number else _seal_for(other))
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    table, iid = ("institutions", lab.institution_id) if number else ("institution_seals", other)
    assert found == {("unauthorised", table, str(iid))}


def test_the_cli_records_the_number_and_the_seal(cli, platform, tmp_path) -> None:  # noqa: F811
    png = tmp_path / "seal.png"
    png.write_bytes(seal.seal_png())
    assert cli("institution", "number", XUHUI, "（沪）法计（2021）01004号").exit_code == 0
    r = cli("institution", "seal", XUHUI, str(png))
    assert r.exit_code == 0 and "400 × 400" in r.stdout, r.output
    shown = cli("institution", "show", XUHUI).stdout
    assert "（沪）法计（2021）01004号" in shown and "400 × 400 px" in shown
    png.write_bytes(seal.jpeg())
    r = cli("institution", "seal", XUHUI, str(png))
    assert r.exit_code == 2 and "must be a PNG" in " ".join(r.stderr.split())
    assert cli("institution", "remove-seal", XUHUI).exit_code == 0
    assert cli("institution", "number", XUHUI, "").exit_code == 0
    assert "未登记" in cli("institution", "show", XUHUI).stdout
    r = cli("institution", "show", "X987654")
    assert r.exit_code == 2 and "no institution X987654" in " ".join(r.stderr.split())
    with platform.engine.connect() as c:
        actions = [e["action"] for e in history(c, "institution", world.institution_id(platform, XUHUI))]
    assert actions[-4:] == [
        "institution.authorisation_no_set",
        "institution.seal_uploaded",
        "institution.seal_removed",
        "institution.authorisation_no_set",
    ]
