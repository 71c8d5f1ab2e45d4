"""What an approver reads (issue 9): every message and modal rendered through the fake Slack Web
API, for each example flow, a flow with every input type, a 2,500-character description full
of odd characters, Approval tasks and every outcome, asserting the truths:

- the header is the question, the flow/execution ids are in the small context line;
- the decision input is set by the button, never a field of a modal;
- a modal only asks what the chosen option needs;
- the outcome names the option chosen ("Changes requested"), never "Approved" otherwise;
- a timeout, a kill or a bulk resume say "Nobody decided; …" and show no value as chosen;
- the key inputs stay after the decision; comments and reasons come first.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_harness import (
    SlackHarness,
    assert_valid_message,
    assert_valid_view,
    button,
    button_labels,
    mrkdwn_of,
    text_of,
    wait_until,
)
from support import EXAMPLES

from bot.slack.summary import show_value
from engine.clock import ManualClock
from engine.engine import Engine
from engine.inputs import InputDefinition
from engine.model import Execution
from engine.states import State

FLOWS = Path(__file__).parent / "flows"
Z = "\u200b"  # what bot.slack.mrkdwn.value() puts on both sides of * _ ~ and backticks
API = {"id": "ci", "name": "CI bot"}


def start(engine: Engine, source: str, **kwargs: Any) -> Execution:
    deployed = engine.deploy_flow(source)
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, via="api", **kwargs
    )
    return engine.run_until_blocked(execution.id)


def posted_for(slack: SlackHarness, execution: Execution, count: int = 1) -> list[Any]:
    calls = slack.fake.wait_for(
        "chat.postMessage", count, where=lambda c: execution.id in json.dumps(c.params)
    )
    return [c.params for c in calls]


def message_now(slack: SlackHarness, execution: Execution, needle: str) -> list[dict[str, Any]]:
    """The blocks of this execution's message once they contain ``needle``."""
    found: list[list[dict[str, Any]]] = []

    def ready() -> bool:
        for message in list(slack.fake.messages.values()):
            if execution.id in json.dumps(message.blocks) and needle in text_of(message.blocks):
                found.append(message.blocks)
                return True
        return False

    wait_until(ready)
    assert_valid_message(found[0])
    return found[0]


def modal_inputs(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


def header(blocks: list[dict[str, Any]]) -> str:
    assert blocks[0]["type"] == "header"
    return str(blocks[0]["text"]["text"])


def assert_nobody_decided(blocks: list[dict[str, Any]], *labels: str) -> None:
    shown = text_of(blocks)
    assert "*Nobody decided*" in shown
    for word in ("Approved", "Rejected", "Changes requested", "Denied", "Given with"):
        assert word not in shown
    for label in labels:  # the questions of the form: no answer is shown as given
        assert label not in shown
    assert button_labels(blocks) == []


DEPLOY = (EXAMPLES / "deploy_approval.yml").read_text()
EXPENSE = (EXAMPLES / "expense_approval.yml").read_text()


# -- every example, every modal ---------------------------------------------------------------------


EXAMPLE_QUESTIONS = {
    "deploy_approval.yml": ["Deploy checkout-api 1.4.2 to production?"],
    "expense_approval.yml": ["Ada Lovelace claims 420.0 EUR for Conference ticket"],
    "model_release.yml": [
        "Quality: churn-predictor scored 0.91",
        "Fairness review of churn-predictor",
    ],
    "pause_resume.yml": ["pause_resume is waiting for a decision"],
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_QUESTIONS))
def test_every_example_leads_with_its_question_and_opens_valid_modals(
    slack: SlackHarness, name: str
) -> None:
    execution = start(
        slack.engine, (EXAMPLES / name).read_text(), by={"id": "ada@example.com", "name": "Ada"}
    )
    messages = posted_for(slack, execution, len(EXAMPLE_QUESTIONS[name]))
    assert sorted(header(m["blocks"]) for m in messages) == sorted(EXAMPLE_QUESTIONS[name])
    opened = 0
    for message in messages:
        blocks = message["blocks"]
        assert_valid_message(blocks)
        context = blocks[-1]
        assert context["type"] == "context" and execution.id in context["elements"][0]["text"]
        assert "Approval needed" not in text_of(blocks)
        assert "<@U1> via the API" in text_of(blocks)  # the requester, mapped by e-mail
        for label in button_labels(blocks):
            if not label.endswith("…"):
                continue
            action, value = button(blocks, label)
            slack.click(action, value)
            opened += 1
            view = slack.opened_view(opened)
            assert_valid_view(view)
            assert "approved" not in modal_inputs(view) and "decision" not in modal_inputs(view)


def test_the_vacation_example_asks_its_reason_on_both_sides(slack: SlackHarness) -> None:
    """examples/vacation_approval_process.yml posts to a webhook first (not reachable here), so
    its Pause is rendered from the same onResume inputs."""
    flow = yaml.safe_load((EXAMPLES / "vacation_approval_process.yml").read_text())
    flow["tasks"] = [t for t in flow["tasks"] if t["id"] == "waitForApproval"]
    execution = start(slack.engine, yaml.safe_dump(flow, sort_keys=False))
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert button_labels(blocks) == [
        "Approve as is",
        "Approve with changes…",
        "Reject…",
        "Open in pausebot",
    ]
    shown = text_of(blocks)
    # a label is a value; an "_" inside a word cannot pair in Slack and is left alone
    assert "*request.start_date*\n<!date^" in shown  # a DATE, in the reader's time zone
    assert "*Approve as is* keeps Reason for approval or rejection?: *Approved*" in shown
    slack.click(*button(blocks, "Reject…"))
    assert modal_inputs(slack.opened_view()) == ["reason"]


# -- a long, odd description ------------------------------------------------------------------------


def test_a_long_description_is_cut_with_a_full_request_button_and_shown_whole_below(
    slack: SlackHarness,
) -> None:
    execution = start(slack.engine, (FLOWS / "long_request.yml").read_text())
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert header(blocks) == "Migrate the <billing> & ledger databases?"  # plain text
    description = next(b for b in blocks if b.get("block_id") == "pausebot:description")
    text = description["text"]["text"]
    assert len(text) <= 300 and text.endswith("…")
    assert "&lt;this&gt; &amp; *that*" in text  # the author's own mrkdwn formats, on purpose
    assert "<this>" not in mrkdwn_of(blocks) and "<billing>" not in mrkdwn_of(blocks)
    # The buttons come right after the short facts: nothing long pushes them off a phone.
    actions = next(i for i, b in enumerate(blocks) if b["type"] == "actions")
    assert actions <= 6 and len(json.dumps(blocks[:actions])) < 3000
    # Full request: the whole text in a modal.
    slack.click(description["accessory"]["action_id"], description["accessory"]["value"])
    full = slack.opened_view()
    assert_valid_view(full)
    whole = "".join(
        b["text"]["text"]
        for b in full["blocks"]
        if b.get("block_id", "").startswith("pausebot:full:")
    )
    assert whole.count("Check &lt;this&gt;") == whole.count("Check") > 40
    # The modal: its fields first, the full request collapsed below them.
    slack.click(*button(blocks, "Approve with changes…"))
    view = slack.opened_view(2)
    assert_valid_view(view)
    ids = [b.get("block_id") for b in view["blocks"]]
    assert ids.index("window") < ids.index("pausebot:full-title") < ids.index("pausebot:full:0")
    assert "approved" not in ids


def test_a_label_asks_for_a_confirmation_of_the_one_tap_approval(slack: SlackHarness) -> None:
    execution = start(slack.engine, (FLOWS / "long_request.yml").read_text())
    blocks = posted_for(slack, execution)[0]["blocks"]
    elements = {
        e["text"]["text"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]
    }
    confirm = elements["Approve as is"]["confirm"]
    assert confirm["title"]["text"] == "Are you sure?"
    assert confirm["text"]["text"].startswith("Approve as is: Migrate the <billing>")
    assert "confirm" not in elements["Approve with changes…"]


# -- every input type ---------------------------------------------------------------------------------


def test_key_inputs_and_values_are_shown_by_type(slack: SlackHarness) -> None:
    execution = start(slack.engine, (FLOWS / "every_type.yml").read_text())
    blocks = posted_for(slack, execution)[0]["blocks"]
    shown = text_of(blocks)
    assert "*token*\n••••••" in shown and "s3cr3t" not in json.dumps(blocks)
    # in a value, "*bold*" is shown as typed: escaped, each marker between zero-width spaces
    assert f"&lt;@U999&gt; &amp; {Z}*{Z}bold{Z}*{Z}" in shown and "*bold*" not in shown
    slack.click(*button(blocks, "Approve with changes…"))
    view = slack.opened_view()
    assert "approved" not in modal_inputs(view)  # the decision: the button says it


@pytest.mark.parametrize(
    ("definition", "value", "expected"),
    [
        ({"type": "BOOLEAN"}, True, "Yes"),
        ({"type": "BOOLEAN"}, "false", "No"),
        ({"type": "FLOAT"}, 420.0, "420"),
        ({"type": "FLOAT"}, 0.25, "0.25"),
        ({"type": "INT"}, 3, "3"),
        ({"type": "DATE"}, "2026-02-01", "<!date^1769947200^{date_short_pretty}|2026-02-01>"),
        (
            {"type": "DATETIME"},
            "2026-02-01T10:00:00Z",
            "<!date^1769940000^{date_short_pretty} at {time}|2026-02-01 10:00 UTC>",
        ),
        ({"type": "MULTISELECT", "values": ["a", "b"]}, ["a", "b"], "a, b"),
        ({"type": "ARRAY", "itemType": "INT"}, [1.0, 2.0], "1, 2"),
        ({"type": "SECRET"}, "hunter2", "••••••"),
        ({"type": "STRING"}, "x" * 500, "x" * 199 + "…"),
        ({"type": "STRING"}, "<!here> & *b*", f"&lt;!here&gt; &amp; {Z}*{Z}b{Z}*{Z}"),
        ({"type": "STRING"}, "a_b ~c~ `d`", f"a_b {Z}~{Z}c{Z}~{Z} {Z}`{Z}d{Z}`{Z}"),
        ({"type": "STRING"}, None, "—"),
        ({"type": "JSON"}, {"a": [1, 2]}, '{"a": [1, 2]}'),
    ],
)
def test_show_value(definition: dict[str, Any], value: Any, expected: str) -> None:
    assert show_value(InputDefinition(id="x", **definition), value) == expected


# -- outcomes of a BOOLEAN decision -------------------------------------------------------------------


def test_approved_as_is_in_one_tap_names_who_and_keeps_the_key_inputs(slack: SlackHarness) -> None:
    execution = start(slack.engine, DEPLOY)
    blocks = posted_for(slack, execution)[0]["blocks"]
    slack.click(*button(blocks, "Approve as is"), user="U1")
    done = message_now(slack, execution, "*Approved* by <@U1> via Slack")
    assert header(done) == "Deploy checkout-api 1.4.2 to production?"
    shown = text_of(done)
    assert "*service*\ncheckout-api" in shown  # key inputs stay
    assert "*When may it roll out?*\nnow" in shown  # chosen as is, by Ada
    run = slack.engine.get_execution(execution.id).taskRunList[1]
    assert run.outputs["onResume"]["approved"] is True


def test_rejected_without_a_reason_shows_only_what_was_asked(slack: SlackHarness) -> None:
    execution = start(slack.engine, DEPLOY)
    blocks = posted_for(slack, execution)[0]["blocks"]
    slack.click(*button(blocks, "Reject…"), user="U2")
    view = slack.opened_view()
    assert modal_inputs(view) == ["comment"] and view["submit"]["text"] == "Reject"
    slack.submit(view, {}, user="U2")
    done = message_now(slack, execution, "*Rejected* by <@U2>")
    shown = text_of(done)
    assert "Approved" not in shown
    assert "When may it roll out?" not in shown  # a question only approving asks
    assert (
        slack.engine.get_execution(execution.id).taskRunList[1].outputs["onResume"]["approved"]
        is False
    )


def test_a_one_tap_rejection_asks_for_confirmation(slack: SlackHarness) -> None:
    flow = yaml.safe_load((EXAMPLES / "model_release.yml").read_text())
    execution = start(slack.engine, yaml.safe_dump(flow, sort_keys=False))
    blocks = posted_for(slack, execution, 2)[0]["blocks"]
    assert button_labels(blocks) == ["Approve", "Reject", "Open in pausebot"]
    reject = next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Reject"
    )
    assert reject["confirm"]["style"] == "danger"
    slack.click(reject["action_id"], reject["value"], user="U3")
    done = message_now(slack, execution, "*Rejected* by <@U3>")
    assert "Approved" not in text_of(done)
    assert slack.fake.calls_to("views.open") == []


# -- each option of an ENUM decision ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "value", "outcome", "emoji"),
    [
        ("Approve with changes…", "approve", "*Approved* by <@U1>", ":white_check_mark:"),
        ("Reject…", "reject", "*Rejected* by <@U1>", ":no_entry_sign:"),
        (
            "Request changes…",
            "changes",
            "*Changes requested* by <@U1>",
            ":leftwards_arrow_with_hook:",
        ),
    ],
)
def test_each_option_of_the_expense_decision_is_named(
    slack: SlackHarness, label: str, value: str, outcome: str, emoji: str
) -> None:
    execution = start(slack.engine, EXPENSE)
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert button_labels(blocks) == [
        "Approve as is",
        "Approve with changes…",
        "Reject…",
        "Request changes…",
        "Open in pausebot",
    ]
    slack.click(*button(blocks, label))
    view = slack.opened_view()
    assert "decision" not in modal_inputs(view)
    expected_fields = ["approved_amount", "note"] if value == "approve" else ["note"]
    assert modal_inputs(view) == expected_fields
    slack.submit(view, {"note": "see <the> policy"})
    done = message_now(slack, execution, outcome)
    shown = text_of(done)
    assert f"{emoji} {outcome}" in shown
    assert ">see &lt;the&gt; policy" in shown  # the note, first, quoted
    if value != "approve":
        assert "Approved" not in shown
    run = next(
        r for r in slack.engine.get_execution(execution.id).taskRunList if r.taskId == "review"
    )
    assert run.outputs["onResume"]["decision"] == value


# -- nobody decided ---------------------------------------------------------------------------------


TIMED = """
id: timed_{name}
namespace: company.ops
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    description: Approve within a minute
    {deadline}
    onResume:
      - id: approved
        type: BOOLEAN
        defaults: true
      - id: window
        description: When may it roll out?
        type: SELECT
        values: [now, tonight]
        defaults: now
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
"""


@pytest.mark.parametrize(
    ("name", "deadline", "promised", "happened"),
    [
        (
            "resume",
            "pauseDuration: PT1M",
            "then it continues with the defaults",
            "it continued with the defaults",
        ),
        (
            "warn",
            "pauseDuration: PT1M\n    behavior: WARN",
            "with the defaults and a warning",
            "it continued with the defaults and a warning",
        ),
        ("fail", "pauseDuration: PT1M\n    behavior: FAIL", "then it fails", "it failed"),
        (
            "cancel",
            "pauseDuration: PT1M\n    behavior: CANCEL",
            "then it is cancelled",
            "it was cancelled",
        ),
        ("timeout", "timeout: PT1M", "then it fails", "it failed"),
    ],
)
def test_a_timeout_says_nobody_decided_under_each_behaviour(
    slack: SlackHarness, clock: ManualClock, name: str, deadline: str, promised: str, happened: str
) -> None:
    execution = start(slack.engine, TIMED.format(name=name, deadline=deadline))
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert promised in text_of(blocks)
    clock.advance(timedelta(minutes=2))
    slack.engine.run_until_blocked(execution.id)
    done = message_now(slack, execution, happened)
    assert_nobody_decided(done, "When may it roll out?")
    assert "it timed out" in text_of(done)
    assert "Yes" not in text_of(done)  # the default of `approved` is not shown as anyone's


def test_a_kill_says_nobody_decided(slack: SlackHarness) -> None:
    execution = start(slack.engine, DEPLOY)
    posted_for(slack, execution)
    slack.engine.kill_execution(
        execution.id, by={"id": "ops", "name": "Ops"}, via="ui", reason="wrong <branch>"
    )
    done = message_now(slack, execution, "The execution ended")
    assert_nobody_decided(done, "When may it roll out?")
    shown = text_of(done)
    assert "the execution was killed by Ops via the web UI" in shown
    assert ">wrong &lt;branch&gt;" in shown
    assert "*service*\ncheckout-api" in shown  # the key inputs stay


def test_a_bulk_resume_with_defaults_says_nobody_decided(slack: SlackHarness) -> None:
    execution = start(slack.engine, DEPLOY)
    posted_for(slack, execution)
    slack.engine.resume_many([execution.id], by={"id": "ops", "name": "Ops"}, via="bulk")
    done = message_now(slack, execution, "Nobody decided")
    assert_nobody_decided(done, "When may it roll out?")
    assert "resumed in bulk by Ops, with the defaults" in text_of(done)


@pytest.mark.parametrize(
    ("via", "words"),
    [("ui", "via the web UI"), ("link", "via a signed link"), ("api", "via the API")],
)
def test_a_decision_elsewhere_is_named(slack: SlackHarness, via: str, words: str) -> None:
    execution = start(slack.engine, DEPLOY)
    posted_for(slack, execution)
    slack.engine.resume_execution(
        execution.id,
        {"approved": "false", "comment": "not today"},
        by={"id": "bo", "name": "Bo"},
        via=via,
    )
    done = message_now(slack, execution, f"*Rejected* by Bo {words}")
    shown = text_of(done)
    assert "Approved" not in shown and ">not today" in shown
    assert shown.index(">not today") < shown.index("*service*")  # the reason first


def test_a_late_click_after_nobody_decided_says_so(slack: SlackHarness, clock: ManualClock) -> None:
    execution = start(slack.engine, TIMED.format(name="late", deadline="pauseDuration: PT1M"))
    blocks = posted_for(slack, execution)[0]["blocks"]
    clock.advance(timedelta(minutes=2))
    slack.engine.run_until_blocked(execution.id)
    slack.click(*button(blocks, "Approve as is"), user="U2")
    answer = slack.responses()[0].params["text"]
    assert "no longer waiting" in answer and "*Nobody decided*; it timed out" in answer
    assert "Approved" not in answer


# -- Approval tasks -----------------------------------------------------------------------------------


APPROVAL = (FLOWS / "approval.yml").read_text()


def test_an_approval_is_posted_with_its_title_and_decision_labels(slack: SlackHarness) -> None:
    execution = start(slack.engine, APPROVAL, by={"id": "U0ADA12345", "name": "Ada"})
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert header(blocks) == "Release 7.3.0 to the stores?"
    shown = text_of(blocks)
    assert "*Requested by*\n<@U0ADA12345> via the API" in shown
    assert "The release notes are ready" in shown
    assert "then it is cancelled" in shown
    assert button_labels(blocks) == [
        "Ship it as is",
        "Ship it with changes…",
        "Hold it…",
        "Open in pausebot",
    ]


def test_an_approval_approved_in_one_tap(slack: SlackHarness) -> None:
    execution = start(slack.engine, APPROVAL)
    blocks = posted_for(slack, execution)[0]["blocks"]
    slack.click(*button(blocks, "Ship it as is"), user="U2")
    done = message_now(slack, execution, "*Approved* by <@U2> via Slack")
    assert "*Staged rollout (%)*\n10" in text_of(done)
    run = next(
        r for r in slack.engine.get_execution(execution.id).taskRunList if r.taskId == "review"
    )
    assert run.outputs["decision"] == "APPROVED" and run.outputs["by"] == "Bob Builder"


def test_an_approval_denied_needs_its_comment(slack: SlackHarness) -> None:
    execution = start(slack.engine, APPROVAL)
    blocks = posted_for(slack, execution)[0]["blocks"]
    slack.click(*button(blocks, "Hold it…"), user="U2")
    view = slack.opened_view()
    assert_valid_view(view)
    assert view["submit"]["text"] == "Hold it"
    assert modal_inputs(view) == ["pausebot:comment"]  # rollout matters only when approving
    empty = slack.submit(view, {}, user="U2").json()
    assert empty["response_action"] == "errors" and "pausebot:comment" in empty["errors"]
    slack.submit(view, {"pausebot:comment": "store review pending"}, user="U2")
    done = message_now(slack, execution, "*Denied* by <@U2> via Slack")
    assert header(done) == "Release 7.3.0 to the stores?"  # the rendered title stays
    shown = text_of(done)
    assert ">store review pending" in shown and "Approved" not in shown
    assert "Staged rollout" not in shown
    run = next(
        r for r in slack.engine.get_execution(execution.id).taskRunList if r.taskId == "review"
    )
    assert run.outputs["decision"] == "DENIED" and run.outputs["comment"] == "store review pending"


def test_an_approval_that_expires_says_nobody_decided(
    slack: SlackHarness, clock: ManualClock
) -> None:
    execution = start(slack.engine, APPROVAL)
    posted_for(slack, execution)
    clock.advance(timedelta(hours=3))
    slack.engine.run_until_blocked(execution.id)
    done = message_now(slack, execution, "the request expired")
    assert_nobody_decided(done, "Staged rollout")
    assert "it was cancelled" in text_of(done)


def test_an_approval_reviewed_through_the_api_is_named(slack: SlackHarness) -> None:
    execution = start(slack.engine, (FLOWS / "approval_plain.yml").read_text())
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert button_labels(blocks) == ["Approve", "Deny", "Open in pausebot"]
    run_id = execution.paused_task_runs()[0].id
    slack.engine.decide_waiting(execution.id, run_id, "deny", comment="later", by=API, via="api")
    done = message_now(slack, execution, "*Denied* by CI bot via the API")
    assert ">later" in text_of(done)
    assert slack.engine.get_execution(execution.id).state.current in (
        State.CANCELLED,
        State.RUNNING,
    )


# -- labels ------------------------------------------------------------------------------------------


def test_labels_choose_what_each_option_asks_confirm_and_who_asked(slack: SlackHarness) -> None:
    flow = yaml.safe_load(DEPLOY)
    flow["labels"].update(
        {
            "slack-ask-on-approve": "comment",
            "slack-ask-on-reject": "none",
            "slack-confirm": "true",
            "slack-requester": "bob@example.com",
        }
    )
    execution = start(slack.engine, yaml.safe_dump(flow, sort_keys=False), by=API)
    blocks = posted_for(slack, execution)[0]["blocks"]
    assert "*Requested by*\n<@U2>" in text_of(blocks)  # the label, mapped by e-mail
    assert button_labels(blocks) == [
        "Approve as is",
        "Approve with changes…",
        "Reject",  # asks nothing: one tap
        "Open in pausebot",
    ]
    elements = {
        e["text"]["text"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]
    }
    assert "confirm" in elements["Approve as is"] and "confirm" in elements["Reject"]
    slack.click(*button(blocks, "Approve with changes…"))
    assert modal_inputs(slack.opened_view()) == ["comment"]  # not the window any more
    slack.click(*button(blocks, "Reject"), user="U3")
    done = message_now(slack, execution, "*Rejected* by <@U3>")
    assert "Approved" not in text_of(done)


def test_many_options_become_one_menu(slack: SlackHarness) -> None:
    values = ["approve", "reject", "changes", "hold", "defer", "escalate", "split"]
    flow = {
        "id": "many_options",
        "namespace": "company.ops",
        "labels": {"slack-decision-input": "verdict"},
        "tasks": [
            {
                "id": "gate",
                "type": "io.kestra.plugin.core.flow.Pause",
                "description": "Which way?",
                "onResume": [{"id": "verdict", "type": "ENUM", "values": values}],
            }
        ],
    }
    execution = start(slack.engine, yaml.safe_dump(flow, sort_keys=False))
    blocks = posted_for(slack, execution)[0]["blocks"]
    actions = next(b for b in blocks if b["type"] == "actions")
    menu = actions["elements"][0]
    assert menu["type"] == "static_select"
    assert [o["text"]["text"] for o in menu["options"]] == [
        "Approve",
        "Reject",
        "Request changes",
        "Hold",
        "Defer",
        "Escalate",
        "Split",
    ]
    split = menu["options"][-1]["value"]
    slack.click(menu["action_id"], split, user="U2")  # what Slack sends as selected_option
    done = message_now(slack, execution, "chosen* by <@U2>")
    assert "“Split” chosen" in text_of(done) and "Approved" not in text_of(done)


def test_a_value_of_its_own_is_named_as_given(slack: SlackHarness) -> None:
    flow = {
        "id": "own_value",
        "namespace": "company.ops",
        "labels": {"slack-decision-input": "verdict"},
        "tasks": [
            {
                "id": "gate",
                "type": "io.kestra.plugin.core.flow.Pause",
                "description": "Which way?",
                "onResume": [
                    {
                        "id": "verdict",
                        "type": "SELECT",
                        "values": ["approve", "reject"],
                        "allowCustomValue": True,
                    }
                ],
            }
        ],
    }
    execution = start(slack.engine, yaml.safe_dump(flow, sort_keys=False))
    posted_for(slack, execution)
    slack.engine.resume_execution(execution.id, {"verdict": "ask <the> CFO"}, by=API, via="api")
    done = message_now(slack, execution, "chosen* by CI bot via the API")
    shown = text_of(done)
    assert "“ask &lt;the&gt; CFO” chosen" in shown
    assert "Approved" not in shown and "Rejected" not in shown
