"""The standards on a task's results form over real HTTP: the usable ones to tick, the others folded
into one line that counts them by reason and opens onto each — never one red line per standard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from jiliang.platform import shanghai_today
from jiliang.registry import service as registry
from jiliang.verification import service as workflow
from tests.support import world
from tests.support.work_pages import clients

TODAY = shanghai_today()


@pytest.fixture
def as_(platform):  # type: ignore[no-untyped-def]
    yield from clients(platform)


def test_unusable_standards_fold_into_one_line_counted_by_reason(platform, as_) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    add = registry.add_standard
    others = [add(platform.uow(), lab.manager, lab.institution_id, f"加油机装置{n}", f"[2024]沪量标9{n}号",
                  TODAY + timedelta(days=300), ["fuel_dispenser"]) for n in range(2)]  # fmt: skip
    lapsed = add(platform.uow(), lab.manager, lab.institution_id, "过期砝码", "[2024]沪量标99号",
                 TODAY + timedelta(days=300), ["nawi"])  # fmt: skip
    for sid, due in ((others[0], 200), (others[1], 200), (lapsed, -35)):  # the last one's is past its due date
        registry.record_standard_calibration(
            platform.uow(), lab.manager, sid, "上海市计量测试技术研究院", f"CAL-{sid}",
            TODAY - timedelta(days=300), TODAY + timedelta(days=due), True,
        )  # fmt: skip
    owner = world.make_owner(platform)
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    page = as_(lab.verifier).get(f"/work/tasks/{task}").text

    fieldset = page.split('id="standards"', 1)[1].split("</fieldset>", 1)[0]
    boxes = re.findall(r'<input type="checkbox" name="standard_ids" value="(\d+)"([^>]*)>', fieldset)
    assert boxes == [(str(lab.standard_id), " checked")]  # the only usable one, ticked; no greyed boxes
    assert "field-error" not in fieldset  # no red line per standard
    summary = fieldset.split("<summary>", 1)[1].split("</summary>", 1)[0]
    assert "不可使用的计量标准：3 个" in summary
    assert "未登记用于本器具所属的强检项目 (2)" in summary and "该日期没有有效的校准 (1)" in summary
    behind = fieldset.split("</summary>", 1)[1]
    for sid, rule in [(others[0], "standard_not_for_item"), (others[1], "standard_not_for_item")]:
        assert f'data-standard="{sid}" data-rule="{rule}"' in behind
    assert f'data-standard="{lapsed}" data-rule="standard_calibration_expired"' in behind and "过期砝码" in behind
