"""A failed nested use case leaves nothing behind, even when its caller catches the error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jiliang.audit import audit_events
from jiliang.registry import service as registry
from jiliang.registry.tables import users
from tests.support import world


def test_a_caught_failure_inside_a_batch_undoes_only_its_own_writes(platform):
    admin, lab = world.admin(platform), world.institution_id(platform, "D310104")
    uow = platform.uow()
    with uow:
        registry.create_user(uow, admin, "kept-user", "password-1", "保留", ["verifier"], lab)
        with pytest.raises(RuntimeError):
            with uow:
                registry.create_user(uow, admin, "undone-user", "password-1", "撤销", ["verifier"], lab)
                raise RuntimeError("the nested step fails after writing")
        uow.commit()
    with platform.engine.connect() as c:
        names = set(c.execute(select(users.c.username)).scalars())
        logged = [
            e.after["username"] for e in c.execute(select(audit_events).where(audit_events.c.action == "user.created"))
        ]
    assert "kept-user" in names and "undone-user" not in names
    assert "kept-user" in logged and "undone-user" not in logged


def test_a_large_batch_pauses_the_collector_until_its_transaction_ends_even_when_it_fails(platform):
    import gc

    from jiliang import db

    assert gc.isenabled()
    uow = platform.uow()
    with pytest.raises(RuntimeError):
        with uow:
            uow.hold_collector()
            assert not gc.isenabled()
            db._collector.acquire()  # another batch running at the same time (another thread)
            raise RuntimeError("the batch fails")
    assert not gc.isenabled()  # the other batch still holds it
    db._collector.release()
    assert gc.isenabled()
