"""Fixtures of the web UI tests: an app with the UI router on a SQLite engine (the UI never
touches the database itself, so one backend is enough), clients logged in or not, and helpers
to get executions into the states the pages care about."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from standin import StandIn
from support import EXAMPLES

from bot.config import Settings
from bot.links import LinkSigner
from bot.ui.routes import router
from engine.clock import ManualClock
from engine.engine import Engine
from engine.flows import Flow
from engine.model import Execution

with warnings.catch_warnings():
    # Starlette 1.x warns at import time that it prefers httpx2; the client works with httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

HERE = Path(__file__).parent
API_TOKEN = "ui-test-token-0123456789"
LINK_SECRET = b"ui-test-link-secret-0123456789"


def make_app(engine: Engine, *, api_token: str | None = API_TOKEN) -> FastAPI:
    """The parts of bot/server.py's app the UI relies on: its router and three state objects."""
    app = FastAPI()
    app.include_router(router)
    app.state.engine = engine
    app.state.settings = Settings(
        api_token=SecretStr(api_token) if api_token else None,
        public_url="http://testserver",
    )
    app.state.links = LinkSigner(LINK_SECRET, timedelta(days=7))
    return app


class UI:
    """Helpers for a test: the engine, the HTTP client and ways to get executions ready."""

    token = API_TOKEN

    def __init__(self, engine: Engine, client: TestClient, standin_url: str) -> None:
        self.engine = engine
        self.client = client
        self.standin_url = standin_url

    def login(self, name: str = "Ada", token: str = API_TOKEN) -> None:
        response = self.client.post(
            "/ui/login", data={"token": token, "name": name, "next": "/ui/executions"}
        )
        assert response.status_code == 303, response.text

    def deploy(self, name: str) -> Flow:
        """A flow of tests/bot/ui/flows, else of examples/ (calling the stand-in, not port 8899)."""
        local = HERE / "flows" / name
        source = (local if local.exists() else EXAMPLES / name).read_text()
        return self.engine.deploy_flow(
            source.replace("http://127.0.0.1:8899", self.standin_url)
        ).flow

    def start(self, namespace: str, flow_id: str, **inputs: Any) -> Execution:
        """Starts an execution and runs it until it pauses or ends."""
        execution = self.engine.start_execution(
            namespace, flow_id, inputs, by={"id": "U1", "name": "Grace"}, via="cli"
        )
        return self.engine.run_until_blocked(execution.id)

    def paused(self, name: str = "deploy_approval.yml", **inputs: Any) -> Execution:
        flow = self.deploy(name)
        execution = self.start(flow.namespace, flow.id, **inputs)
        assert execution.state.current.value == "PAUSED", execution.state.current
        return execution

    @staticmethod
    def csrf(html: str) -> str:
        match = re.search(r'name="_csrf" value="([^"]+)"', html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    @staticmethod
    def path(execution: Execution) -> str:
        return f"/ui/executions/{execution.namespace}/{execution.flowId}/{execution.id}"

    def page(self, execution: Execution) -> str:
        response = self.client.get(self.path(execution))
        assert response.status_code == 200, response.text
        return response.text

    def link(self, execution: Execution, action: str = "approve") -> str:
        run = execution.paused_task_runs()[0]
        signer: LinkSigner = self.client.app.state.links  # type: ignore[attr-defined]
        return signer.mint(execution.id, run.id, action, now=self.engine.clock.now())


@pytest.fixture
def app_factory() -> Callable[..., FastAPI]:
    return make_app


@pytest.fixture
def api_token() -> str:
    return API_TOKEN


@pytest.fixture
def ui_engine(sqlite_url: str, clock: ManualClock) -> Iterator[Engine]:
    engine = Engine(sqlite_url, clock=clock, http_timeout=5.0)
    yield engine
    engine.close()


@pytest.fixture
def app(ui_engine: Engine) -> FastAPI:
    return make_app(ui_engine)


@pytest.fixture(scope="session")
def shared_standin() -> Iterator[StandIn]:
    """One stand-in for the whole session: stopping one takes half a second."""
    server = StandIn().start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def ui(app: FastAPI, ui_engine: Engine, shared_standin: StandIn) -> Iterator[UI]:
    with TestClient(app, follow_redirects=False) as client:
        yield UI(ui_engine, client, shared_standin.url)


@pytest.fixture
def ui_any(database_url: str, clock: ManualClock, shared_standin: StandIn) -> Iterator[UI]:
    """The UI on SQLite and on PostgreSQL, for input PostgreSQL refuses (NUL in text) where
    SQLite finds nothing."""
    engine = Engine(database_url, clock=clock, http_timeout=5.0)
    try:
        with TestClient(make_app(engine), follow_redirects=False) as client:
            yield UI(engine, client, shared_standin.url)
    finally:
        engine.close()


@pytest.fixture
def client_with_token(ui_engine: Engine) -> Iterator[Callable[[str | None], TestClient]]:
    """A client of an app on the same engine with another (or no) API token."""
    with ExitStack() as stack:

        def make(api_token: str | None) -> TestClient:
            app = make_app(ui_engine, api_token=api_token)
            return stack.enter_context(TestClient(app, follow_redirects=False))

        yield make
