"""Issue 7, finding 9: a value such as ``<!channel> <https://evil.example|click me>`` from a flow
input, a comment, a kill reason or an actor's name reaches Slack only escaped, in every string
the bot sends: the ``text`` fallback, blocks, modals, ephemeral answers, ``/paused`` and the App
Home. The test drives the real bot (signed requests, the fake Slack Web API) through each of
those surfaces and then walks every string of every call it made, and of every HTTP answer.

Finding 10 (``*``, ``_``, ``~`` and backticks in values shown as typed, not as formatting) is
not done in the Slack builders: see the strict xfail at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_harness import SlackHarness, button, button_labels, wait_until

from engine.engine import Engine
from engine.model import Execution

LINKY = "<!channel> <https://evil.example|click me>"
MARKUP = "*_~`"
HOSTILE = f"{LINKY} {MARKUP}"
RAW = ("<!channel>", "<https://evil.example", "<!here>", "<@U0EVIL>")

FLOW = """
id: hostile
namespace: company.team
labels:
  slack-channel: "#deploys"
inputs:
  - id: service
    type: STRING
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    description: "Deploy {{ inputs.service }}?"
    onResume:
      - id: approved
        type: BOOLEAN
        defaults: true
      - id: comment
        description: Why?
        type: STRING
        required: false
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.gate.onResume.comment ?? '' }}"
"""

ACTOR = {"id": "evil", "name": HOSTILE}


def strings(node: Any) -> Iterator[str]:
    """Every string in a call's parameters that Slack reads as mrkdwn, JSON-encoded ones
    (blocks, view) opened up. ``plain_text`` objects (headers, modal titles, labels, button
    texts) are shown literally by Slack, ``<!channel>`` included, so they are left out."""
    if isinstance(node, dict) and node.get("type") == "plain_text":
        return
    if isinstance(node, str):
        yield node
        if node[:1] in "[{":
            try:
                yield from strings(json.loads(node))
            except ValueError:
                pass
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from strings(value)


def start(engine: Engine) -> Execution:
    deployed = engine.deploy_flow(FLOW)
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, {"service": HOSTILE}, by=ACTOR, via="api"
    )
    return engine.run_until_blocked(execution.id)


def blocks_of(slack: SlackHarness, execution: Execution) -> list[dict[str, Any]]:
    found: list[list[dict[str, Any]]] = []

    def posted() -> bool:
        for message in list(slack.fake.messages.values()):
            if execution.id in json.dumps(message.blocks):
                found.append(message.blocks)
                return True
        return False

    wait_until(posted)
    return found[0]


def test_every_string_the_bot_sends_is_escaped(slack: SlackHarness) -> None:
    engine = slack.engine
    answers: list[Any] = []

    # 1. the notice: text fallback and blocks, with the value in the description and inputs
    decided = start(engine)
    blocks = blocks_of(slack, decided)
    # 2. modals: every "…" button opens one; submit one with a hostile comment
    opened = 0
    for label in button_labels(blocks):
        if label.endswith("…"):
            answers.append(slack.click(*button(blocks, label)))
            opened += 1
    assert opened >= 1
    view = slack.opened_view(opened)
    fields = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    answers.append(slack.submit(view, {"comment": HOSTILE} if "comment" in fields else {}))
    wait_until(lambda: engine.get_execution(decided.id).state.current.value != "PAUSED")
    # 3. ephemeral answers: a click on the decided message names the decider
    answers.append(slack.click(*button(blocks, button_labels(blocks)[0])))

    # 4. decided elsewhere by an actor with a hostile name, and killed with a hostile reason
    by_api = start(engine)
    blocks_of(slack, by_api)
    engine.resume_execution(by_api.id, {"comment": HOSTILE}, by=ACTOR, via="api")
    killed = start(engine)
    killed_blocks = blocks_of(slack, killed)
    engine.kill_execution(killed.id, by=ACTOR, via="api", reason=HOSTILE)
    answers.append(slack.click(*button(killed_blocks, button_labels(killed_blocks)[0])))

    # 5. /paused (with the hostile text as a query, and without) and the App Home
    still = start(engine)
    blocks_of(slack, still)
    answers.append(slack.command(""))
    answers.append(slack.command(HOSTILE))
    slack.event({"type": "app_home_opened", "user": "U1", "channel": "D0", "tab": "home"})
    slack.fake.wait_for("views.publish", 1)
    wait_until(lambda: any(m.updates for m in slack.fake.messages.values()))

    methods = {c.method for c in slack.fake.calls}
    assert {"chat.postMessage", "views.open", "views.publish"} <= methods, methods
    seen = 0
    for call in slack.fake.calls:
        for text in strings(call.params):
            seen += 1
            for raw in RAW:
                assert raw not in text, (call.method, text[:300])
    for answer in answers:
        for raw in RAW:
            assert raw not in answer.text, answer.text[:300]
    # and it was there to be escaped: the escaped form reached Slack
    everything = json.dumps([c.params for c in slack.fake.calls])
    assert (
        "&lt;!channel&gt;" in everything and "&lt;https://evil.example|click me&gt;" in everything
    )
    assert seen > 100


@pytest.mark.xfail(
    strict=True,
    reason="issue 7 finding 10 is open in Slack: the builders escape &, < and > only, so *, _, ~ "
    "and backticks in values still format (see /work/wt/i7.report.md)",
)
def test_markup_characters_in_values_are_shown_as_typed(slack: SlackHarness) -> None:
    execution = start(slack.engine)
    blocks = blocks_of(slack, execution)
    shown = [t for t in strings(blocks) if "evil.example" in t]  # mrkdwn strings only
    assert shown and all(MARKUP not in text for text in shown)
