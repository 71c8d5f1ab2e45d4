"""Deciding in Slack: Approve/Reject clicks, the modal form per input type, validation errors on
the right blocks, exactly one decision under double clicks and races, who may decide."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_harness import (
    SlackHarness,
    assert_valid_message,
    assert_valid_view,
    button,
    text_of,
    wait_until,
)
from support import EXAMPLES

from bot.slack.blocks import APPROVE_ACTION, REJECT_ACTION
from bot.slack.notifier import CONSUMER
from engine.engine import Engine
from engine.errors import AlreadyDecided
from engine.model import Execution
from engine.states import State

FLOWS = Path(__file__).parent / "flows"


def start(engine: Engine, source: str, **kwargs: Any) -> Execution:
    deployed = engine.deploy_flow(source)
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, via="api", **kwargs
    )
    return engine.run_until_blocked(execution.id)


def start_and_click(
    slack: SlackHarness,
    source: str,
    label: str = "Approve with changes…",
    *,
    user: str = "U1",
    **kwargs: Any,
) -> tuple[Execution, tuple[str, str]]:
    """Starts a flow, waits for its message and clicks the button ``label`` on it; returns the
    button (action_id, value)."""
    execution = start(slack.engine, source, **kwargs)
    posted = slack.fake.wait_for(
        "chat.postMessage", where=lambda c: execution.id in json.dumps(c.params)
    )
    action, value = button(posted[0].params["blocks"], label)
    assert slack.click(action, value, user=user).status_code == 200
    return execution, (action, value)


def pause_run(slack: SlackHarness, execution_id: str) -> Any:
    execution = slack.engine.get_execution(execution_id)
    return next(
        r
        for r in execution.taskRunList
        if "resumed" in r.outputs or r.state.current == State.PAUSED
    )


def events(slack: SlackHarness, execution_id: str, kind: str) -> list[Any]:
    return [e for e in slack.engine.store.events_for(execution_id) if e.kind == kind]


DEPLOY = (EXAMPLES / "deploy_approval.yml").read_text()
EVERY_TYPE = (FLOWS / "every_type.yml").read_text()


# -- the form --------------------------------------------------------------------------------------


def test_approve_opens_a_modal_with_the_element_each_type_needs(slack: SlackHarness) -> None:
    execution, _ = start_and_click(slack, EVERY_TYPE)
    call = slack.fake.wait_for("views.open")[0]
    assert call.params["trigger_id"].startswith("trigger-")
    view = call.params["view"]
    assert_valid_view(view)
    assert view["title"]["text"] == "Approve" and view["submit"]["text"] == "Approve"
    assert json.loads(view["private_metadata"])["e"] == execution.id
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    kinds = {block_id: b["element"]["type"] for block_id, b in inputs.items()}
    assert kinds == {  # `approved`, the decision, is set by the button: never a field
        "notify_oncall": "checkboxes",
        "replicas": "number_input",
        "ratio": "number_input",
        "day": "datepicker",
        "at": "timepicker",
        "when": "datetimepicker",
        "timeout": "plain_text_input",
        "runbook": "url_text_input",
        "owner": "email_text_input",
        "env": "static_select",
        "level": "radio_buttons",  # isRadio
        "regions": "multi_static_select",
        "custom": "plain_text_input",  # allowCustomValue: Slack selects can't take one's own value
        "settings": "plain_text_input",
        "extra": "plain_text_input",
        "tags": "plain_text_input",
        "comment": "plain_text_input",
        "request.name": "plain_text_input",
    }  # `password` (SECRET) is left to the web form
    element = {block_id: b["element"] for block_id, b in inputs.items()}
    assert (
        "initial_options" not in element["notify_oncall"]
        and inputs["notify_oncall"]["optional"] is True
    )
    assert element["replicas"] == {
        "type": "number_input",
        "action_id": "value",
        "is_decimal_allowed": False,
        "initial_value": "3",
        "min_value": "1",
        "max_value": "9",
    }
    assert element["ratio"]["is_decimal_allowed"] is True and element["ratio"]["max_value"] == "1"
    assert inputs["ratio"]["label"]["text"] == "Canary ratio"  # displayName when no description
    assert inputs["replicas"]["label"]["text"] == "Replicas <&>"  # plain text: shown as written
    assert element["day"]["initial_date"] == "2026-02-01"
    assert element["at"]["initial_time"] == "10:15"
    assert element["when"]["initial_date_time"] == int(
        datetime(2026, 2, 1, 10, tzinfo=UTC).timestamp()
    )
    assert element["env"]["initial_option"]["text"]["text"] == "staging"
    assert [o["text"]["text"] for o in element["level"]["options"]] == ["low", "medium", "high"]
    regions = [o["text"]["text"] for o in element["regions"]["options"]]
    assert len(regions[2]) == 75 and regions[2].endswith("…")
    assert [o["text"]["text"] for o in element["regions"]["initial_options"]] == ["eu-west-1"]
    assert element["settings"]["multiline"] is True and json.loads(
        element["settings"]["initial_value"]
    ) == {"a": 1, "b": [1, 2]}
    assert inputs["owner"]["optional"] is True and inputs["replicas"].get("optional") is False
    assert "web form" in text_of(view["blocks"])  # says where the SECRET can be set


def test_invalid_values_come_back_as_errors_on_their_blocks(slack: SlackHarness) -> None:
    execution, _ = start_and_click(slack, EVERY_TYPE)
    view = slack.opened_view()
    response = slack.submit(
        view, {"comment": "not <allowed>", "timeout": "soon", "settings": "{oops"}
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"comment", "timeout", "settings"}
    assert "must match the pattern" in answer["errors"]["comment"]
    assert all(len(message) <= 150 for message in answer["errors"].values())
    assert slack.engine.get_execution(execution.id).state.current == State.PAUSED
    assert events(slack, execution.id, "resumed") == []


def test_a_valid_submission_resumes_and_the_message_shows_who_and_what(slack: SlackHarness) -> None:
    execution, _ = start_and_click(slack, EVERY_TYPE)
    view = slack.opened_view()
    when = int(datetime(2026, 3, 1, 8, 30, tzinfo=UTC).timestamp())
    response = slack.submit(
        view,
        {
            "replicas": "5",
            "ratio": "0.5",
            "notify_oncall": True,
            "day": "2026-03-02",
            "at": "08:45",
            "when": when,
            "env": "prod",
            "level": "high",
            "regions": ["us-east-1", "eu-west-1"],
            "custom": "c",
            "tags": '["a"]',
            "comment": "ship it & smile",
        },
    )
    assert response.json()["response_action"] == "update"
    assert "*Approved*: Please check" in text_of(response.json()["view"]["blocks"])
    run = pause_run(slack, execution.id)
    values = run.outputs["onResume"]
    assert values["replicas"] == 5 and values["ratio"] == 0.5 and values["notify_oncall"] is True
    assert (
        values["day"] == "2026-03-02"
        and values["at"] == "08:45:00"
        and values["when"] == "2026-03-01T08:30:00Z"
    )
    assert (
        values["env"] == "prod"
        and values["level"] == "high"
        and values["regions"] == ["eu-west-1", "us-east-1"]
    )
    assert (
        values["settings"] == {"a": 1, "b": [1, 2]}
        and values["tags"] == ["a"]
        and values["approved"] is True
    )
    assert values["request"] == {"name": "Rick"}
    assert run.outputs["resumed"]["by"] == {"id": "U1", "name": "Ada"}  # Slack id and display name
    assert run.outputs["resumed"]["via"] == "slack"
    update = slack.fake.wait_for("chat.update")[0]
    blocks = update.params["blocks"]
    assert_valid_message(blocks)
    shown = text_of(blocks)
    assert "*Approved* by <@U1> via Slack" in shown
    assert (
        "*Canary ratio*\n0.5" in shown and "*Replicas &lt;&amp;&gt;*\n5" in shown
    )  # escaped labels
    assert shown.index(">ship it &amp; smile") < shown.index("*Canary ratio*")  # comment first
    assert "… and 5 more in pausebot." in shown  # at most 10 values; the web UI has the rest


def test_double_submit_and_a_race_with_the_api_decide_once(slack_any: SlackHarness) -> None:
    slack = slack_any
    execution, _ = start_and_click(slack, DEPLOY)
    view = slack.opened_view()
    answers: list[dict[str, Any]] = []

    def submit() -> None:
        answers.append(slack.submit(view).json())

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shown = sorted(text_of(a["view"]["blocks"]) for a in answers)
    assert sum("*Approved*: Deploy checkout-api" in s for s in shown) == 1
    assert sum("Already decided: *Approved* by <@U1> via Slack" in s for s in shown) == 2
    assert len(events(slack, execution.id, "resumed")) == 1
    try:
        slack.engine.resume_execution(execution.id, {}, by={"id": "api", "name": "Api"}, via="api")
    except AlreadyDecided as error:
        assert error.by == {"id": "U1", "name": "Ada"}
    else:
        raise AssertionError("a second resume went through")

    # The other way round: the API wins, the modal that was open says so.
    raced, _ = start_and_click(slack, DEPLOY)
    view = slack.opened_view(2)
    slack.engine.resume_execution(
        raced.id, {"approved": "true"}, by={"id": "ci", "name": "CI bot"}, via="api"
    )
    answer = slack.submit(view).json()
    assert answer["response_action"] == "update"
    assert "Already decided: *Approved* by CI bot via the API" in text_of(answer["view"]["blocks"])
    assert len(events(slack, raced.id, "resumed")) == 1


def test_clicking_a_decided_pause_says_who_decided(slack: SlackHarness) -> None:
    execution = start(slack.engine, DEPLOY)
    action, value = button(slack.posted()[0].params["blocks"], "Approve with changes…")
    slack.engine.resume_execution(execution.id, {}, by={"id": "ci", "name": "CI bot"}, via="api")
    slack.click(action, value, user="U2")
    response = slack.responses()[0]
    assert response.params["response_type"] == "ephemeral"
    assert "Already decided: *Approved* by CI bot via the API" in response.params["text"]
    assert slack.fake.calls_to("views.open") == []


# -- reject ---------------------------------------------------------------------------------------


def test_reject_with_a_decision_input_asks_only_what_rejecting_needs(slack: SlackHarness) -> None:
    execution, _ = start_and_click(slack, DEPLOY, "Reject…", user="U2")
    view = slack.opened_view()
    assert_valid_view(view)
    assert view["title"]["text"] == "Reject" and view["submit"]["text"] == "Reject"
    # Neither the decision nor "When may it roll out?": only the comment.
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["comment"]
    answer = slack.submit(view, {"comment": "not on a Friday"}, user="U2").json()
    assert "*Rejected*: Deploy checkout-api" in text_of(answer["view"]["blocks"])
    run = pause_run(slack, execution.id)
    assert run.outputs["onResume"]["approved"] is False
    shown = text_of(slack.fake.wait_for("chat.update")[0].params["blocks"])
    assert "*Rejected* by <@U2> via Slack" in shown and ">not on a Friday" in shown
    assert "Approved" not in shown and "When may it roll out?" not in shown


def test_reject_without_a_decision_input_asks_why_and_kills(slack: SlackHarness) -> None:
    execution, _ = start_and_click(
        slack, (FLOWS / "reason_reject.yml").read_text(), "Reject…", user="U2"
    )
    view = slack.opened_view()
    assert_valid_view(view)
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["pausebot:comment"]
    empty = slack.submit(view, {"pausebot:comment": "  "}, user="U2").json()
    assert empty == {
        "response_action": "errors",
        "errors": {"pausebot:comment": "Please say why you are rejecting it."},
    }
    answer = slack.submit(view, {"pausebot:comment": "too <risky> today"}, user="U2").json()
    assert "*Rejected*: Review the migration plan" in text_of(answer["view"]["blocks"])
    killed = slack.engine.get_execution(execution.id)
    assert killed.state.current == State.KILLED
    assert (
        killed.killedBy == {"id": "U2", "name": "Bob Builder"}
        and killed.killReason == "too <risky> today"
    )
    shown = text_of(slack.fake.wait_for("chat.update")[0].params["blocks"])
    assert "*Rejected* by <@U2> via Slack" in shown and "the execution was stopped" in shown
    assert ">too &lt;risky&gt; today" in shown


def test_a_reject_racing_an_approval_kills_nothing(slack: SlackHarness) -> None:
    execution, _ = start_and_click(
        slack, (FLOWS / "reason_reject.yml").read_text(), "Reject…", user="U2"
    )
    view = slack.opened_view()
    slack.engine.resume_execution(execution.id, {}, by={"id": "ci", "name": "CI bot"}, via="api")
    answer = slack.submit(view, {"pausebot:comment": "no"}, user="U2").json()
    assert "Already decided: *Approved* by CI bot" in text_of(answer["view"]["blocks"])
    assert slack.engine.get_execution(execution.id).state.current != State.KILLED


def test_approve_without_inputs_resumes_at_once(slack: SlackHarness) -> None:
    execution, _ = start_and_click(
        slack, (FLOWS / "no_inputs.yml").read_text(), "Approve", user="U3"
    )
    resumed = slack.wait_execution(execution.id, lambda e: e.state.current != State.PAUSED)
    run = resumed.taskRunList[0]
    assert run.outputs["resumed"]["by"] == {"id": "U3", "name": "Cy Young"}
    assert slack.fake.calls_to("views.open") == []
    assert "*Approved* by <@U3>" in text_of(slack.fake.wait_for("chat.update")[0].params["blocks"])


# -- who may decide ---------------------------------------------------------------------------------


def test_assignment_refuses_others_ephemerally_and_records_it(slack: SlackHarness) -> None:
    source = (FLOWS / "assigned.yml").read_text()
    execution, (action, value) = start_and_click(slack, source, "Approve", user="U3")
    refusal = slack.responses()[0].params
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert refusal["text"] == "You may not decide this pause: only ada@example.com or sre may."
    assert slack.engine.get_execution(execution.id).state.current == State.PAUSED

    # The refusal is recorded after the ack, so the answer can arrive before the log line.
    def warnings() -> list[str]:
        return [e.message for e in slack.engine.logs(execution.id) if e.level == "WARN"]

    wait_until(
        lambda: (
            bool(warnings())
            and slack.bot.metrics.value("refusals_total", reason="not_assigned") == 1
        )
    )
    assert warnings() == ["Slack: u3 (U3) was refused: not among the assignees."]
    assert slack.bot.metrics.value("refusals_total", reason="not_assigned") == 1
    metrics = slack.client.get("/metrics").text
    assert 'pausebot_slack_refusals_total{reason="not_assigned"} 1' in metrics
    # By e-mail (Ada's Slack profile) and by group handle (Bob is in @sre):
    slack.click(action, value, user="U1")
    slack.wait_execution(execution.id, lambda e: e.state.current != State.PAUSED)
    other = start(slack.engine, source)
    other_action, other_value = button(slack.posted(2)[1].params["blocks"], "Approve")
    slack.click(other_action, other_value, user="U2")
    slack.wait_execution(other.id, lambda e: e.state.current != State.PAUSED)
    assert slack.fake.calls_to("usergroups.list") and slack.fake.calls_to("usergroups.users.list")


def test_self_approval_is_refused_when_forbidden(
    make_slack: Callable[..., SlackHarness], sqlite_engine: Engine
) -> None:
    slack = make_slack(sqlite_engine, slack_forbid_self_approval=True)
    execution, (action, value) = start_and_click(slack, DEPLOY, by={"id": "U1", "name": "Ada"})
    assert (
        slack.responses()[0].params["text"]
        == "You started this execution, so someone else has to decide it."
    )
    assert slack.fake.calls_to("views.open") == []
    # Counted after the answer is sent, like the assignment refusal above.
    wait_until(lambda: slack.bot.metrics.value("refusals_total", reason="self_approval") == 1)
    slack.click(action, value, user="U2")
    assert_valid_view(slack.opened_view())
    assert slack.engine.get_execution(execution.id).state.current == State.PAUSED


def test_the_submission_is_checked_again(
    make_slack: Callable[..., SlackHarness], sqlite_engine: Engine
) -> None:
    """A modal opened by someone allowed, submitted as someone else (or replayed), is refused."""
    slack = make_slack(sqlite_engine, slack_forbid_self_approval=True)
    execution, _ = start_and_click(slack, DEPLOY, user="U2", by={"id": "U1", "name": "Ada"})
    view = slack.opened_view()
    answer = slack.submit(view, user="U1").json()
    assert "someone else has to decide it" in text_of(answer["view"]["blocks"])
    assert events(slack, execution.id, "resumed") == []
    # Ids in private_metadata are looked up, not trusted:
    forged = {**view, "private_metadata": json.dumps({"e": "nope", "t": "nope", "d": "approve"})}
    assert "no longer exists" in text_of(slack.submit(forged, user="U2").json()["view"]["blocks"])
    garbage = {**view, "private_metadata": "{"}
    assert "no longer valid" in text_of(slack.submit(garbage, user="U2").json()["view"]["blocks"])
    wrong_run = {
        **view,
        "private_metadata": json.dumps({"e": execution.id, "t": "other", "d": "approve"}),
    }
    assert "can no longer be decided" in text_of(
        slack.submit(wrong_run, user="U2").json()["view"]["blocks"]
    )
    assert events(slack, execution.id, "resumed") == []


def test_a_forged_button_value_is_refused(slack: SlackHarness) -> None:
    slack.click(APPROVE_ACTION, "not json")
    assert slack.responses()[0].params["text"] == "This button is no longer valid."


def test_home_tab_clicks_answer_in_a_modal(slack: SlackHarness) -> None:
    source = (FLOWS / "assigned.yml").read_text()
    execution = start(slack.engine, source)
    action, value = button(slack.posted()[0].params["blocks"], "Approve")
    slack.click(action, value, user="U3", surface="home")
    view = slack.opened_view()
    assert_valid_view(view)
    assert "You may not decide this pause" in text_of(view["blocks"])
    assert slack.engine.get_execution(execution.id).state.current == State.PAUSED
    assert len(slack.engine.store.notices(CONSUMER, execution.id)) == 1


def test_the_engine_kills_for_a_reject_only_while_the_pause_waits(slack: SlackHarness) -> None:
    """The compare-and-set under Slack's Reject: a pause decided in between is not killed."""
    execution = start(slack.engine, (FLOWS / "reason_reject.yml").read_text())
    run_id = execution.paused_task_runs()[0].id
    slack.engine.resume_execution(execution.id, {}, by={"id": "ci", "name": "CI bot"}, via="api")
    try:
        slack.engine.kill_execution(
            execution.id,
            by={"id": "U2", "name": "Bob"},
            via="slack",
            reason="no",
            task_run_id=run_id,
        )
    except AlreadyDecided as error:
        assert error.by == {"id": "ci", "name": "CI bot"}
    else:
        raise AssertionError("killed a pause that was already approved")
    assert slack.engine.get_execution(execution.id).state.current != State.KILLED


def test_buttons_of_messages_posted_before_options_still_decide(slack: SlackHarness) -> None:
    """A message posted by an older pausebot has Approve/Reject buttons whose value names only
    the pause: Approve is the approve option, Reject the first rejecting one."""
    execution = start(slack.engine, (FLOWS / "reason_reject.yml").read_text())
    slack.posted()
    old = json.dumps({"e": execution.id, "t": execution.paused_task_runs()[0].id})
    slack.click(REJECT_ACTION, old, user="U2")
    view = slack.opened_view()
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["pausebot:comment"]
    slack.click(APPROVE_ACTION, old, user="U2")
    approve = slack.opened_view(2)
    assert [b["block_id"] for b in approve["blocks"] if b["type"] == "input"] == ["ticket"]
    answer = slack.submit(approve, {"ticket": "CHG-2"}, user="U2").json()
    assert answer["response_action"] == "update"
    run = pause_run(slack, execution.id)
    assert run.outputs["onResume"] == {"ticket": "CHG-2"}
