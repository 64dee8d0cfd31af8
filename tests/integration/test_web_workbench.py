"""The institution's workbench and the lab manager's pages over real HTTP on the real database: the
task queue, the results form with its live evaluation, check and approval with the password, the
certificates with amend and revoke, staff and standards with their expiry warnings, tenancy by URL,
and CSRF. Expected errors and MPEs are worked out by hand from JJG 539-2016 (reference/mpe_rules.csv,
class III rows), never read from the code's own output."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from jiliang.certificates.queries import get_certificate
from jiliang.platform import shanghai_today
from jiliang.registry import service as registry
from jiliang.verification import service as workflow
from jiliang.verification.queries import task_detail
from tests.support import jjg539, world
from tests.support.work_pages import clients, form_token, overall, post_form, row_columns, row_output

TODAY = shanghai_today()
# A class III scale with e = 0.005 kg (world.scale). JJG 539-2016, subsequent verification:
# 0 < m <= 500e (2.5 kg): MPE 0.5e = 0.0025 kg; 500e < m <= 2000e (10 kg): MPE 1.0e = 0.005 kg.
# In service the MPE doubles: 500e < m <= 2000e gives 2.0e = 0.010 kg. Tare-setting: 0.25e = 0.00125 kg,
# a rule the reference marks "not confirmed", so its verdicts are advisory (zero-setting, also 0.25e, is
# now confirmed from two sources).
E = Decimal("0.005")
# d = e, so each reading carries the changeover-point ΔL: E = I + e/2 − ΔL − L. With ΔL = e/2 the error is
# I − L, the numbers worked out below. A verification at stage subsequent records every JJG 539 test, so the
# readings a test is about come first (rows 0, 1, …) and a complete, passing set (jjg539.complete()) follows.
HALF_E = "0.0025"


@pytest.fixture
def as_(platform):  # type: ignore[no-untyped-def]
    yield from clients(platform)


def scale_tasks(platform, lab_code: str = "D310104", district: str = "310104", n: int = 1):  # type: ignore[no-untyped-def]
    owner = world.make_owner(platform, district)
    lab = world.make_lab(platform, lab_code, ["nawi"])
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(n)])
    return lab, tasks


def evaluate(client, task: int, rows: list, stage: str = "subsequent"):  # type: ignore[no-untyped-def]
    token = form_token(client, f"/work/tasks/{task}")
    data = {"performed_on": TODAY.isoformat(), "stage": stage, **row_columns(rows)}
    r = client.post(f"/work/tasks/{task}/evaluate", data=data, headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert r.status_code == 200, r.text
    return r.text


def results_form(lab: world.Lab, rows: list, password: str = world.PASSWORD) -> dict:
    return {
        "performed_on": TODAY.isoformat(),
        "stage": "subsequent",
        "standard_ids": [str(lab.standard_id)],
        "temperature": "20.5 °C",
        **row_columns(rows),
        "password": password,
    }


def complete(*rows: tuple) -> list:
    """`rows` first, then every other test of a subsequent verification, all passing."""
    return [*rows, *jjg539.complete()]


def test_the_queue_shows_tasks_by_state_with_counts(platform, as_):
    lab, (fresh, recorded, issued) = scale_tasks(platform, n=3)
    rid = world.record(platform, lab, recorded)
    world.verify(platform, lab, issued)
    verifier = as_(lab.verifier)
    page = verifier.get("/work/tasks").text  # a verifier starts on the tasks to record
    assert f'data-task="{fresh}"' in page and f'data-task="{recorded}"' not in page
    for state, count in (("assigned", 1), ("recorded", 1), ("checked", 0), ("issued", 1)):
        assert f'href="/work/tasks?state={state}" data-state="{state}"' in page
        assert f'data-count="{count}"' in page.split(f'data-state="{state}"', 1)[1].split("</a>", 1)[0]
    to_check = as_(lab.checker).get("/work/tasks").text  # a checker starts on the records to check
    assert f'data-task="{recorded}"' in to_check and f'href="/work/records/{rid}"' in to_check
    assert f'data-task="{fresh}"' not in to_check
    everything = verifier.get("/work/tasks?state=all").text
    assert all(f'data-task="{t}"' in everything for t in (fresh, recorded, issued))


def test_the_task_page_shows_the_regulation_in_force_and_only_valid_standards(platform, as_):
    lab, [task] = scale_tasks(platform)
    lapsed_on = TODAY - timedelta(days=1)
    expired = registry.add_standard(
        platform.uow(), lab.manager, lab.institution_id, "过期砝码", "[2019]沪量标9号", lapsed_on, ["nawi"]
    )
    calibrated, due = TODAY - timedelta(days=60), TODAY + timedelta(days=300)
    registry.record_standard_calibration(platform.uow(), lab.manager, expired, "SIMT", "C-1", calibrated, due, True)
    client = as_(lab.verifier)
    page = client.get(f"/work/tasks/{task}").text
    assert "JJG 539-2016" in page and "电子计价秤" in page
    usable = page.split(f'data-standard="{lab.standard_id}"', 1)[1].split("</li>", 1)[0]
    assert 'name="standard_ids"' in usable and "disabled" not in usable
    refused = page.split(f'data-standard="{expired}"', 1)[1].split("</li>", 1)[0]
    assert '"standard_expired"' in refused and "考核证书已于" in refused and "standard_ids" not in refused
    # posting the expired one anyway is refused by the service, and nothing is written
    data = results_form(lab, complete()) | {"standard_ids": [str(expired)]}
    r = post_form(client, f"/work/tasks/{task}", f"/work/tasks/{task}/results", data)
    assert r.status_code == 409 and "考核证书已于" in r.text
    with platform.engine.connect() as c:
        assert task_detail(c, lab.verifier, task)["records"] == []


def test_live_evaluation_judges_each_point_by_the_published_mpe(platform, as_):
    lab, [task] = scale_tasks(platform)
    client = as_(lab.verifier)
    # m = 5 kg = 1000e: MPE 1.0e = 0.005 kg. Indication 5.005 → error +0.005 kg = MPE → passes.
    html = evaluate(client, task, complete(("load", "5.000", "5.005", HALF_E), ("load", "1.000", "1.000", HALF_E)))
    first, second = row_output(html, 0), row_output(html, 1)
    assert first.error == Decimal("0.005") and first.mpe_upper == E and first.mpe_lower == -E
    assert first.mpe_unit == "kg" and first.verdict == "pass" and not first.advisory
    # m = 1 kg = 200e: MPE 0.5e = 0.0025 kg; no error
    assert second.error == 0 and second.mpe_upper == Decimal("0.0025") and second.verdict == "pass"
    assert overall(html) == ("pass", False)
    # 5.010 → error +0.010 kg > 0.005 kg: the point and the whole verification fail
    html = evaluate(client, task, complete(("load", "5.000", "5.010", HALF_E), ("load", "1.000", "1.000", HALF_E)))
    assert row_output(html, 0).error == Decimal("0.010") and row_output(html, 0).verdict == "fail"
    assert row_output(html, 1).verdict == "pass" and overall(html) == ("fail", False)
    # in service the MPE doubles (2.0e = 0.010 kg): the same reading passes (in service needs only the weighing test)
    html = evaluate(client, task, [("load", "5.000", "5.010", HALF_E), *jjg539.weighing()], stage="in_service")
    assert row_output(html, 0).mpe_upper == 2 * E and overall(html) == ("pass", False)


def test_verdicts_of_unconfirmed_rules_are_marked_advisory(platform, as_):
    lab, [task] = scale_tasks(platform)
    client = as_(lab.verifier)
    assert 'id="advisory-rules"' in client.get(f"/work/tasks/{task}").text
    # tare-setting (the unconfirmed rule now that zero-setting is sourced): MPE 0.25e = 0.00125 kg;
    # 0.000 with ΔL = e/2 → error 0, passes, but only advisory
    html = evaluate(client, task, complete(("tare", "0", "0.000", HALF_E), ("load", "5.000", "5.005", HALF_E)))
    zero = row_output(html, 0)
    assert zero.mpe_upper == Decimal("0.25") * E and zero.verdict == "pass" and zero.advisory
    assert not row_output(html, 1).advisory
    assert overall(html) == ("pass", True) and 'data-status="advisory"' in html


def test_a_bad_row_is_marked_and_blank_rows_are_ignored(platform, as_):
    lab, [task] = scale_tasks(platform)
    rows = complete(("load", "5.000", "abc", HALF_E), ("load", "", ""), ("load", "1", "1.000", HALF_E))
    html = evaluate(as_(lab.verifier), task, rows)
    assert row_output(html, 0).verdict == "problem" and "不是数字" in html
    assert row_output(html, 1).verdict is None and row_output(html, 2).verdict == "pass"
    assert overall(html)[0] == "problem"


def test_a_wrong_password_refuses_the_results_and_writes_nothing(platform, as_):
    lab, [task] = scale_tasks(platform)
    client = as_(lab.verifier)
    data = results_form(lab, complete(("load", "5.000", "5.005", HALF_E)), password="not-my-password")
    r = post_form(client, f"/work/tasks/{task}", f"/work/tasks/{task}/results", data)
    assert r.status_code == 403 and "密码错误" in r.text
    assert 'value="5.005"' in r.text  # the form comes back as typed
    with platform.engine.connect() as c:
        assert task_detail(c, lab.verifier, task)["records"] == []


def test_results_check_and_approval_through_the_pages_issue_a_certificate(platform, as_):
    lab, [task] = scale_tasks(platform)
    verifier = as_(lab.verifier)
    rows = complete(("load", "1.000", "1.000", HALF_E), ("load", "5.000", "5.005", HALF_E))
    r = post_form(verifier, f"/work/tasks/{task}", f"/work/tasks/{task}/results", results_form(lab, rows))
    assert r.status_code == 303, r.text
    record_url = r.headers["location"]
    page = verifier.get(record_url).text
    assert "5.005" in page and "20.5 °C" in page and lab.verifier.display_name in page
    assert 'id="check"' not in page  # the verifier has no checker role
    checker = as_(lab.checker)
    assert 'id="check"' in checker.get(record_url).text
    r = post_form(checker, record_url, f"{record_url}/check", {"password": world.PASSWORD, "decision": "accept"})
    assert r.status_code == 303, r.text
    approver = as_(lab.approver)
    page = approver.get(record_url).text
    assert 'id="approve"' in page and lab.checker.display_name in page
    r = post_form(approver, record_url, f"{record_url}/approve", {"password": world.PASSWORD})
    assert r.status_code == 303
    page = approver.get(record_url).text
    assert "jiliang_flash" not in page and 'class="cert-link"' in page
    number = page.split('class="cert-link">', 1)[1].split("<", 1)[0]
    with platform.engine.connect() as c:
        cert = get_certificate(c, lab.approver, number)
    assert cert.status == "valid" and cert.kind == "verification"
    assert f"/public/verify/{number}?token={cert.public_token}" in page
    listed = approver.get("/work/certificates").text
    assert f'data-number="{number}" data-status="valid"' in listed


def test_the_same_person_cannot_check_their_own_record(platform, as_):
    lab, [task] = scale_tasks(platform)
    adm = world.admin(platform)
    uid = registry.create_user(
        platform.uow(), adm, "both-hats", world.PASSWORD, "双岗人员", ["verifier", "checker"], lab.institution_id
    )
    registry.grant_qualification(
        platform.uow(), adm, uid, "nawi", "Q-BOTH", TODAY - timedelta(days=10), TODAY + timedelta(days=300)
    )
    from jiliang.auth import load_actor

    with platform.engine.connect() as c:
        both = load_actor(c, uid)
    rid = world.record(platform, world.Lab(**{**lab.__dict__, "verifier": both}), task)
    client = as_(both)
    url = f"/work/records/{rid}"
    r = post_form(client, url, f"{url}/check", {"password": world.PASSWORD, "decision": "accept"})
    assert r.status_code == 409 and "核验员不能核验自己检定的记录" in r.text
    assert 'data-status="recorded"' in client.get(url).text


def test_revoking_through_the_page_marks_the_certificate_revoked(platform, as_):
    lab, number = world.issued_certificate(platform)
    approver = as_(lab.approver)
    url = f"/work/certificates/{number}"
    r = post_form(approver, url, f"{url}/revoke", {"password": world.PASSWORD, "reason": ""})
    assert r.status_code == 422 and "撤销原因" in r.text
    r = post_form(approver, url, f"{url}/revoke", {"password": world.PASSWORD, "reason": "误用标准器"})
    assert r.status_code == 303
    page = approver.get(url).text
    assert 'id="certificate-status"' in page and 'data-status="revoked"' in page and "误用标准器" in page
    assert f'data-number="{number}"' in approver.get("/work/certificates?status=revoked").text
    assert f'data-number="{number}"' not in approver.get("/work/certificates?status=valid").text


def test_amending_through_the_page_issues_a_new_number_and_supersedes_the_old(platform, as_):
    lab, number = world.issued_certificate(platform)
    approver = as_(lab.approver)
    url = f"/work/certificates/{number}"
    data = {"password": world.PASSWORD, "reason": "型号录入错误", "instrument.model": "TM-B"}
    r = post_form(approver, url, f"{url}/amend", data)
    assert r.status_code == 303
    new = r.headers["location"].rsplit("/", 1)[1]
    assert new != number and "TM-B" in approver.get(r.headers["location"]).text
    assert 'data-status="superseded"' in approver.get(url).text


def test_a_calibration_task_takes_u_and_k_and_gives_no_verdict(platform, as_):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "SIMT", [])
    gauge = registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(item_code=None, name="数字压力表", serial_no="PG-1", use="safety"),
    )
    [task] = workflow.apply(platform.uow(), owner, [gauge], kind="calibration", conformity_statement=False)
    client = as_(lab.verifier)
    page = client.get(f"/work/tasks/{task}").text
    assert 'name="u"' in page and 'name="k"' in page
    data = results_form(lab, [("p1", "1.000", "1.002")]) | {"stage": "", "u": ["0.0012"], "k": ["2"]}
    r = post_form(client, f"/work/tasks/{task}", f"/work/tasks/{task}/results", data)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "0.0012" in page and 'data-verdict="none"' in page


def test_lab_pages_flag_expired_and_expiring_qualifications_and_standards(platform, as_):
    lab, _ = scale_tasks(platform)
    manager = as_(lab.manager)
    data = {
        "user_id": str(lab.checker.user_id),
        "item_code": "fuel_dispenser",
        "certificate_no": "Q-SOON",
        "valid_from": (TODAY - timedelta(days=300)).isoformat(),
        "valid_until": (TODAY + timedelta(days=30)).isoformat(),
    }
    assert post_form(manager, "/lab/staff", "/lab/staff/qualifications", data).status_code == 303
    lapsed = data | {"certificate_no": "Q-OLD", "valid_until": (TODAY - timedelta(days=1)).isoformat()}
    assert post_form(manager, "/lab/staff", "/lab/staff/qualifications", lapsed).status_code == 303
    page = manager.get("/lab/staff").text
    assert 'data-qualification="Q-SOON" data-expiry="expiring"' in page
    assert 'data-qualification="Q-OLD" data-expiry="lapsed"' in page
    assert 'id="expiry-summary"' in page
    # standards: a new one due for calibration within 60 days
    std = {
        "name": "燃油加油机检定装置",
        "examination_certificate_no": "[2025]沪量标77号",
        "examination_valid_until": (TODAY + timedelta(days=400)).isoformat(),
        "item_codes": ["fuel_dispenser"],
    }
    assert post_form(manager, "/lab/standards", "/lab/standards", std).status_code == 303
    page = manager.get("/lab/standards").text
    assert 'data-expiry="missing"' in page  # added, not yet calibrated
    sid = page.split("燃油加油机检定装置", 1)[0].rsplit('data-standard="', 1)[1].split('"', 1)[0]
    cal = {
        "standard_id": sid,
        "calibrated_by": "上海市计量测试技术研究院",
        "certificate_no": "CAL-77",
        "calibrated_on": (TODAY - timedelta(days=300)).isoformat(),
        "due": (TODAY + timedelta(days=20)).isoformat(),
        "in_tolerance": "yes",
    }
    assert post_form(manager, "/lab/standards", "/lab/standards/calibrations", cal).status_code == 303
    row = manager.get("/lab/standards").text.split(f'data-standard="{sid}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-expiry="expiring"' in row and "CAL-77" in row


def test_lab_forms_refuse_a_verifier(platform, as_):
    lab, _ = scale_tasks(platform)
    verifier = as_(lab.verifier)
    data = {
        "user_id": str(lab.verifier.user_id),
        "item_code": "nawi",
        "certificate_no": "Q-SELF",
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=365)).isoformat(),
    }
    r = post_form(verifier, "/work/tasks", "/lab/staff/qualifications", data)
    assert r.status_code == 403


def test_institution_a_cannot_open_institution_b_by_url(platform, as_):
    lab_a, _ = scale_tasks(platform, "D310104", "310104")
    lab_b, [b_task, b_done] = scale_tasks(platform, "D310105", "310105", n=2)
    b_record = world.record(platform, lab_b, b_task)
    b_number = world.verify(platform, lab_b, b_done)
    for person in (lab_a.verifier, lab_a.checker, lab_a.approver):
        client = as_(person)
        for url in (f"/work/tasks/{b_task}", f"/work/records/{b_record}", f"/work/certificates/{b_number}"):
            r = client.get(url)
            assert r.status_code in (403, 404), (person.username, url, r.status_code)
            assert lab_b.verifier.display_name not in r.text
    checker = as_(lab_a.checker)
    r = post_form(checker, "/work/tasks", f"/work/records/{b_record}/check", {"password": world.PASSWORD})
    assert r.status_code in (403, 404)
    verifier = as_(lab_a.verifier)
    token = form_token(verifier, "/work/tasks")
    r = verifier.post(
        f"/work/tasks/{b_task}/evaluate",
        data={"point_id": "load", "reference": "1", "indication": "1"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 404
    assert f'data-task="{b_task}"' not in verifier.get("/work/tasks?state=all").text
    assert b_number not in verifier.get("/work/certificates").text


def test_a_post_without_the_csrf_token_is_refused(platform, as_):
    lab, [task] = scale_tasks(platform)
    client = as_(lab.verifier)
    data = results_form(lab, complete(("load", "5.000", "5.005", HALF_E)))
    r = client.post(f"/work/tasks/{task}/results", data=data, follow_redirects=False)
    assert r.status_code == 403 and "页面已过期" in r.text
    r = client.post(f"/work/tasks/{task}/evaluate", data=data, headers={"HX-Request": "true"})
    assert r.status_code == 403
    with platform.engine.connect() as c:
        assert task_detail(c, lab.verifier, task)["records"] == []


def test_pages_need_a_login(client):
    urls = ("/work/tasks", "/work/tasks/1", "/work/records/1", "/work/certificates", "/lab/staff", "/lab/standards")
    for url in urls:
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_the_workbench_speaks_english_too(platform, as_):
    lab, [task] = scale_tasks(platform)
    client = as_(lab.verifier)
    client.get("/lang/en")
    page = client.get(f"/work/tasks/{task}").text
    assert '<html lang="en">' in page and "Record the results" in page and "weighing test load m" in page
    html = evaluate(client, task, complete(("load", "5.000", "5.010", HALF_E)))
    assert ">Fail<" in html and "不合格" not in html


def test_a_checker_returns_a_record_with_a_reason_and_the_task_waits_for_new_results(platform, as_):
    lab, [task] = scale_tasks(platform)
    rid = world.record(platform, lab, task)
    checker = as_(lab.checker)
    url = f"/work/records/{rid}"
    r = post_form(checker, url, f"{url}/check", {"password": world.PASSWORD, "decision": "return", "remark": ""})
    assert r.status_code == 422 and "退回必须说明原因" in r.text
    data = {"password": world.PASSWORD, "decision": "return", "remark": "示值读数与原始记录不符"}
    assert post_form(checker, url, f"{url}/check", data).status_code == 303
    assert 'data-status="returned"' in checker.get(url).text
    seen_by_checker = checker.get(f"/work/tasks/{task}").text  # back to the verifier: no form for the checker
    assert "本任务的结果等待检定员录入" in seen_by_checker and 'id="results-form"' not in seen_by_checker
    page = as_(lab.verifier).get(f"/work/tasks/{task}").text
    assert 'id="results-form"' in page and f'href="/work/records/{rid}"' in page
