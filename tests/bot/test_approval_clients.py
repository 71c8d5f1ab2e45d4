"""The clients of approval requests against the real service on a free port: the Python client
(sync and async) and its callback verifier, ``pausebot approvals`` as a subprocess (its exit
status follows the decision), and ``pausebot mcp`` driven by the MCP SDK's own stdio client.
Decisions are made through the engine's review (Slack: tests/bot/slack/test_approval_requests.py)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from api_support import settings_for
from approvals_support import (
    APPROVALS_TOKEN,
    CALLBACK_SECRET,
    SCOPED_TOKENS,
    callback_receiver,
    served,
)

from bot.client import (
    ApprovalError,
    AsyncPausebotClient,
    InvalidSignature,
    PausebotClient,
    parse_input_option,
    verify_callback,
)
from bot.server import create_app
from engine.engine import Engine

PAUSEBOT = [str(Path(sys.executable).with_name("pausebot"))]


@dataclass
class Live:
    url: str
    engine: Engine

    def pending(self, timeout: float = 20.0) -> list[tuple[str, str]]:
        """(execution id, task run id) of the approval requests waiting, once there is one."""
        deadline = time.monotonic() + timeout
        while True:
            executions, _ = self.engine.search_executions(
                namespace="pausebot.approvals", states=["PAUSED"]
            )
            found = [
                (e.id, w.task_run_id)
                for e in executions
                for w in self.engine.waiting_tasks(e)
                if w.task_run_id
            ]
            if found:
                return found
            assert time.monotonic() < deadline, "no approval request is waiting"
            time.sleep(0.05)

    def decide(self, choice: str, **kwargs: Any) -> str:
        execution_id, run_id = self.pending()[0]
        self.engine.decide_waiting(
            execution_id, run_id, choice, by={"id": "U1", "name": "Ada"}, via="api", **kwargs
        )
        return execution_id


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    (tmp_path / "flows").mkdir()
    settings = settings_for(
        f"sqlite:///{tmp_path / 'live.db'}",
        tmp_path / "flows",
        api_tokens=SCOPED_TOKENS,
        callback_secret=CALLBACK_SECRET,
    )
    app = create_app(settings)
    app.state.callbacks.base_delay = 0.05
    with served(app) as url:
        yield Live(url, app.state.engine)


def later(seconds: float, action: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- the Python client -------------------------------------------------------------------------


def test_the_sync_client_asks_waits_and_verifies_the_callback(live: Live) -> None:
    with (
        callback_receiver(fail_first=1) as receiver,
        PausebotClient(live.url, APPROVALS_TOKEN) as client,
    ):
        asked = client.request_approval(
            "Rotate the database password?",
            description="It restarts **every** worker.",
            inputs=[parse_input_option("when:SELECT(now|tonight)=tonight")],
            comment_required="ON_DENY",
            timeout="PT1H",
            labels={"team": "db"},
            idempotency_key="rotate-1",
            callback_url=receiver.url,
        )
        assert asked.state == "PENDING" and not asked.is_final
        assert set(asked.links or {}) == {"approve", "deny"}
        again = client.request_approval(
            "Rotate the database password?",
            description="It restarts **every** worker.",
            inputs=[parse_input_option("when:SELECT(now|tonight)=tonight")],
            comment_required="ON_DENY",
            timeout="PT1H",
            labels={"team": "db"},
            idempotency_key="rotate-1",
            callback_url=receiver.url,
        )
        assert again.id == asked.id
        assert [a.id for a in client.list_approvals(state="PENDING")] == [asked.id]
        later(0.3, lambda: live.decide("approve", values={"when": "now"}, comment="ok"))
        decided = client.wait(asked, timeout=30)
        assert decided.approved and decided.decision == "APPROVED"
        assert decided.by == "Ada" and decided.comment == "ok"
        assert decided.inputs == {"when": "now"}
        received = receiver.wait_for(2)
    event = verify_callback(CALLBACK_SECRET, received[1].headers, received[1].body)
    assert event["type"] == "approval.approved"
    assert event["approval"]["inputs"] == {"when": "now"}
    with pytest.raises(InvalidSignature):
        verify_callback(CALLBACK_SECRET, received[1].headers, received[1].body + b" ")
    with pytest.raises(InvalidSignature):
        verify_callback("another-secret-0123456789", received[1].headers, received[1].body)
    with pytest.raises(InvalidSignature):
        verify_callback(
            CALLBACK_SECRET, received[1].headers, received[1].body, now=time.time() + 3600
        )


def test_the_client_reports_refusals(live: Live) -> None:
    with PausebotClient(live.url, APPROVALS_TOKEN) as client:
        with pytest.raises(ApprovalError) as bad:
            client.request_approval("x", timeout="soon")
        assert bad.value.status == 422 and bad.value.errors[0]["path"] == "timeout"
        with pytest.raises(ApprovalError) as missing:
            client.get_approval("nope")
        assert missing.value.status == 404
    with PausebotClient(live.url, "not-a-token-0123456789") as client:
        with pytest.raises(ApprovalError) as unauthorized:
            client.list_approvals()
        assert unauthorized.value.status == 401
    with PausebotClient("http://127.0.0.1:9", APPROVALS_TOKEN, retries=0) as client:
        with pytest.raises(ApprovalError) as unreachable:
            client.list_approvals()
        assert unreachable.value.status == 0


def test_the_async_client(live: Live) -> None:
    async def scenario() -> None:
        async with AsyncPausebotClient(live.url, APPROVALS_TOKEN) as client:
            asked = await client.request_approval("Send the newsletter?")
            pending = await client.wait(asked, timeout=0.2)
            assert pending.state == "PENDING"
            cancelled = await client.cancel(asked.id, reason="typo in it")
            assert cancelled.state == "CANCELLED"
            second = await client.request_approval("Send the fixed newsletter?")
            later(0.3, lambda: live.decide("deny"))
            denied = await client.wait(second.id, timeout=30)
            assert denied.state == "DENIED" and not denied.approved

    asyncio.run(scenario())


def test_parse_input_option() -> None:
    assert parse_input_option("reason:STRING") == {"id": "reason", "type": "STRING"}
    assert parse_input_option("n:int=3") == {"id": "n", "type": "INT", "defaults": "3"}
    assert parse_input_option("ok:BOOLEAN=true") == {
        "id": "ok",
        "type": "BOOLEAN",
        "defaults": True,
    }
    assert parse_input_option("w:SELECT(a|b)=b") == {
        "id": "w",
        "type": "SELECT",
        "values": ["a", "b"],
        "defaults": "b",
    }
    for bad in ("nocolon", ":STRING", "x:SELECT(a|b"):
        with pytest.raises(ValueError):
            parse_input_option(bad)


# -- the CLI ---------------------------------------------------------------------------------------


def cli(live: Live, *args: str, token: str = APPROVALS_TOKEN) -> subprocess.Popen[str]:
    env = {**os.environ, "PAUSEBOT_URL": live.url, "PAUSEBOT_API_TOKEN": token}
    return subprocess.Popen(
        [*PAUSEBOT, "approvals", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


@pytest.mark.parametrize(
    ("choice", "status", "line"),
    [("approve", 0, "APPROVED by Ada"), ("deny", 7, "DENIED by Ada")],
)
def test_the_cli_exit_status_follows_the_decision(
    live: Live, choice: str, status: int, line: str
) -> None:
    process = cli(
        live,
        "request",
        "--title",
        "Ship 2.4?",
        "--input",
        "window:SELECT(now|tonight)=now",
        "--wait",
    )
    live.decide(choice, values={"window": "tonight"} if choice == "approve" else {})
    code, out, err = finish(process)
    assert code == status, err
    assert out.startswith(line)
    assert "Waiting for a decision on" in err
    if choice == "approve":
        assert 'window="tonight"' in out


def test_the_cli_exit_status_when_expired_cancelled_or_still_pending(live: Live) -> None:
    code, out, _ = finish(cli(live, "request", "--title", "t", "--timeout", "PT0.5S", "--wait"))
    assert code == 8 and out.startswith("EXPIRED")
    process = cli(live, "request", "--title", "c", "--wait", "--json")
    execution_id, _ = live.pending()[0]
    live.engine.kill_execution(execution_id, by={"id": "x", "name": "x"}, via="api")
    code, out, _ = finish(process)
    assert code == 9 and json.loads(out)["state"] == "CANCELLED"
    code, out, _ = finish(
        cli(live, "request", "--title", "p", "--wait", "--wait-timeout", "PT0.3S")
    )
    assert code == 10 and out.startswith("PENDING")


def test_the_cli_refuses_clearly(live: Live) -> None:
    code, _, err = finish(cli(live, "request", "--title", "t", "--input", "bad"))
    assert code == 2 and "name:TYPE" in err
    code, _, err = finish(cli(live, "request", "--title", "t", "--input", "x:NOPE"))
    assert code == 2 and "inputs.0" in err and "Traceback" not in err
    code, _, err = finish(cli(live, "get", "missing-id"))
    assert code == 3
    code, _, err = finish(cli(live, "list", token="wrong-token-0123456789"))
    assert code == 1 and "Invalid bearer token" in err
    code, out, _ = finish(cli(live, "request", "--title", "listed", "--label", "k=v"))
    assert code == 0 and out.startswith("PENDING")
    code, out, _ = finish(cli(live, "list", "--state", "PENDING", "--label", "k=v"))
    assert code == 0 and "listed" in out


# -- the MCP server ----------------------------------------------------------------------------


def _structured(result: Any) -> Any:
    assert not result.is_error, result.content
    data = result.structured_content
    return data.get("result", data) if isinstance(data, dict) and set(data) == {"result"} else data


def test_an_mcp_client_asks_and_reads_the_decision(live: Live) -> None:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=PAUSEBOT[0],
        args=["mcp"],
        env={"PAUSEBOT_URL": live.url, "PAUSEBOT_API_TOKEN": APPROVALS_TOKEN},
    )

    async def scenario(quiet: Any) -> None:
        async with stdio_client(params, errlog=quiet) as (read, write):  # noqa: SIM117
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {tool.name for tool in (await session.list_tools()).tools}
                assert tools == {"request_approval", "get_approval", "list_pending"}
                asked = _structured(
                    await session.call_tool(
                        "request_approval",
                        {
                            "title": "Delete the staging bucket?",
                            "inputs": [{"id": "keep_days", "type": "INT", "defaults": 7}],
                            "idempotency_key": "agent-step-3",
                        },
                    )
                )
                assert asked["state"] == "PENDING"
                pending = _structured(await session.call_tool("list_pending", {}))
                assert [p["id"] for p in pending] == [asked["id"]]
                await asyncio.to_thread(live.decide, "approve", values={"keep_days": 3})
                read_back = _structured(
                    await session.call_tool(
                        "get_approval", {"approval_id": asked["id"], "wait_seconds": 30}
                    )
                )
                assert read_back["state"] == "APPROVED"
                assert read_back["inputs"] == {"keep_days": 3}
                refused = await session.call_tool("get_approval", {"approval_id": "nope"})
                assert refused.is_error

    with open(os.devnull, "w") as quiet:
        asyncio.run(scenario(quiet))


# -- the agent example (examples/agent_approval.py) -----------------------------------------------


def test_the_agent_example_runs_the_tool_only_when_approved(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent_approval

    monkeypatch.setenv("PAUSEBOT_URL", live.url)
    monkeypatch.setenv("PAUSEBOT_API_TOKEN", APPROVALS_TOKEN)
    later(0.2, lambda: live.decide("approve", values={"keep_days": 3}))
    assert agent_approval.delete_bucket("staging-assets") == (
        "deleted staging-assets, backups kept 3 days"
    )
    later(0.2, lambda: live.decide("deny", comment="still in use"))
    with pytest.raises(agent_approval.NotApproved, match="DENIED by Ada"):
        agent_approval.delete_bucket("prod-assets")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_mcp_server_over_streamable_http(live: Live) -> None:
    import socket

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    env = {**os.environ, "PAUSEBOT_URL": live.url, "PAUSEBOT_API_TOKEN": APPROVALS_TOKEN}
    server = subprocess.Popen(
        [*PAUSEBOT, "mcp", "--transport", "streamable-http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None and time.monotonic() < deadline, "mcp did not listen"
            time.sleep(0.1)

        async def scenario() -> None:
            url = f"http://127.0.0.1:{port}/mcp"
            async with streamable_http_client(url) as (read, write):  # noqa: SIM117
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    tools = {tool.name for tool in (await session.list_tools()).tools}
                    assert tools == {"request_approval", "get_approval", "list_pending"}
                    asked = _structured(
                        await session.call_tool("request_approval", {"title": "Over HTTP?"})
                    )
                    assert asked["state"] == "PENDING"

        asyncio.run(scenario())
    finally:
        server.terminate()
        server.wait(timeout=20)
