"""Issue 12 in Slack: a Subflow child's approval message names the parent it serves, a pause
inside a ForEach iteration names its value, and an option whose modal would need a FILE input
links to the web form instead of opening a modal."""

from __future__ import annotations

from slack_harness import SlackHarness, assert_valid_message, button
from test_truths import posted_for, start

from bot.slack.mrkdwn import value

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
    # escaped, and its own * shown as typed (mrkdwn.value), never pairing with the bold
    assert any(f"for value *{value('<us>&*east*')}*" in line for line in lines)
    assert not any("<us>" in line for line in lines)
    assert "for `" not in "".join(lines)  # no parent: not a child


SIGNED = """
id: signed
namespace: company.team
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    description: Sign the change request?
    onResume:
      - id: approved
        type: BOOLEAN
      - id: signature
        type: FILE
        description: The signed document
        required: false
      - id: reason
        type: STRING
        required: false
"""


def link_buttons(blocks: list[dict]) -> dict[str, dict]:
    return {
        e["text"]["text"]: e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    }


def test_a_file_input_links_to_the_web_form_instead_of_a_modal(slack: SlackHarness) -> None:
    execution = start(slack.engine, SIGNED)
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert_valid_message(blocks)
    buttons = link_buttons(blocks)
    # approving asks the FILE: no modal button for it, a link to the execution's page instead
    assert "Approve…" not in buttons and "Approve with changes…" not in buttons
    assert "Approve as is" in buttons  # the file is optional: approving without one is one tap
    attach = buttons["Attach the file in pausebot"]
    assert attach["url"] == slack.engine.url_of(execution)
    assert "value" not in attach
    assert "Reject…" in buttons  # the other option asks no file: its modal stays
    # the link's block_actions is acked and opens nothing
    response = slack.click(attach["action_id"], "")
    assert response.status_code == 200
    slack.click(*button(blocks, "Reject…"))
    view = slack.opened_view()  # the first (and only) modal is the rejection's
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["reason"]
    assert len(slack.fake.calls_to("views.open")) == 1


def test_a_required_file_leaves_only_the_link(slack: SlackHarness) -> None:
    required = SIGNED.replace("        required: false\n", "", 1)
    execution = start(slack.engine, required)
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert_valid_message(blocks)
    assert list(link_buttons(blocks)) == ["Attach the file in pausebot", "Open in pausebot"]
