"""The executions list and the execution page: filters, forms, decisions, escaping."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from markupsafe import escape
from sqlalchemy.exc import DataError

from engine.states import State

if TYPE_CHECKING:
    from tests.bot.ui.conftest import UI


def _rows(page: str) -> list[str]:
    """Execution ids listed, in order."""
    return re.findall(r'<li class="row[^"]*" data-id="([A-Za-z0-9]+)">', page)


def test_ui_root_redirects_to_the_list(ui: UI) -> None:
    for path in ("/ui", "/ui/"):
        response = ui.client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/executions"


def test_the_list_opens_on_paused_executions_and_filters(ui: UI) -> None:
    waiting = ui.paused("deploy_approval.yml")
    claim = ui.paused("expense_approval.yml")
    small = ui.start("company.finance", "expense_approval", amount=12)
    assert small.state.current == State.SUCCESS
    ui.login()

    default = ui.client.get("/ui/executions").text
    assert sorted(_rows(default)) == sorted([waiting.id, claim.id])
    assert '<option value="PAUSED" selected>' in default
    every = ui.client.get("/ui/executions?state=").text
    assert set(_rows(every)) == {waiting.id, claim.id, small.id}
    assert "3 executions" in every
    assert _rows(ui.client.get("/ui/executions?state=SUCCESS").text) == [small.id]
    by_namespace = ui.client.get("/ui/executions?state=&namespace=company.finance").text
    assert set(_rows(by_namespace)) == {claim.id, small.id}
    assert _rows(ui.client.get("/ui/executions?flow=deploy_approval").text) == [waiting.id]
    assert _rows(ui.client.get(f"/ui/executions?state=&q={claim.id[:10]}").text) == [claim.id]
    nothing = ui.client.get("/ui/executions?state=&q=no-such-thing")
    assert "No executions match these filters." in nothing.text
    # Garbage in the query is ignored rather than answered with an error.
    odd = ui.client.get("/ui/executions?state=BOGUS&page=-3")
    assert odd.status_code == 200
    assert set(_rows(odd.text)) == {waiting.id, claim.id, small.id}
    # Only paused rows can be picked for a bulk resume.
    assert f'name="ids" value="{small.id}"' not in every
    assert f'name="ids" value="{claim.id}"' in every


def test_the_list_pages_through_many_executions(ui: UI) -> None:
    flow = ui.deploy("deploy_approval.yml")
    ids = {ui.start(flow.namespace, flow.id).id for _ in range(27)}
    ui.login()
    first = ui.client.get("/ui/executions").text
    assert len(_rows(first)) == 25
    assert "Page 1 of 2" in first
    assert 'href="/ui/executions?state=PAUSED&amp;page=2" rel="next"' in first
    second = ui.client.get("/ui/executions?state=PAUSED&page=2").text
    assert len(_rows(second)) == 2
    assert set(_rows(first)) | set(_rows(second)) == ids


def test_the_page_shows_the_execution_and_its_resume_form(ui: UI) -> None:
    execution = ui.paused("deploy_approval.yml")
    ui.login()
    page = ui.page(execution)
    assert 'class="state state-paused" id="execution-state">PAUSED' in page
    # The question first, rendered: no raw Slack markup.
    assert "Deploy <strong>checkout-api</strong> 1.4.2 to production?" in page
    assert "*checkout-api*" not in page
    assert "(in 4 h, then CANCEL)" in page
    assert "Grace" in page and "via cli" in page
    assert "slack-channel: #deploys" in page
    assert "<dt>canary_percent</dt><dd><code>10</code>" in page
    run = execution.paused_task_runs()[0]
    assert f'name="_task_run" value="{run.id}"' in page
    # Approve and Reject set the decision input; it is never a field with a default.
    assert '<summary class="button primary">Approve</summary>' in page
    assert '<summary class="button danger">Reject</summary>' in page
    assert 'name="approved"' not in page
    assert '<option value="now" selected>now</option>' in page
    assert (
        f'<label for="d-{run.id}-approve-comment">Anything the on-call should know?</label>' in page
    )
    assert "Kill…" in page
    assert ">Pause</button>" not in page  # a paused execution cannot be paused again
    assert "Ready to deploy checkout-api 1.4.2" in page  # the log line


def test_every_input_type_gets_its_widget(ui: UI) -> None:
    execution = ui.paused("every-input.yaml")
    ui.login()
    page = ui.page(execution)
    prefix = f"d-{execution.paused_task_runs()[0].id}-approve"

    def tag(input_id: str) -> str:
        match = re.search(rf'<(input|select|textarea) id="{prefix}-{input_id}"[^>]*>', page)
        assert match, input_id
        return match.group(0)

    assert (
        'type="number"' in tag("copies")
        and 'min="1"' in tag("copies")
        and 'max="10"' in tag("copies")
    )
    assert 'step="1"' in tag("copies") and 'value="2"' in tag("copies")
    assert "How many printed copies" in page  # displayName is the label, description the help
    assert 'step="any"' in tag("ratio") and 'min="0"' in tag("ratio")
    assert 'type="date"' in tag("due") and 'min="2024-01-01"' in tag("due")
    assert 'type="time"' in tag("at")
    assert 'type="datetime-local"' in tag("when") and 'value="2026-03-01T09:30:00"' in tag("when")
    assert 'placeholder="PT30M"' in tag("wait")
    assert 'type="email"' in tag("contact")
    assert 'type="url"' in tag("site")
    assert 'pattern="^[A-Z]{3}$"' in tag("code")
    assert tag("color").startswith("<select")
    assert '<option value="green" selected>green</option>' in page
    assert '<input type="radio" name="size" value="M">' in page
    assert '<input type="checkbox" name="tags" value="finance" checked>' in page
    assert '<input type="checkbox" name="tags" value="legal">' in page
    assert tag("extra").startswith("<textarea") and tag("ids").startswith("<textarea")
    assert 'type="password"' in tag("password") and "hunter2" not in page


def test_a_refused_form_comes_back_with_errors_next_to_fields_and_values_kept(ui: UI) -> None:
    execution = ui.paused("every-input.yaml")
    ui.login()
    page = ui.page(execution)
    run = execution.paused_task_runs()[0]
    response = ui.client.post(
        f"/ui/executions/{execution.id}/decide",
        data={
            "_csrf": ui.csrf(page),
            "_task_run": run.id,
            "_choice": "reject",
            "copies": "42",
            "code": "abc",
            "color": "blue",
            "tags": ["urgent", "legal"],
            "extra": "{not json",
            "contact": "ada@example.com",
        },
    )
    assert response.status_code == 422
    text = response.text
    assert "Nothing was decided" in text
    prefix = f"d-{run.id}-reject"
    assert f'<p class="error" id="{prefix}-copies-error">must be at least' not in text
    assert (
        f'<p class="error" id="{prefix}-copies-error">must be at most 10, got &#39;42&#39;</p>'
        in text
    )
    assert f'id="{prefix}-code-error">must look like ABC, got &#39;abc&#39;' in text
    assert f'id="{prefix}-extra-error">expected valid JSON' in text
    described = " ".join(f"{prefix}-copies-{kind}" for kind in ("help", "hint", "error"))
    assert f'aria-describedby="{described}" aria-invalid="true"' in text
    # What was typed is still there, including the choices.
    assert 'value="42"' in text and 'value="abc"' in text and "{not json</textarea>" in text
    assert 'value="ada@example.com"' in text
    assert '<details class="outcome outcome-danger" name="decide-' + run.id + '" open>' in text
    assert '<option value="blue" selected>blue</option>' in text
    assert '<input type="checkbox" name="tags" value="urgent" checked>' in text
    assert '<input type="checkbox" name="tags" value="finance">' in text
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED


def test_a_valid_form_resumes_and_redirects(ui: UI) -> None:
    execution = ui.paused("every-input.yaml")
    ui.login("Ada")
    page = ui.page(execution)
    run = execution.paused_task_runs()[0]
    response = ui.client.post(
        f"/ui/executions/{execution.id}/resume",
        data={
            "_csrf": ui.csrf(page),
            "_task_run": run.id,
            "approved": "true",
            "copies": "3",
            "when": "2026-04-02T08:15",
            "tags": ["urgent", "legal"],
            "ids": "[1, 2]",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == ui.path(execution)
    after = ui.client.get(response.headers["location"]).text
    assert "Resumed. Thank you." in after
    # The message is shown once.
    assert "Resumed. Thank you." not in ui.client.get(ui.path(execution)).text
    finished = ui.engine.run_until_blocked(execution.id)
    assert finished.state.current == State.SUCCESS
    outputs = finished.task_run(run.id).outputs  # type: ignore[union-attr]
    assert outputs["resumed"]["by"] == {"id": "ui:Ada", "name": "Ada"}
    assert outputs["resumed"]["via"] == "ui"
    values = outputs["onResume"]
    assert (
        values["copies"] == 3 and values["tags"] == ["urgent", "legal"] and values["ids"] == [1, 2]
    )
    assert values["when"] == "2026-04-02T08:15:00Z"
    assert values["color"] == "green" and values["password"] == "hunter2"  # defaults applied
    final = ui.page(finished)
    assert "SUCCESS" in final and "approved by Ada" in final and "via ui" in final
    assert "copies=3" in final
    assert "Waiting for your decision" not in final


def test_losing_a_race_says_who_decided_first(ui: UI) -> None:
    execution = ui.paused("deploy_approval.yml")
    ui.login("Ada")
    page = ui.page(execution)
    run = execution.paused_task_runs()[0]
    ui.engine.resume_execution(
        execution.id, {"approved": False}, by={"id": "U2", "name": "Bob"}, via="slack"
    )
    response = ui.client.post(
        f"/ui/executions/{execution.id}/resume",
        data={"_csrf": ui.csrf(page), "_task_run": run.id, "approved": "true"},
    )
    assert response.status_code == 303
    after = ui.client.get(response.headers["location"]).text
    assert re.search(
        r'role="alert">Execution &#39;\w+&#39; was already resumed by Bob at [^<]+ via slack.</p>',
        after,
    )
    decided = ui.engine.get_execution(execution.id).task_run(run.id)
    assert decided is not None and decided.outputs["onResume"]["approved"] is False


def test_bulk_resume_resumes_the_selected_and_explains_the_rest(ui: UI) -> None:
    first, second = ui.paused(), ui.paused()
    ui.deploy("expense_approval.yml")
    done = ui.start("company.finance", "expense_approval", amount=1)
    assert done.state.current == State.SUCCESS
    ui.login("Ada")
    page = ui.client.get("/ui/executions").text
    response = ui.client.post(
        "/ui/executions/bulk-resume",
        data={
            "_csrf": ui.csrf(page),
            "_back": "/ui/executions?state=PAUSED",
            "ids": [first.id, second.id, done.id],
            "confirm": "yes",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/executions?state=PAUSED"
    after = ui.client.get(response.headers["location"]).text
    assert "Resumed 2 executions with their default values." in after
    assert f"{done.id}: Execution &#39;{done.id}&#39; is not paused" in after
    for execution in (first, second):
        run = ui.engine.get_execution(execution.id).taskRunList[1]
        assert run.outputs["resumed"]["via"] == "bulk"
        assert run.outputs["resumed"]["by"]["name"] == "Ada"
    nothing = ui.client.post("/ui/executions/bulk-resume", data={"_csrf": ui.csrf(page)})
    assert "Select at least one paused execution" in ui.client.get(nothing.headers["location"]).text


def test_kill_with_a_reason(ui: UI) -> None:
    execution = ui.paused()
    ui.login("Ada")
    page = ui.page(execution)
    response = ui.client.post(
        f"/ui/executions/{execution.id}/kill",
        data={"_csrf": ui.csrf(page), "reason": "wrong   version"},
    )
    assert response.status_code == 303
    killed = ui.engine.get_execution(execution.id)
    assert killed.state.current == State.KILLED
    assert killed.killReason == "wrong version"
    assert killed.killedBy == {"id": "ui:Ada", "name": "Ada"}
    after = ui.client.get(ui.path(execution)).text
    assert "Killed." in after and "Ada: wrong version" in after
    assert "Kill…" not in after and "Waiting for your decision" not in after
    again = ui.client.post(f"/ui/executions/{execution.id}/kill", data={"_csrf": ui.csrf(page)})
    assert "was already killed by Ada" in ui.client.get(again.headers["location"]).text


def test_pause_a_running_execution_and_resume_it_by_hand(ui: UI) -> None:
    flow = ui.deploy("deploy_approval.yml")
    created = ui.engine.start_execution(flow.namespace, flow.id)
    ui.login("Ada")
    page = ui.page(created)
    assert ">Pause</button>" in page
    assert 'http-equiv="refresh"' in page  # an execution on the move refreshes itself
    response = ui.client.post(f"/ui/executions/{created.id}/pause", data={"_csrf": ui.csrf(page)})
    assert response.status_code == 303
    paused = ui.engine.get_execution(created.id)
    assert paused.state.current == State.PAUSED and paused.pausedManually
    page = ui.client.get(ui.path(created)).text
    assert "Paused. Resume it when you are ready." in page
    assert "Paused by hand" in page and 'http-equiv="refresh"' not in page
    resumed = ui.client.post(f"/ui/executions/{created.id}/resume", data={"_csrf": ui.csrf(page)})
    assert resumed.status_code == 303
    assert ui.engine.get_execution(created.id).state.current == State.RUNNING


def test_user_text_is_escaped_everywhere(ui: UI) -> None:
    execution = ui.paused("hostile.yaml")
    ui.login("<i>Mallory</i>")
    text = ui.page(execution)
    assert (
        "<script>" not in text
        and "<img" not in text
        and "<b>Why?" not in text
        and "<i>Mallory" not in text
    )
    assert "&lt;script&gt;alert(&#39;input&#39;)&lt;/script&gt;" in text  # input, log, description
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;b&gt;Why?&lt;/b&gt;" in text
    assert "&lt;i&gt;Mallory&lt;/i&gt;" in text
    listing = ui.client.get("/ui/executions").text
    assert "<i>Mallory" not in listing
    ui.client.post(
        f"/ui/executions/{execution.id}/resume",
        data={
            "_csrf": ui.csrf(text),
            "_task_run": execution.paused_task_runs()[0].id,
            "reason": "</pre><script>x()</script>",
        },
    )
    finished = ui.engine.run_until_blocked(execution.id)
    page = ui.page(finished)
    assert "<script>x()" not in page
    assert str(escape('"reason": "</pre><script>x()</script>"')) in page  # pretty JSON outputs


def test_short_links_unknown_ids_and_wrong_paths(ui: UI) -> None:
    execution = ui.paused()
    ui.login()
    short = ui.client.get(f"/ui/executions/{execution.id}")
    assert short.status_code == 303 and short.headers["location"] == ui.path(execution)
    moved = ui.client.get(f"/ui/executions/wrong.ns/wrong_flow/{execution.id}")
    assert moved.status_code == 303 and moved.headers["location"] == ui.path(execution)
    missing = ui.client.get("/ui/executions/a.b/c/nope")
    assert missing.status_code == 404 and "Execution &#39;nope&#39; not found." in missing.text
    page = ui.page(execution)
    for action in ("resume", "pause", "kill"):
        response = ui.client.post(f"/ui/executions/nope/{action}", data={"_csrf": ui.csrf(page)})
        assert response.status_code == 404


def test_pages_carry_security_headers_and_static_files_are_served(ui: UI) -> None:
    ui.login()
    response = ui.client.get("/ui/executions")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    css = ui.client.get("/ui/static/ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ui.client.get("/ui/static/ui.js").headers["content-type"].startswith("text/javascript")
    for bad in ("nope.css", "..%2Froutes.py", ".hidden.css", "base.html"):
        assert ui.client.get(f"/ui/static/{bad}").status_code == 404, bad


# -- input no browser sends -----------------------------------------------------------------


def test_ids_and_filters_with_control_characters(ui_any: UI) -> None:
    ui = ui_any
    execution = ui.paused()
    ui.login()
    page = ui.page(execution)
    for path in ("/ui/executions/a%00b", "/ui/executions/a.b/c/a%00b", "/ui/executions/a%01b"):
        response = ui.client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert "Execution &#39;a" in response.text and "not found." in response.text
    for action in ("resume", "pause", "kill"):
        response = ui.client.post(f"/ui/executions/a%00b/{action}", data={"_csrf": ui.csrf(page)})
        assert response.status_code == 404, (action, response.text)
    for query in ("q=a%00b", "namespace=a%00b", "flow=a%00b"):
        response = ui.client.get(f"/ui/executions?state=&{query}")
        assert response.status_code == 400, (query, response.text)
        assert "Filters cannot contain control characters" in response.text
    bulk = ui.client.post(
        "/ui/executions/bulk-resume",
        data={
            "_csrf": ui.csrf(page),
            "_back": "/ui/executions",
            "ids": ["a\x00b", execution.id],
            "confirm": "yes",
        },
    )
    assert bulk.status_code == 303
    after = ui.client.get(bulk.headers["location"]).text
    assert "Resumed 1 execution with their default values." in after
    assert "Execution &#39;a" in after and "not found." in after
    assert ui.engine.get_execution(execution.id).state.current != State.PAUSED


def test_page_numbers_past_the_end_show_an_empty_list(ui_any: UI) -> None:
    ui_any.login()
    for page in ("9223372036854775807", "9" * 5000, "-3", "x"):
        response = ui_any.client.get(f"/ui/executions?state=&page={page}")
        assert response.status_code == 200, (page[:30], response.text)


def test_a_value_the_database_refuses_is_a_400_page(
    ui: UI, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Refused(Exception):
        def __str__(self) -> str:
            return "A string literal cannot contain NUL (0x00) characters.\nLINE 1: secret"

    def refuse(*args: object, **kwargs: object) -> None:
        raise DataError("SELECT 1 WHERE x = %(x)s", {"x": "hunter2"}, Refused())

    ui.login()
    monkeypatch.setattr(ui.engine, "search_executions", refuse)
    response = ui.client.get("/ui/executions")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "The database refused a value of this request" in response.text
    assert "cannot contain NUL" in response.text
    assert "hunter2" not in response.text and "secret" not in response.text


def test_secret_values_are_masked_on_the_execution_page(ui) -> None:  # type: ignore[no-untyped-def]
    engine = ui.engine
    engine.deploy_flow(
        "id: secret\nnamespace: n\ninputs:\n  - id: pw\n    type: SECRET\ntasks:\n"
        "  - id: ask\n    type: io.kestra.plugin.core.flow.Pause\n    onResume:\n"
        "      - id: otp\n        type: SECRET\n"
    )
    execution = engine.start_execution("n", "secret", {"pw": "hunter2"})
    engine.run_until_blocked(execution.id)
    engine.resume_execution(execution.id, {"otp": "987654"})
    engine.run_until_blocked(execution.id)
    ui.login()
    page = ui.client.get(f"/ui/executions/n/secret/{execution.id}")
    assert page.status_code == 200
    assert "hunter2" not in page.text and "987654" not in page.text
    assert "******" in page.text
