"""The reminder pages and API: an owner chooses its channels on /owner/reminders (a bad number refused
with the form kept, in Chinese) or over PUT /api/reminders/channels, sees its in-app notices unread
until marked read and every notice with its delivery log; a district regulator sees its districts'
notices sent and failed and the instruments whose period is unknown; neither sees the other's page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from jiliang.reminders.delivery import deliver_due
from jiliang.reminders.senders import LoggingSmsGateway, Senders, SmtpMailer, SmtpSettings
from jiliang.verification import service as workflow
from tests.conftest import login
from tests.integration.test_reminders import _yearly_scales
from tests.support import world
from tests.support.owner_pages import csrf, make_regulator, owner_username, page_login

NOON = datetime(2030, 1, 1, 4, 0, tzinfo=UTC)


def test_an_owner_chooses_channels_and_reads_its_notices_on_its_page(platform, client) -> None:
    _yearly_scales(platform)
    owner = world.make_owner(platform, "310104")
    auth = login(client, owner_username(platform, owner.owner_id), world.PASSWORD)
    page_login(client, owner_username(platform, owner.owner_id))
    token = csrf(client, "/owner/reminders")
    bad = client.post("/owner/reminders/channels", data={"sms_phone": "12345", "email": "", "csrf_token": token})
    assert bad.status_code == 422 and "11 位" in bad.text and 'value="12345"' in bad.text
    ok = client.post(
        "/owner/reminders/channels",
        data={"sms_phone": "13912345678", "email": "shop@example.com", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = client.get("/owner/reminders").text
    assert 'value="13912345678"' in page and "暂无通知" in page and "到期提醒" in page

    lab = world.make_lab(platform, "D310104", ["nawi"])
    sid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [sid])
    world.verify(platform, lab, task)
    page = client.get("/owner/reminders").text
    assert page.count('data-state="pending"') == 6 and "30 天内到期" in page

    due = date.fromisoformat(client.get("/api/reminders", headers=auth).json()[0]["due_on"])
    senders = Senders(LoggingSmsGateway(), SmtpMailer(SmtpSettings(None)))  # no SMTP server: e-mail retries
    deliver_due(platform, senders, due - timedelta(days=30), NOON)
    page = client.get("/owner/reminders").text
    assert 'data-read="no"' in page and "1 条未读" in page and "稍后重试" in page and "未配置邮件服务器" in page
    client.post("/owner/reminders/read", data={"csrf_token": csrf(client, "/owner/reminders")})
    page = client.get("/owner/reminders").text
    assert 'data-read="yes"' in page and "条未读" not in page


def test_the_api_sets_channels_and_lists_notices_for_the_owner_only(platform, client) -> None:
    owner = world.make_owner(platform, "310104")
    auth = login(client, owner_username(platform, owner.owner_id), world.PASSWORD)
    r = client.put(
        "/api/reminders/channels", json={"sms_phone": "13812345678", "email": "not-an-address"}, headers=auth
    )
    assert r.status_code == 422 and "email" in r.text
    r = client.put("/api/reminders/channels", json={"sms_phone": "13812345678"}, headers=auth)
    assert r.status_code == 200 and r.json() == {"sms_phone": "13812345678", "email": None, "app": True}
    assert client.get("/api/reminders", headers=auth).json() == []
    regulator = make_regulator(platform, "310104")
    reg_auth = login(client, regulator.username, world.PASSWORD)
    assert client.get("/api/reminders", headers=reg_auth).status_code == 403
    assert client.get("/api/supervision/reminders", headers=auth).status_code == 403


def test_a_regulator_sees_its_districts_reminders_and_period_unknown_instruments(platform, client) -> None:
    owner = world.make_owner(platform, "310104")  # the shipped scales' period is unknown
    world.scale(platform, owner)
    regulator = make_regulator(platform, "310104")
    page_login(client, regulator.username)
    page = client.get("/supervision/reminders")
    assert page.status_code == 200 and "周期未知" in page.text
    assert 'data-district="310104"' in page.text and 'data-unknown="1"' in page.text
    auth = login(client, regulator.username, world.PASSWORD)
    [row] = client.get("/api/supervision/reminders", headers=auth).json()
    assert row == {"district_code": "310104", "sent": 0, "failed": 0, "waiting": 0, "period_unknown": 1}
    assert client.get("/owner/reminders").status_code == 403
