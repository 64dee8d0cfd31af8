"""Inputs that used to reach the database unchecked now get clear 4xx answers."""

from __future__ import annotations

import pytest

from jiliang.errors import InvalidInput, NotFound
from jiliang.platform import shanghai_today
from jiliang.registry import service as registry
from jiliang.verification import service as workflow
from tests.support import world


def test_unknown_institution_item_or_regulator_is_invalid_input_not_a_crash(platform):
    adm = world.admin(platform)
    with pytest.raises(InvalidInput):
        registry.create_user(platform.uow(), adm, "ghost1", "password-1", "x", ["verifier"], institution_id=99999)
    with pytest.raises(InvalidInput):
        registry.create_user(platform.uow(), adm, "ghost2", "password-1", "x", ["regulator"], regulator_id=99999)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    with pytest.raises(InvalidInput, match="not_an_item"):
        registry.add_standard(
            platform.uow(), lab.manager, lab.institution_id, "s", "c", shanghai_today(), ["not_an_item"]
        )
    with pytest.raises(InvalidInput):
        registry.grant_qualification(
            platform.uow(), adm, lab.verifier.user_id, "not_an_item", "q", shanghai_today(), shanghai_today()
        )


# long texts and short ones (15 characters or fewer are checked for their magnitude alone)
@pytest.mark.parametrize(
    "value",
    ["1E+999999999", "0.0000000000000000000000000003", "1234567890123456789", "0.0000000000001", "99999999999999"],
)
def test_readings_beyond_the_recordable_range_are_refused(platform, value):
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    [task] = workflow.apply(platform.uow(), owner, [world.fuel_dispenser(platform, owner)])
    with pytest.raises(InvalidInput, match="recordable range"):
        world.record(platform, lab, task, [workflow.ReadingInput("volume", value, "20.00")])


def test_district_lab_manager_approves_only_owners_of_its_own_district(platform):
    other = world.make_owner(platform, "310101", approve=False)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    with pytest.raises(NotFound):  # not there for it: never a refusal that confirms the owner exists
        registry.decide_owner_registration(platform.uow(), lab.manager, other.owner_id, True)
    mine = world.make_owner(platform, "310104", approve=False)
    registry.decide_owner_registration(platform.uow(), lab.manager, mine.owner_id, True)
    city = world.make_lab(platform, "SIMT", ["nawi"])  # the city institute serves every district
    registry.decide_owner_registration(platform.uow(), city.manager, other.owner_id, True)
