"""Socket Mode: `pausebot serve --socket-mode` connects over a WebSocket (from
``apps.connections.open``, asked of SLACK_API_URL with the app token) and serves the same
listeners, acknowledging each envelope."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from fake_slack import FakeSlack
from slack_harness import SlackHarness, text_of

from engine.engine import Engine


class SocketServer:
    """A WebSocket endpoint like Slack's: says hello, pushes envelopes, collects the acks."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.outbox: asyncio.Queue[dict[str, Any]] | None = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> SocketServer:
        self._thread.start()
        assert self.ready.wait(5)
        return self

    def send(self, envelope: dict[str, Any]) -> None:
        assert self.outbox is not None
        self.loop.call_soon_threadsafe(self.outbox.put_nowait, envelope)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.outbox = asyncio.Queue()
        app = web.Application()
        app.router.add_get("/link", self._link)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/link"
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        assert self.outbox is not None

        async def push() -> None:
            while True:
                await socket.send_str(json.dumps(await self.outbox.get()))  # type: ignore[union-attr]

        pusher = asyncio.ensure_future(push())
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            pusher.cancel()
        return socket


@pytest.fixture
def socket_server() -> Iterator[SocketServer]:
    server = SocketServer().start()
    yield server
    server.stop()


def test_socket_mode_serves_slash_commands(
    socket_server: SocketServer,  # first: torn down after the service disconnected
    make_slack: Callable[..., SlackHarness],
    sqlite_engine: Engine,
    fake_slack: FakeSlack,
) -> None:
    fake_slack.socket_url = socket_server.url
    slack = make_slack(sqlite_engine, slack_app_token="xapp-test-token", socket_mode=True)
    opened = fake_slack.wait_for("apps.connections.open")[0]
    assert opened.headers["Authorization"] == "Bearer xapp-test-token"
    assert socket_server.connected.wait(5)
    socket_server.send(
        {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "team_id": "T0TEAM",
                "channel_id": "C0CHAN",
                "user_id": "U1",
                "user_name": "ada",
                "command": "/paused",
                "text": "payload",
                "api_app_id": "A0APP",
                "response_url": fake_slack.response_url("socket"),
                "trigger_id": "t-1",
            },
        }
    )
    answer = slack.responses()[0].params
    assert "Nothing waiting matches `payload`" in text_of(answer["blocks"])
    deadline = time.monotonic() + 5
    while not any(a.get("envelope_id") == "env-1" for a in socket_server.acks):
        assert time.monotonic() < deadline, socket_server.acks
        time.sleep(0.02)
