"""Issue 12 in Slack: a Subflow child's approval message names the parent it serves, a pause
inside a ForEach iteration names its value, and an option whose modal would need a FILE input
links to the web form instead of opening a modal."""

from __future__ import annotations

from slack_harness import SlackHarness, assert_valid_message
from test_truths import posted_for, start

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
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: gated
"""

LOOP = """
id: waves
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["eu-west", "<us>&*east*"]
    tasks:
      - id: gate
        type: io.kestra.plugin.core.flow.Pause
"""


def context(blocks: list[dict]) -> str:
    block = next(b for b in blocks if b.get("block_id") == "pausebot:context")
    return str(block["elements"][0]["text"])


def test_a_child_approval_says_which_parent_it_serves(slack: SlackHarness) -> None:
    slack.engine.deploy_flow(CHILD)
    parent = start(slack.engine, PARENT)
    (run,) = [r for r in parent.taskRunList if r.taskId == "call"]
    child = slack.engine.get_execution(run.outputs["executionId"])
    blocks = posted_for(slack, child)[0]["blocks"]
    assert_valid_message(blocks)
    line = context(blocks)
    url = f"{slack.engine.settings.public_url.rstrip('/')}/ui/executions/company.team/release/{parent.id}"
    assert f"for `release` · execution <{url}|{parent.id}>" in line
    assert child.id in line


def test_a_pause_in_a_for_each_says_which_iteration(slack: SlackHarness) -> None:
    execution = start(slack.engine, LOOP)
    messages = posted_for(slack, execution)
    lines = [context(m["blocks"]) for m in messages]
    assert any("for value *eu-west*" in line for line in lines)
    # resume the first iteration: the second one pauses and says its (escaped) value
    slack.engine.resume_execution(execution.id, {}, via="test")
    slack.engine.run_until_blocked(execution.id)
    messages = posted_for(slack, execution, 2)
    lines = [context(m["blocks"]) for m in messages]
    assert any("for value *&lt;us&gt;&amp;*east**" in line for line in lines)
    assert not any("<us>" in line for line in lines)
    assert "for `" not in "".join(lines)  # no parent: not a child
