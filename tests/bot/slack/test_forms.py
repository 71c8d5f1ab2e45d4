"""Forms and Block Kit edge cases, without HTTP: flows too big or too strange for Slack still
give valid views, and submitted state maps back to what the engine accepts."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from slack_harness import assert_valid_message, assert_valid_view, state_for, text_of
from support import EXAMPLES

from bot.slack.messages import approval_message
from bot.slack.modals import decision_modal, form_for
from bot.slack.mrkdwn import escape, escape_truncated, fit
from bot.slack.pauses import Pause, waiting_pauses
from bot.slack.summary import Option, summarize
from engine.engine import Engine
from engine.inputs import parse_inputs


def paused(engine: Engine, flow: dict[str, Any], **kwargs: Any) -> Pause:
    deployed = engine.deploy_flow(yaml.safe_dump(flow, sort_keys=False))
    execution = engine.start_execution(deployed.flow.namespace, deployed.flow.id, **kwargs)
    execution = engine.run_until_blocked(execution.id)
    (pause,) = waiting_pauses(engine, [execution])
    return pause


def approving(pause: Pause) -> tuple[Option, dict[str, Any]]:
    """The approve option of a pause and its modal."""
    summary = summarize(pause)
    option = summary.approve
    assert option is not None
    return option, decision_modal(pause, summary, option, form_for(pause, option))


def pause_flow(on_resume: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "f",
        "namespace": "t",
        **extra,
        "tasks": [{"id": "p", "type": "io.kestra.plugin.core.flow.Pause", "onResume": on_resume}],
    }


def test_a_required_value_slack_cannot_take_sends_people_to_the_web_form(
    sqlite_engine: Engine,
) -> None:
    pause = paused(
        sqlite_engine,
        pause_flow(
            [
                {"id": "ok", "type": "BOOLEAN", "defaults": True},
                {"id": "key", "type": "SECRET"},
            ]
        ),
    )
    option, view = approving(pause)
    assert form_for(pause, option).needs_web_form
    assert_valid_view(view)
    assert "submit" not in view and "callback_id" not in view
    assert pause.url in str(view)
    shown = text_of(approval_message(pause).blocks)
    assert "Approve…" in shown and "Approve as is" not in shown  # `key` has no default


def test_many_inputs_and_options_stay_within_limits(sqlite_engine: Engine) -> None:
    many = [
        {"id": f"field_{i}", "type": "STRING", "required": False, "description": "x" * 3000}
        for i in range(120)
    ]
    choices = [
        {"id": "big", "type": "SELECT", "values": [f"v{i}" for i in range(150)], "defaults": "v7"},
        {"id": "radio", "type": "ENUM", "isRadio": True, "values": [f"r{i}" for i in range(12)]},
    ]
    pause = paused(sqlite_engine, pause_flow(choices + many))
    option, view = approving(pause)
    form = form_for(pause, option)
    assert_valid_view(view)
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert kinds["big"] == "plain_text_input"  # over 100 options: typed, with the choices as hint
    assert kinds["radio"] == "static_select"  # over 10 options: a radio would be refused
    assert len(form.fields) == 90 and len(form.web_only) == 32
    assert not form.needs_web_form  # the rest are optional: their defaults apply
    assert "32 more fields keep their defaults" in text_of(view["blocks"])
    assert_valid_message(approval_message(pause).blocks)


def test_a_select_decision_input_designated_by_label(sqlite_engine: Engine) -> None:
    """The expense example's SELECT `decision` is the decision: one option per value, set by
    the button; no modal has it as a field."""
    flow = yaml.safe_load((EXAMPLES / "expense_approval.yml").read_text())
    pause = paused(sqlite_engine, flow, labels={"slack-decision-input": "decision=reject"})
    summary = summarize(pause)
    assert summary.decision_input == "decision"
    assert [(o.value, o.label, o.tone) for o in summary.options] == [
        ("approve", "Approve", "approve"),
        ("reject", "Reject", "reject"),
        ("changes", "Request changes", "other"),
    ]
    for option in summary.options:
        view = decision_modal(pause, summary, option, form_for(pause, option))
        assert_valid_view(view)
        ids = [b.get("block_id") for b in view["blocks"] if b["type"] == "input"]
        assert "decision" not in ids
        assert view["submit"]["text"] == option.label
        raw = form_for(pause, option).read(state_for(view, {}))
        assert "decision" not in raw


def test_state_values_map_back_to_engine_values(sqlite_engine: Engine) -> None:
    pause = paused(
        sqlite_engine,
        pause_flow(
            [
                {"id": "n", "type": "INT", "required": False},
                {"id": "yes", "type": "BOOLEAN", "required": True},
                {"id": "choice", "type": "SELECT", "values": [1, 2, True]},
                {"id": "many", "type": "MULTISELECT", "values": ["a", "b"], "required": False},
                {"id": "a.b", "type": "STRING", "required": False},
            ]
        ),
    )
    option, view = approving(pause)
    form = form_for(pause, option)
    assert {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}[
        "yes"
    ] == "radio_buttons"
    state = state_for(view, {"yes": False, "choice": "true", "many": ["b"], "a.b": "x"})
    values = parse_inputs(pause.inputs, form.read(state))
    assert values == {"n": None, "yes": False, "choice": True, "many": ["b"], "a": {"b": "x"}}


@pytest.mark.parametrize("text", ["a & b" * 1000, "<" * 5000, "x" * 2999 + "&"])
def test_escaped_truncation_never_cuts_an_entity(text: str) -> None:
    cut = escape_truncated(text, 3000)
    assert len(cut) <= 3000
    assert not cut.rstrip("…").endswith(("&", "&a", "&am", "&l", "&g", "&lt", "&gt"))
    assert cut == escape(text) or cut.endswith("…")


def test_fit_never_leaves_half_a_link() -> None:
    text = "x" * 95 + "<https://example.com|here>"
    assert fit(text, 100) == "x" * 95 + "…"
