"""The institution's certificate list: counted and filtered by status today in SQL, searched by
number, instrument or serial number, a page at a time by key (newest first), and only the institution's
own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from jiliang.certificates.listing import count_certificates, find_certificates
from jiliang.certificates.service import revoke_certificate
from jiliang.listing import Keyset
from jiliang.platform import shanghai_today
from jiliang.registry.tables import instruments
from jiliang.verification import service as workflow
from tests.support import world


def test_list_counts_filters_searches_and_pages(platform) -> None:  # type: ignore[no-untyped-def]
    lab, first = world.issued_certificate(platform)
    owner = world.make_owner(platform)
    scales = [world.scale(platform, owner) for _ in range(3)]
    tasks = workflow.apply(platform.uow(), owner, scales)
    passed = world.verify(platform, lab, tasks[0])
    failed = world.verify(platform, lab, tasks[1], world.SCALE_FAIL)  # a notice of non-conformity
    old = world.verify(platform, lab, tasks[2], on=shanghai_today() - timedelta(days=3))
    revoke_certificate(platform.uow(), world.confirm(platform, lab.approver), passed, "录入错误")
    other_lab, foreign = world.issued_certificate(platform, "310101", "D310101")
    today = shanghai_today()
    with platform.engine.connect() as conn:
        # none of the scales' certificates has a valid-until (the scale period is unknown), so none expires
        assert count_certificates(conn, lab.approver, today) == {"valid": 3, "revoked": 1}

        def numbers(status: str | None = None, search: str = "") -> list[str]:
            return [r.number for r in find_certificates(conn, lab.approver, today, Keyset(), status, search).rows]

        newest_first = numbers()
        assert newest_first == [old, failed, passed, first] and foreign not in newest_first
        assert numbers(status="revoked") == [passed]
        verdicts = {r.number: (r.kind, r.verdict) for r in find_certificates(conn, lab.approver, today, Keyset()).rows}
        assert verdicts[failed] == ("nonconformity", "fail") and verdicts[old] == ("verification", "pass")
        serial = conn.execute(select(instruments.c.serial_no).where(instruments.c.id == scales[1])).scalar_one()
        assert numbers(search=serial) == [failed]
        assert numbers(search=first[-6:]) == [first]
        assert numbers(search="电子计价秤") == newest_first  # the instrument's name
        assert numbers(search=foreign) == []
        # newest first, three a page: the next page is the older ones, its previous the newer ones again
        page = find_certificates(conn, lab.approver, today, Keyset(size=3))
        assert [r.number for r in page.rows] == newest_first[:3] and page.previous is None
        following = find_certificates(conn, lab.approver, today, Keyset(after=page.following, size=3))
        assert [r.number for r in following.rows] == [first] and following.following is None
        back = find_certificates(conn, lab.approver, today, Keyset(before=following.previous, size=3))
        assert [r.number for r in back.rows] == newest_first[:3] and back.at_start
        last = find_certificates(conn, lab.approver, today, Keyset(before=page.last, size=3))
        assert [r.number for r in last.rows] == newest_first[1:] and last.following is None
        assert count_certificates(conn, other_lab.approver, today) == {"valid": 1}


def test_a_certificate_past_its_valid_until_counts_as_expired(platform) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    owner = world.make_owner(platform)
    [task] = workflow.apply(platform.uow(), owner, [world.fuel_dispenser(platform, owner)])
    number = world.verify(platform, lab, task, [workflow.ReadingInput("volume", "20.00", "20.02")])
    today = shanghai_today()
    with platform.engine.connect() as conn:
        [row] = find_certificates(conn, lab.approver, today, Keyset()).rows
        assert row.number == number and row.valid_until is not None and row.current_status == "valid"
        assert count_certificates(conn, lab.approver, row.valid_until) == {"valid": 1}  # its last valid day
        after = row.valid_until + timedelta(days=1)
        assert count_certificates(conn, lab.approver, after) == {"expired": 1}
        expired = find_certificates(conn, lab.approver, after, Keyset(), status="expired").rows
        assert [r.number for r in expired] == [number]
