"""FILE inputs in the web UI: an approver attaches a signed document to a decision, and a flow
with a FILE input runs from its Run form; the file lands in pausebot's storage and the decision
(or the execution's inputs) keeps its kestra:/// URI."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.bot.ui.conftest import UI

SIGN_OFF = """\
id: sign_off
namespace: test.files
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approved
        type: BOOLEAN
        defaults: true
      - id: signed
        type: FILE
        description: The signed change request
"""

UPLOAD = """\
id: upload
namespace: test.files
inputs:
  - id: plan
    type: FILE
tasks:
  - id: size
    type: io.kestra.plugin.core.log.Log
    message: "{{ fileSize(inputs.plan) }} bytes"
"""


def test_an_approver_attaches_a_file_to_the_decision(ui: UI) -> None:
    flow = ui.engine.deploy_flow(SIGN_OFF).flow
    execution = ui.start(flow.namespace, flow.id)
    run = execution.paused_task_runs()[0]
    ui.login("Ada")
    page = ui.page(execution)
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input id="[^"]*" name="signed" type="file" required', page), page
    response = ui.client.post(
        f"/ui/executions/{execution.id}/decide",
        data={"_csrf": ui.csrf(page), "_task_run": run.id, "_choice": "approve"},
        files={"signed": ("change.pdf", b"%PDF-1.7 signed by Ada", "application/pdf")},
    )
    assert response.status_code == 303, response.text
    decided = ui.engine.get_execution(execution.id).task_run(run.id)
    assert decided is not None
    uri = decided.outputs["onResume"]["signed"]
    assert uri.startswith("kestra:///") and uri.endswith("change.pdf"), uri
    name, content = ui.engine.execution_file(execution.id, uri)
    assert (name, content) == ("change.pdf", b"%PDF-1.7 signed by Ada")


def test_a_required_file_left_empty_is_a_field_error_and_decides_nothing(ui: UI) -> None:
    flow = ui.engine.deploy_flow(SIGN_OFF).flow
    execution = ui.start(flow.namespace, flow.id)
    run = execution.paused_task_runs()[0]
    ui.login("Ada")
    page = ui.page(execution)
    response = ui.client.post(
        f"/ui/executions/{execution.id}/decide",
        data={"_csrf": ui.csrf(page), "_task_run": run.id, "_choice": "approve"},
        files={"signed": ("", b"", "application/octet-stream")},  # what a browser sends
    )
    assert response.status_code in (303, 422), response.text
    shown = (
        response.text
        if response.status_code == 422
        else ui.client.get(response.headers["location"]).text
    )
    assert "signed" in shown
    assert ui.engine.get_execution(execution.id).task_run(run.id).state.current.value == "PAUSED"


def test_a_flow_with_a_file_input_runs_from_its_form(ui: UI) -> None:
    ui.engine.deploy_flow(UPLOAD)
    ui.login("Ada")
    form = ui.client.get("/ui/flows/test.files/upload")
    assert form.status_code == 200 and 'type="file"' in form.text
    assert 'enctype="multipart/form-data"' in form.text
    response = ui.client.post(
        "/ui/flows/test.files/upload/run",
        data={"_csrf": ui.csrf(form.text)},
        files={"plan": ("plan.txt", b"twelve bytes", "text/plain")},
    )
    assert response.status_code == 303, response.text
    execution_id = response.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    execution = ui.engine.run_until_blocked(execution_id)
    assert execution.inputs["plan"].startswith("kestra:///")
    assert any("12 bytes" in e.message for e in ui.engine.logs(execution_id))
