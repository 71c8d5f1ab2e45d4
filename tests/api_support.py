"""Helpers of the HTTP service tests (tests/bot/api): a client wrapper that adds the bearer
token, waits for the runner and finds resume links; importable thanks to pytest's pythonpath."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from support import EXAMPLES

from bot.config import Settings
from engine.engine import Engine

with warnings.catch_warnings():
    # Starlette 1.x warns at import time that it prefers httpx2; the client works with httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

HERE = Path(__file__).parent / "bot" / "api"
TOKEN = "api-test-token-0123456789"
LINK_SECRET = "api-test-link-secret-0123456789"
PUBLIC_URL = "http://pausebot.test"
TERMINAL = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED")


def form(**fields: Any) -> list[tuple[str, tuple[None, str]]]:
    """Multipart form fields, as ``curl -F name=value`` sends them."""
    items: list[tuple[str, tuple[None, str]]] = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((name, (None, str(one))))
    return items


class Api:
    """The app, its client, and the requests a test repeats."""

    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self.app = app
        self.client = client

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.engine
        return engine

    def request(
        self, method: str, path: str, *, token: str | None = TOKEN, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def deploy(self, name_or_source: str, **replace: str) -> dict[str, Any]:
        """A flow of tests/bot/api/flows or examples/ by file name, or YAML text."""
        source = name_or_source
        if "\n" not in name_or_source:
            local = HERE / "flows" / name_or_source
            source = (local if local.exists() else EXAMPLES / name_or_source).read_text()
        for old, new in replace.items():
            source = source.replace(old, new)
        response = self.post(
            "/api/v1/flows", content=source, headers={"Content-Type": "application/x-yaml"}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def start(self, namespace: str, flow_id: str, **kwargs: Any) -> dict[str, Any]:
        response = self.post(f"/api/v1/executions/{namespace}/{flow_id}", **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def execution(self, execution_id: str) -> dict[str, Any]:
        response = self.get(f"/api/v1/executions/{execution_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, execution_id: str, *states: str, timeout: float = 10.0) -> dict[str, Any]:
        """Polls until the runner has brought the execution into one of ``states``."""
        wanted = states or TERMINAL
        deadline = time.monotonic() + timeout
        while True:
            execution = self.execution(execution_id)
            if execution["state"]["current"] in wanted:
                return execution
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{execution_id} is {execution['state']['current']}, not {wanted}"
                )
            time.sleep(0.01)

    def paused(self, name: str, **inputs: Any) -> dict[str, Any]:
        """Deploys a flow file, starts it with JSON inputs and waits for it to pause."""
        flow = self.deploy(name)
        started = self.start(flow["namespace"], flow["id"], json=inputs)
        return self.wait(started["id"], "PAUSED")

    def logs(self, execution_id: str) -> list[str]:
        response = self.get(f"/api/v1/logs/{execution_id}")
        assert response.status_code == 200, response.text
        return [entry["message"] for entry in response.json()]

    def wait_for_log(self, execution_id: str, prefix: str, timeout: float = 10.0) -> str:
        """A log line; tasks dispatched beside a Pause may still run when the execution is PAUSED."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.logs(execution_id) if line.startswith(prefix)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line starting with {prefix!r}")
            time.sleep(0.01)

    @staticmethod
    def paused_run(execution: dict[str, Any], task_id: str | None = None) -> dict[str, Any]:
        return next(
            run
            for run in execution["taskRunList"]
            if run["state"]["current"] == "PAUSED" and task_id in (None, run["taskId"])
        )

    @staticmethod
    def tokens(text: str) -> list[str]:
        """The tokens of the resume links in ``text``."""
        return re.findall(re.escape(PUBLIC_URL) + r"/resume/([A-Za-z0-9_.-]+)", text)


def settings_for(database_url: str, flows_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "api_token": TOKEN,
        "link_secret": LINK_SECRET,
        "public_url": PUBLIC_URL,
        "flows_dir": flows_dir,
        "runner_workers": 2,
    }
    values.update(overrides)
    return Settings(**values)
