"""Issue 7, finding 9: a value such as ``<!channel> <https://evil.example|click me>`` from a flow
input, a comment, a kill reason or an actor's name reaches Slack only escaped, in every string
the bot sends: the ``text`` fallback, blocks, modals, ephemeral answers, ``/paused`` and the App
Home. The test drives the real bot (signed requests, the fake Slack Web API) through each of
those surfaces and then walks every string of every call it made, and of every HTTP answer.

Finding 10: ``*``, ``_``, ``~`` and backticks in values are shown as typed, not as formatting.
Slack has no escape for them, so ``bot.slack.mrkdwn.value()`` puts a zero-width space on both
sides of each (docs/slack.md says why); the flow author's own description keeps its mrkdwn.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_harness import SlackHarness, button, button_labels, wait_until

from bot.slack.mrkdwn import ZWSP, author, value
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


SHOWN_AS_TYPED = "".join(f"{ZWSP}{c}{ZWSP}" for c in MARKUP)  # value("*_~`")


def test_markup_characters_in_values_are_shown_as_typed(slack: SlackHarness) -> None:
    """The hostile value reaches every mrkdwn string of the notice (text fallback, the
    description it is rendered into, the key inputs, the requester's name) with no marker Slack
    could pair; then a hostile comment and a hostile kill reason likewise."""
    execution = start(slack.engine)
    blocks = blocks_of(slack, execution)
    notice = next(m for m in list(slack.fake.messages.values()) if m.blocks == blocks)
    shown = [t for t in [*strings(blocks), notice.text] if "evil.example" in t]  # mrkdwn only
    assert len(shown) >= 3, shown  # the description, the key input, the text fallback
    for text in shown:
        assert MARKUP not in text and SHOWN_AS_TYPED in text, text
    assert "Deploy " in json.dumps(blocks)  # the author's words around the value are kept

    # decided with a hostile comment, killed with a hostile reason: the updated messages
    slack.engine.resume_execution(execution.id, {"comment": HOSTILE}, by=ACTOR, via="api")
    killed = start(slack.engine)
    killed_blocks = blocks_of(slack, killed)
    killed_notice = next(m for m in list(slack.fake.messages.values()) if m.blocks == killed_blocks)
    slack.engine.kill_execution(killed.id, by=ACTOR, via="api", reason=HOSTILE)
    wait_until(lambda: notice.updates >= 1 and killed_notice.updates >= 1)
    for message in (notice, killed_notice):
        shown = [t for t in [*strings(message.blocks), message.text] if "evil.example" in t]
        assert shown, message.blocks
        for text in shown:
            assert MARKUP not in text, text
        assert any(SHOWN_AS_TYPED in text for text in shown)


def test_the_header_shows_a_value_as_typed_and_drops_only_the_authors_markers(
    slack: SlackHarness,
) -> None:
    flow = FLOW.replace('"Deploy {{ inputs.service }}?"', '"*Deploy* {{ inputs.service }}?"')
    deployed = slack.engine.deploy_flow(flow.replace("id: hostile", "id: hostile-header"))
    execution = slack.engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, {"service": "*urgent* fix_it_now"}, via="api"
    )
    blocks = blocks_of(slack, slack.engine.run_until_blocked(execution.id))
    header = next(b for b in blocks if b["type"] == "header")
    assert header["text"]["type"] == "plain_text"  # Slack shows it literally
    assert header["text"]["text"] == "Deploy *urgent* fix_it_now?"


@pytest.mark.parametrize(
    "typed",
    ["*bold*", "_italic_", "~struck~", "`code`", "a*b*c", "snake_case_name", "```block```"],
)
def test_value_leaves_no_marker_slack_could_pair(typed: str) -> None:
    shown = value(typed)
    assert shown.replace(ZWSP, "") == typed  # what people read is what was typed
    padded = f" {shown} "
    for index, char in enumerate(padded):
        if char in MARKUP:  # an invisible space on both sides, or a letter on both sides
            around = padded[index - 1] + padded[index + 1]
            assert around == ZWSP * 2 or around.isalnum(), shown
    assert value("snake_case_name") == "snake_case_name"  # identifiers copy cleanly


def test_author_text_keeps_its_mrkdwn_and_only_the_values_in_it_are_shown_as_typed() -> None:
    # The flow author's description formats on purpose; a value rendered into it does not.
    described = author("*Deploy* my *_risky_* build & ship?", ("*_risky_*",))
    assert described.startswith("*Deploy* my ")
    assert value("*_risky_*") in described and "&amp;" in described
    assert author("*only* the author", ("*",)) == "*only* the author"  # a bare marker is no value
