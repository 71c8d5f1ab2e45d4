"""Issue 12 in the web UI: an execution's page links its parent (a Subflow child's trigger) and
its children (Subflow task runs' ``executionId`` output), escaped."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.bot.ui.conftest import UI

CHILD = """
id: gated
namespace: company.team
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
"""

PARENT = """
id: release
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["eu-west", "<b>us</b>"]
    concurrencyLimit: 0
    tasks:
      - id: call
        type: io.kestra.plugin.core.flow.Subflow
        namespace: company.team
        flowId: gated
"""


def test_parent_and_children_link_each_other(ui: UI) -> None:
    ui.login()
    ui.engine.deploy_flow(CHILD)
    ui.engine.deploy_flow(PARENT)
    parent = ui.start("company.team", "release")
    calls = [r for r in parent.taskRunList if r.taskId == "call"]
    assert len(calls) == 2
    children = [ui.engine.get_execution(r.outputs["executionId"]) for r in calls]

    page = ui.page(parent)
    listed = re.search(r'<dd id="child-executions">(.*?)</dd>', page, re.DOTALL)
    assert listed, "no children on the parent's page"
    for child in children:
        assert f'href="{ui.path(child)}"' in listed.group(1)
    assert "PAUSED" in listed.group(1)
    assert "eu-west" in listed.group(1)
    assert "&lt;b&gt;us&lt;/b&gt;" in listed.group(1) and "<b>us" not in page
    assert 'id="parent-execution"' not in page

    child_page = ui.page(children[0])
    link = re.search(r'<dd id="parent-execution">(.*?)</dd>', child_page, re.DOTALL)
    assert link, "no parent on the child's page"
    assert f'href="{ui.path(parent)}"' in link.group(1)
    assert "company.team.release" in link.group(1) and "task call" in link.group(1)
    assert 'id="child-executions"' not in child_page
    # the link works
    assert ui.client.get(ui.path(parent)).status_code == 200
