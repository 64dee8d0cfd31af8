"""Reminders reach owners through the outbox: written in the transaction of the verification that sets
the due date (none if it rolls back), delivered once when due by a real SMTP server, the logging SMS
gateway and in-app, retried with backoff when the server fails, never twice by two runners at once;
re-verification, revocation and scrapping re-plan them; an instrument whose period is unknown gets
none and is counted; the ledgered delivery log shows tampering."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from jiliang.certificates import service as certificates
from jiliang.ledger.auditor import audit
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import catalogue_admin
from jiliang.registry import service as registry
from jiliang.reminders import queries
from jiliang.reminders.delivery import Policy, deliver_due
from jiliang.reminders.jobs import Jobs
from jiliang.reminders.senders import LoggingSmsGateway, Senders, SmtpMailer, SmtpSettings
from jiliang.reminders.service import ChannelChoice, set_channels
from jiliang.reminders.tables import reminder_deliveries, reminder_outbox
from jiliang.supervision.counts import coverage_basis
from jiliang.verification import service as workflow
from tests.support import world
from tests.support.smtp import smtp_server

NOON = datetime(2030, 1, 1, 4, 0, tzinfo=UTC)  # the runner's clock: only backoff reads it


def _yearly_scales(platform: Platform) -> None:
    """The shipped catalogue leaves the scales' period unknown; a regulator's notice gives 12 months."""
    scale_type = world.type_id(platform, "nawi", "数字指示秤/电子计价秤")
    yearly = catalogue_admin.TypeCorrection(source="沪市监计量〔2026〕9 号", mode="periodic", period_months=12)
    catalogue_admin.correct_catalogue_type(platform.uow(), world.admin(platform), scale_type, yearly)


def _senders(port: int) -> Senders:
    return Senders(LoggingSmsGateway(), SmtpMailer(SmtpSettings("127.0.0.1", port, "reminders@jiliang.test")))


def _outbox(platform: Platform, *where):  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return c.execute(select(reminder_outbox).where(*where).order_by(reminder_outbox.c.id)).all()


def _verified_scale(platform: Platform, on: date | None = None):  # type: ignore[no-untyped-def]
    """An owner with SMS and e-mail chosen, and a scale verified today; returns (owner, lab, scale, due date)."""
    owner = world.make_owner(platform, "310104")
    set_channels(platform.uow(), owner, ChannelChoice("13912345678", "shop@example.com"))
    lab = world.make_lab(platform, "D310104", ["nawi"])
    sid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [sid])
    world.verify(platform, lab, task, on=on)
    [notice, *_] = _outbox(platform, reminder_outbox.c.instrument_id == sid)
    return owner, lab, sid, notice.due_on


def test_a_verification_writes_the_notices_in_its_own_transaction(platform) -> None:
    _yearly_scales(platform)
    owner = world.make_owner(platform, "310104")
    set_channels(platform.uow(), owner, ChannelChoice("139 1234 5678", "shop@example.com"))
    lab = world.make_lab(platform, "D310104", ["nawi"])
    sid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [sid])
    rid = world.record(platform, lab, task)
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)

    uow = platform.uow()
    with pytest.raises(RuntimeError), uow:  # the approval's transaction rolls back: no notice survives it
        workflow.approve_record(uow, world.confirm(platform, lab.approver), rid)
        assert uow.conn.execute(select(func.count()).select_from(reminder_outbox)).scalar_one() == 6
        raise RuntimeError("rolled back")
    assert _outbox(platform) == []

    workflow.approve_record(platform.uow(), world.confirm(platform, lab.approver), rid)
    with platform.engine.connect() as c:
        from jiliang.registry.tables import instruments

        valid_until = c.execute(select(instruments.c.valid_until).where(instruments.c.id == sid)).scalar_one()
    rows = _outbox(platform)
    assert {(r.kind, r.channel) for r in rows} == {
        (k, ch) for k in ("due_soon", "overdue") for ch in ("app", "sms", "email")
    }
    assert {r.due_on for r in rows} == {valid_until} and {r.state for r in rows} == {"pending"}
    assert {r.not_before for r in rows if r.kind == "due_soon"} == {valid_until - timedelta(days=30)}
    assert {r.not_before for r in rows if r.kind == "overdue"} == {valid_until + timedelta(days=1)}


def test_due_notices_are_delivered_once_by_smtp_sms_and_in_app_and_later_ones_wait(platform) -> None:
    _yearly_scales(platform)
    owner, _, sid, due = _verified_scale(platform)
    with smtp_server() as (inbox, port):
        senders = _senders(port)
        early = deliver_due(platform, senders, due - timedelta(days=31), NOON)
        assert (early.sent, inbox.messages, senders.sms.sent) == (0, [], [])  # type: ignore[attr-defined]

        soon = deliver_due(platform, senders, due - timedelta(days=30), NOON)
        assert soon.sent == 3
        again = deliver_due(platform, senders, due - timedelta(days=10), NOON)
        assert again.sent == 0  # delivered once: the overdue notice waits for its day
        [mail] = inbox.messages
        assert mail["To"] == "shop@example.com"
        assert "电子计价秤" in mail["Subject"] and "检定提醒" in mail["Subject"]
        body = mail.get_content()
        assert f"{due.year}年{due.month}月{due.day}日" in body and "届满" in body
        assert mail["Message-ID"].startswith("<reminder-")
        [(phone, text)] = senders.sms.sent  # type: ignore[attr-defined]
        assert phone == "13912345678" and "电子计价秤" in text and f"{due.month}月{due.day}日" in text

        late = deliver_due(platform, senders, due + timedelta(days=1), NOON)
        assert late.sent == 3 and len(inbox.messages) == 2
        assert "超期" in inbox.messages[1]["Subject"]
    assert {r.state for r in _outbox(platform)} == {"sent"}
    with platform.engine.connect() as c:
        app = queries.notices(c, owner, channel="app")
        assert [n.kind for n in app] == ["overdue", "due_soon"] and all(n.read_at is None for n in app)
        assert queries.unread_count(c, owner) == 2
        logged = c.execute(select(reminder_deliveries.c.outcome, reminder_deliveries.c.channel)).all()
    assert sorted(logged) == sorted(("sent", ch) for ch in ("app", "sms", "email") for _ in range(2))


def test_a_reverification_cancels_the_pending_notices_and_writes_the_new_due_date(platform) -> None:
    _yearly_scales(platform)
    owner, lab, sid, due = _verified_scale(platform, on=shanghai_today() - timedelta(days=20))
    [task] = workflow.apply(platform.uow(), owner, [sid])
    world.verify(platform, lab, task)
    rows = _outbox(platform)
    old = [r for r in rows if r.due_on == due]
    new = [r for r in rows if r.due_on != due]
    assert {r.state for r in old} == {"cancelled"} and len(old) == 6
    assert {r.state for r in new} == {"pending"} and len(new) == 6 and new[0].due_on > due
    with smtp_server() as (inbox, port):
        assert deliver_due(platform, _senders(port), due - timedelta(days=30), NOON).sent == 0
        assert inbox.messages == []


def test_revocation_and_scrapping_end_the_notices_and_a_revocation_tells_the_owner(platform) -> None:
    _yearly_scales(platform)
    owner, lab, sid, due = _verified_scale(platform)
    [number] = [c for c in _certificates(platform, sid)]
    certificates.revoke_certificate(platform.uow(), world.confirm(platform, lab.approver), number, "证书信息错误")
    rows = _outbox(platform)
    assert {r.state for r in rows if r.kind != "revoked"} == {"cancelled"}
    revoked = [r for r in rows if r.kind == "revoked"]
    assert {r.channel for r in revoked} == {"app", "sms", "email"} and {r.state for r in revoked} == {"pending"}
    registry.scrap_instrument(platform.uow(), owner, sid)
    assert {r.state for r in _outbox(platform)} == {"cancelled"}


def _certificates(platform: Platform, sid: int) -> list[str]:
    from jiliang.certificates.tables import certificates as table

    with platform.engine.connect() as c:
        return list(c.execute(select(table.c.number).where(table.c.instrument_id == sid)).scalars())


def test_an_instrument_whose_period_is_unknown_gets_no_reminder_and_is_counted(platform) -> None:
    owner = world.make_owner(platform, "310104")  # the shipped scales' period is unknown
    lab = world.make_lab(platform, "D310104", ["nawi"])
    sid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [sid])
    world.verify(platform, lab, task)
    assert _outbox(platform) == []
    with platform.engine.connect() as c:
        figures = {d.district_code: d for d in queries.district_reminders(c, world.admin(platform), shanghai_today())}
    assert figures["310104"].period_unknown >= 1 and figures["310104"].sent == 0


def test_a_failing_smtp_server_is_retried_with_backoff_then_the_notice_fails_visibly(platform) -> None:
    _yearly_scales(platform)
    owner, _, _, due = _verified_scale(platform)
    day, policy = due - timedelta(days=30), Policy(attempts=3, retry_seconds=60)
    with smtp_server(refuse=True) as (inbox, port):
        senders = _senders(port)
        first = deliver_due(platform, senders, day, NOON, policy)
        assert (first.sent, first.retried) == (2, 1)  # in-app and SMS went; e-mail waits a minute
        [mail] = _outbox(platform, reminder_outbox.c.channel == "email", reminder_outbox.c.kind == "due_soon")
        assert mail.state == "pending" and mail.attempts == 1 and "451" in mail.last_error
        assert mail.next_attempt_at == NOON + timedelta(seconds=60)
        assert deliver_due(platform, senders, day, NOON + timedelta(seconds=30), policy).retried == 0  # not yet
        assert deliver_due(platform, senders, day, NOON + timedelta(seconds=60), policy).retried == 1
        [mail] = _outbox(platform, reminder_outbox.c.id == mail.id)
        assert mail.next_attempt_at == NOON + timedelta(seconds=60 + 120)  # the wait doubled
        assert deliver_due(platform, senders, day, NOON + timedelta(seconds=180), policy).failed == 1
        assert deliver_due(platform, senders, day, NOON + timedelta(days=1), policy).failed == 0  # stays failed
        assert inbox.messages == []
    with platform.engine.connect() as c:
        [shown] = [n for n in queries.notices(c, owner) if n.channel == "email" and n.kind == "due_soon"]
    assert shown.state == "failed" and [d["outcome"] for d in shown.deliveries] == ["retry", "retry", "failed"]
    with platform.engine.connect() as c:
        figures = {d.district_code: d for d in queries.district_reminders(c, world.admin(platform), day)}
    assert figures["310104"].failed == 1 and figures["310104"].sent == 2


def test_two_runners_at_once_never_send_a_notice_twice(platform) -> None:
    _yearly_scales(platform)
    owner = world.make_owner(platform, "310104")
    set_channels(platform.uow(), owner, ChannelChoice("13912345678", "shop@example.com"))
    lab = world.make_lab(platform, "D310104", ["nawi"])
    scales = [world.scale(platform, owner) for _ in range(6)]
    tasks = workflow.apply(platform.uow(), owner, scales)
    for t in tasks:
        world.verify(platform, lab, t)
    [due] = {r.due_on for r in _outbox(platform)}
    with smtp_server() as (inbox, port):
        gateway = LoggingSmsGateway()
        senders = Senders(gateway, SmtpMailer(SmtpSettings("127.0.0.1", port, "reminders@jiliang.test")))
        start, tallies = threading.Barrier(2), []

        def run() -> None:
            start.wait()
            tallies.append(deliver_due(platform, senders, due - timedelta(days=30), NOON, Policy(batch=2)))

        runners = [threading.Thread(target=run) for _ in range(2)]
        for r in runners:
            r.start()
        for r in runners:
            r.join()
        ids = [m["Message-ID"] for m in inbox.messages]
    assert sum(t.sent for t in tallies) == 18
    assert len(ids) == len(set(ids)) == 6 and len(gateway.sent) == len(set(gateway.sent)) == 6
    with platform.engine.connect() as c:
        attempts = c.execute(select(reminder_deliveries.c.outbox_id)).scalars().all()
    assert len(attempts) == len(set(attempts)) == 18


def test_a_delivery_log_row_changed_or_deleted_in_the_database_is_named_by_the_audit(platform) -> None:
    _yearly_scales(platform)
    _, _, _, due = _verified_scale(platform)
    with smtp_server() as (_, port):
        deliver_due(platform, _senders(port), due - timedelta(days=30), NOON)
    assert [f for f in audit(platform).findings if f.table == "reminder_deliveries"] == []
    with platform.engine.begin() as c:
        first, second = c.execute(
            select(reminder_deliveries.c.id).order_by(reminder_deliveries.c.id).limit(2)
        ).scalars()
        c.execute(update(reminder_deliveries).where(reminder_deliveries.c.id == first).values(address="10000000000"))
        c.execute(delete(reminder_deliveries).where(reminder_deliveries.c.id == second))
    found = {(f.id, f.what) for f in audit(platform).findings if f.table == "reminder_deliveries"}
    assert found == {(str(first), "changed"), (str(second), "deleted")}


def test_a_jobs_round_moves_the_coverage_basis_to_its_day_and_delivers_what_is_due(platform) -> None:
    _yearly_scales(platform)
    _, _, _, due = _verified_scale(platform)
    day = due - timedelta(days=30)
    with smtp_server() as (inbox, port):
        jobs = Jobs(platform, _senders(port), Policy(), today=lambda: day)
        assert jobs.round().sent == 3 and jobs.round().sent == 0
        assert len(inbox.messages) == 1
    with platform.engine.connect() as c:
        assert c.execute(select(coverage_basis.c.counted_on)).scalar_one() == day
