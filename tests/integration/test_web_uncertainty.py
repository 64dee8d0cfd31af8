"""The results form with an uncertainty budget, over real HTTP on the real database: as readings are
typed the verifier sees each point's U with k and the decision with its rule (JJF 1094 for EV chargers),
and a calibration's U is computed from the budget with the bath entries typed beside the environment.
Expected U values are worked out by hand from the procedures' models (JJF 1059.1) in
tests/support/uncertainty_world.py, never read from the code's own output."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from jiliang.platform import shanghai_today
from jiliang.registry.tables import standard_calibrations
from jiliang.verification.tables import measurement_points
from tests.support.uncertainty_world import ev_charger_task, ev_u95, thermometer_task, thermometer_u
from tests.support.work_pages import clients, form_token, overall, post_form

TODAY = shanghai_today()


@pytest.fixture
def as_(platform):  # type: ignore[no-untyped-def]
    yield from clients(platform)


def _span(html: str, name: str, n: int = 0) -> str:
    found = re.search(rf'<span id="{name}-{n}"[^>]*>', html)
    assert found, f"no {name} output for row {n}"
    return found.group(0)


def _attr(tag: str, name: str) -> str | None:
    found = re.search(rf'{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def _evaluate(client, task: int, rows, standard_ids=(), stage: str = "subsequent", **env: str) -> str:  # type: ignore[no-untyped-def]
    data = {
        "performed_on": TODAY.isoformat(),
        "stage": stage,
        "standard_ids": [str(s) for s in standard_ids],
        "point_id": [r[0] for r in rows],
        "reference": [r[1] for r in rows],
        "indication": [r[2] for r in rows],
        **{f"env_{k}": v for k, v in env.items()},
    }
    token = form_token(client, f"/work/tasks/{task}")
    r = client.post(f"/work/tasks/{task}/evaluate", data=data, headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert r.status_code == 200, r.text
    return r.text


def test_the_verifier_sees_u_with_k_and_the_jjf1094_decision_as_readings_are_typed(platform, as_):
    t = ev_charger_task(platform, standard_U="0.2")
    client = as_(t.lab.verifier)
    page = client.get(f"/work/tasks/{t.task_id}").text
    assert 'id="decision-rule"' in page and "JJF 1094" in page
    html = _evaluate(client, t.task_id, [("energy", "10.000", "10.08")], [t.lab.standard_id])
    u = _span(html, "u")
    expected = ev_u95("10.000", "10.08", "0.01", "0.2", "2")  # 0.21 %
    assert Decimal(_attr(u, "data-u") or "nan") == expected
    assert _attr(u, "data-k") == "1.96"
    verdict = html[html.index('id="verdict-0"') :]
    assert 'data-verdict="pass"' in verdict[:200]
    # U95 = 0.21 % ≤ MPEV/3 = 0.33 %: JJF 1094 lets the error alone decide
    assert 'data-rule="jjf1094"' in verdict and 'data-zone="accept"' in verdict
    assert f"U/MPEV = {expected / Decimal('1.0'):g}" in verdict


def test_an_error_between_mpev_minus_u_and_mpev_plus_u_is_undetermined_and_no_verdict_is_given(platform, as_):
    t = ev_charger_task(platform, standard_U="1.0")  # a poor standard: U95 ≈ 0.99 % > MPEV/3
    client = as_(t.lab.verifier)
    html = _evaluate(client, t.task_id, [("energy", "10.000", "10.08")], [t.lab.standard_id])
    expected = ev_u95("10.000", "10.08", "0.01", "1.0", "2")
    assert Decimal(_attr(_span(html, "u"), "data-u") or "nan") == expected
    # |E| = 0.8 % lies between MPEV − U95 = 0.01 % and MPEV + U95 = 1.99 %
    assert 'data-zone="undetermined"' in html
    assert _attr(_span(html, "verdict"), "data-verdict") == "unknown"
    assert overall(html)[0] == "unknown"
    # an error beyond MPEV + U95 is rejected outright
    html = _evaluate(client, t.task_id, [("energy", "10.000", "10.25")], [t.lab.standard_id])
    assert _attr(_span(html, "verdict"), "data-verdict") == "fail" and 'data-zone="reject"' in html


def test_without_the_standard_ticked_no_u_is_shown_and_the_error_alone_decides(platform, as_):
    t = ev_charger_task(platform, standard_U="0.2")
    html = _evaluate(as_(t.lab.verifier), t.task_id, [("energy", "10.000", "10.08")])
    u = _span(html, "u")
    assert _attr(u, "data-u") is None
    assert "计量标准校准证书给出的扩展不确定度 U" in html  # the row names what the budget is missing
    assert _attr(_span(html, "verdict"), "data-verdict") == "pass"
    assert "JJF 1094 §5.3.1" in html


def test_the_signed_record_keeps_u_k_and_the_decision_and_shows_them(platform, as_):
    t = ev_charger_task(platform, standard_U="0.2")
    client = as_(t.lab.verifier)
    data = {
        "performed_on": TODAY.isoformat(),
        "stage": "subsequent",
        "standard_ids": [str(t.lab.standard_id)],
        "point_id": ["energy"],
        "reference": ["10.000"],
        "indication": ["10.08"],
        "password": "correct-horse-9",
    }
    r = post_form(client, f"/work/tasks/{t.task_id}", f"/work/tasks/{t.task_id}/results", data)
    assert r.status_code == 303, r.text
    with platform.engine.connect() as c:
        point = c.execute(select(measurement_points)).mappings().all()[-1]
    expected = ev_u95("10.000", "10.08", "0.01", "0.2", "2")
    assert Decimal(point["expanded_uncertainty"]) == expected and point["coverage_factor"] == "1.96"
    assert point["decision"]["rule"] == "jjf1094" and point["decision"]["zone"] == "accept"
    record = client.get(r.headers["location"]).text
    assert str(expected) in record and 'data-rule="jjf1094"' in record


def test_a_calibration_computes_u_from_the_budget_with_the_bath_entries_typed_beside_the_environment(platform, as_):
    t = thermometer_task(platform, standard_U="0.02")
    client = as_(t.lab.verifier)
    page = client.get(f"/work/tasks/{t.task_id}").text
    assert 'data-budget-parameter="bath_uniformity"' in page and 'data-budget-parameter="bath_stability"' in page
    assert 'name="u"' not in page  # U is computed, not typed
    rows = [("t1", "50.012", "50.03")]
    html = _evaluate(client, t.task_id, rows, [t.lab.standard_id], stage="", bath_uniformity="0.01")
    assert "恒温槽温度波动性（半宽）" in html and _attr(_span(html, "u"), "data-u") is None
    html = _evaluate(
        client, t.task_id, rows, [t.lab.standard_id], stage="", bath_uniformity="0.01", bath_stability="0.005"
    )
    span = _span(html, "u")
    assert Decimal(_attr(span, "data-u") or "nan") == thermometer_u("0.01", "0.02", "2", "0.01", "0.005")  # 0.025 °C
    assert _attr(span, "data-k") == "2.00"


def test_the_lab_manager_records_a_standards_certificate_uncertainty_and_half_given_values_are_refused(platform, as_):
    t = ev_charger_task(platform, standard_U=None)
    manager = as_(t.lab.manager)
    base = {
        "standard_id": str(t.lab.standard_id),
        "calibrated_by": "中国计量科学研究院",
        "certificate_no": "DLjl2026-0815",
        "calibrated_on": TODAY.isoformat(),
        "due": TODAY.replace(year=TODAY.year + 1).isoformat(),
        "in_tolerance": "yes",
    }
    with platform.engine.connect() as c:
        before = c.execute(select(func.count()).select_from(standard_calibrations)).scalar_one()
    half = post_form(manager, "/lab/standards", "/lab/standards/calibrations", base | {"expanded_uncertainty": "0.1"})
    assert half.status_code == 422 and "k" in half.text
    with platform.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(standard_calibrations)).scalar_one() == before
    full = base | {"expanded_uncertainty": "0.1", "coverage_factor": "2", "uncertainty_unit": "%"}
    assert post_form(manager, "/lab/standards", "/lab/standards/calibrations", full).status_code == 303
    page = manager.get("/lab/standards").text
    assert 'data-u="0.1"' in page and "U = 0.1 % (k = 2)" in page
    # the verifier's live evaluation now uses it: U from the standard's 0.1 % (k = 2)
    html = _evaluate(as_(t.lab.verifier), t.task_id, [("energy", "10.000", "10.08")], [t.lab.standard_id])
    assert Decimal(_attr(_span(html, "u"), "data-u") or "nan") == ev_u95("10.000", "10.08", "0.01", "0.1", "2")
