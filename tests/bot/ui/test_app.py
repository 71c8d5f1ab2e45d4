"""The UI inside the real service (bot/server.py's create_app), not only the test app."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from support import EXAMPLES

from bot.config import Settings
from engine.engine import Engine
from engine.states import State

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

# A Pause whose description carries the link the flow hands out (e.g. in an e-mail).
LINK_FLOW = """
id: link_in_description
namespace: test.ui
tasks:
  - id: ask
    type: io.kestra.plugin.core.flow.Pause
    description: "Approve here: {{ pause.approveUrl }}"
    onResume:
      - id: approved
        type: BOOLEAN
        defaults: false
"""


def _log_in(service: TestClient, api_token: str) -> None:
    login = service.post("/ui/login", data={"token": api_token, "name": "Ada"})
    # Behind https (PAUSEBOT_PUBLIC_URL) the cookie is Secure, so the client, speaking plain
    # http to the test server, would not send it back by itself.
    assert "Secure" in login.headers["set-cookie"]
    service.cookies.set("pausebot_ui", login.cookies["pausebot_ui"], path="/ui")


@pytest.fixture
def service(tmp_path: Path, ui_engine: Engine, api_token: str) -> Iterator[TestClient]:
    from bot.server import create_app

    (tmp_path / "flows").mkdir()
    settings = Settings(
        api_token=SecretStr(api_token),
        public_url="https://pausebot.example",
        flows_dir=tmp_path / "flows",
        max_body_bytes=10_000,
    )
    app = create_app(settings, engine=ui_engine, start_runner=False)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_the_service_serves_the_ui_and_the_link_a_flow_hands_out(
    service: TestClient, ui_engine: Engine, api_token: str
) -> None:
    ui_engine.deploy_flow(LINK_FLOW)
    started = ui_engine.start_execution("test.ui", "link_in_description")
    execution = ui_engine.run_until_blocked(started.id)
    run = execution.paused_task_runs()[0]
    match = re.search(r"https://pausebot\.example(/resume/\S+)", run.description or "")
    assert match, run.description
    link = match.group(1)

    assert service.get("/ui/executions").status_code == 303
    _log_in(service, api_token)
    page = service.get(f"/ui/executions/{execution.id}", follow_redirects=True)
    assert page.status_code == 200 and "Waiting for your decision" in page.text

    shown = service.get(link)
    assert shown.status_code == 200 and "Approve this request?" in shown.text
    decided = service.post(link, json={})
    assert decided.status_code == 200 and decided.json()["state"] == "RUNNING"
    outputs: dict[str, Any] = ui_engine.get_execution(execution.id).taskRunList[0].outputs
    assert outputs["onResume"]["approved"] is True  # the link's action, not the default
    assert service.post(link, json={}).status_code == 410
    assert ui_engine.run_until_blocked(execution.id).state.current == State.SUCCESS


def test_the_services_body_limit_covers_the_link_endpoint(service: TestClient) -> None:
    response = service.post("/resume/whatever", content=b"x" * 20_000)
    assert response.status_code == 413


def test_seed_examples_render(service: TestClient, ui_engine: Engine, api_token: str) -> None:
    """Every example flow that pauses gets a page with a form."""
    _log_in(service, api_token)
    for path in sorted(EXAMPLES.glob("*.yml")):
        if "8899" in path.read_text():
            continue  # these call the stand-in; test_links and test_browser cover them
        flow = ui_engine.deploy_flow(path.read_text()).flow
        execution = ui_engine.run_until_blocked(
            ui_engine.start_execution(flow.namespace, flow.id).id
        )
        page = service.get(f"/ui/executions/{execution.id}", follow_redirects=True)
        assert page.status_code == 200, path
        if execution.state.current == State.PAUSED:
            assert "Waiting for your decision" in page.text or "Paused by hand" in page.text
