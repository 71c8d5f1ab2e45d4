"""/ui/flows (highlighted YAML, revisions, the Run form), styled error pages, bulk resume that
asks first, and the executions list sorted by deadline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.states import State

if TYPE_CHECKING:
    from tests.bot.ui.conftest import UI


def test_flows_list_and_a_flow_with_highlighted_yaml_and_revisions(ui: UI) -> None:
    ui.deploy("deploy_approval.yml")
    source = ui.engine.get_flow("company.platform", "deploy_approval").source
    ui.engine.deploy_flow(source.replace("defaults: checkout-api", "defaults: search"))
    ui.login()
    listing = ui.client.get("/ui/flows").text
    assert 'href="/ui/flows/company.platform/deploy_approval"' in listing
    assert "revision 2" in listing
    page = ui.client.get("/ui/flows/company.platform/deploy_approval").text
    assert '<div class="highlight"><pre>' in page and 'href="/ui/static/highlight.css"' in page
    assert '<span class="nt">namespace</span>' in page  # a YAML key, highlighted
    assert 'href="/ui/flows/company.platform/deploy_approval?revision=1#source"' in page
    assert "search" in page
    old = ui.client.get("/ui/flows/company.platform/deploy_approval?revision=1").text
    assert "checkout-api" in old and "(the latest is 2)" in old
    assert ui.client.get("/ui/static/highlight.css").status_code == 200


def test_the_run_form_validates_like_resume_and_starts_the_flow(ui: UI) -> None:
    ui.deploy("deploy_approval.yml")
    ui.login("Ada")
    page = ui.client.get("/ui/flows/company.platform/deploy_approval").text
    assert '<label for="run-service">service' in page
    assert "For example checkout-api" in page  # the default is the validator's example
    refused = ui.client.post(
        "/ui/flows/company.platform/deploy_approval/run",
        data={"_csrf": ui.csrf(page), "service": "Not A Service", "canary_percent": "250"},
    )
    assert refused.status_code == 422
    text = refused.text
    assert "Nothing was started" in text
    assert 'id="run-service-error">must look like checkout-api, got &#39;Not A Service&#39;' in text
    assert 'id="run-canary_percent-error">must be at most 100' in text
    assert 'value="Not A Service"' in text and 'value="250"' in text
    assert ui.engine.search_executions()[1] == 0
    started = ui.client.post(
        "/ui/flows/company.platform/deploy_approval/run",
        data={"_csrf": ui.csrf(page), "service": "billing", "canary_percent": "5"},
    )
    assert started.status_code == 303
    executions, total = ui.engine.search_executions()
    assert total == 1 and started.headers["location"] == ui.path(executions[0])
    assert executions[0].inputs["service"] == "billing" and executions[0].startedVia == "ui"
    assert executions[0].startedBy == {"id": "ui:Ada", "name": "Ada"}


def test_unknown_pages_are_styled_never_json(ui: UI) -> None:
    for path in ("/ui/nope", "/ui/flows/a/b", "/ui/flows/a", "/ui/executions/a/b/c/d"):
        response = ui.client.get(path)
        assert response.status_code in (303, 404), path  # not signed in: to the login page
    ui.login()
    for path in ("/ui/nope", "/ui/flows/a/b", "/ui/flows/a", "/ui/executions/a/b/c/d"):
        response = ui.client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "<h1>Not found</h1>" in response.text and '{"detail"' not in response.text
        assert response.headers["content-security-policy"]
    assert ui.client.post("/ui/nope", data={}).status_code == 404


def test_bulk_resume_asks_first_naming_count_and_values(ui: UI) -> None:
    first, second = ui.paused(), ui.paused()
    ui.login()
    listing = ui.client.get("/ui/executions").text
    assert "Resume selected…" in listing and "with their defaults" not in listing
    ask = ui.client.post(
        "/ui/executions/bulk-resume",
        data={"_csrf": ui.csrf(listing), "_back": "/ui/executions", "ids": [first.id, second.id]},
    )
    assert ask.status_code == 200
    page = ask.text
    assert "<h1>Resume 2 executions?</h1>" in page
    assert "2 of them will be decided by a default nobody picked" in page
    assert "gets <strong>approved = Yes</strong>" in page
    assert "<dt>window</dt><dd>now</dd>" in page
    assert 'name="confirm" value="yes"' in page and "Resume 2 with these values" in page
    for execution in (first, second):
        assert ui.engine.get_execution(execution.id).state.current == State.PAUSED
    done = ui.client.post(
        "/ui/executions/bulk-resume",
        data={
            "_csrf": ui.csrf(page),
            "_back": "/ui/executions",
            "ids": [first.id, second.id],
            "confirm": "yes",
        },
    )
    assert done.status_code == 303
    assert ui.engine.get_execution(first.id).state.current != State.PAUSED


def test_paused_executions_are_sorted_by_deadline(ui: UI) -> None:
    ui.engine.deploy_flow(
        "id: soon\nnamespace: t\ntasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Pause\n"
        "    pauseDuration: PT1H\n"
    )
    ui.engine.deploy_flow(
        "id: late\nnamespace: t\ntasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Pause\n"
        "    pauseDuration: P2D\n"
    )
    never = ui.paused("pause_resume.yml")
    late = ui.start("t", "late")
    soon = ui.start("t", "soon")
    ui.login()
    page = ui.client.get("/ui/executions").text
    order = [i for i in (soon.id, late.id, never.id) if i in page]
    assert sorted(order, key=page.index) == [soon.id, late.id, never.id]
    assert "soonest deadline first" in page and "(in 1 h)" in page
