"""Fixtures of the Slack bot tests: a fake Slack Web API on a loopback port and the real service
(``bot.server.create_app``) configured to talk to it, driven through signed requests."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

# The helpers next to these tests (importable modules, not test files).
sys.path.insert(0, str(Path(__file__).parent))

from fake_slack import FakeSlack, slack_user
from slack_harness import SIGNING_SECRET, SlackHarness

from bot.config import load_settings
from bot.server import create_app
from engine.clock import ManualClock
from engine.engine import Engine

with warnings.catch_warnings():
    # Starlette 1.x warns at import time that it prefers httpx2; the client works with httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

DEFAULT_CHANNEL = "C0DEFAULT"
PUBLIC_URL = "https://pausebot.test"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(
        users={
            "U1": slack_user("U1", "Ada Lovelace", email="ada@example.com", display="Ada"),
            "U2": slack_user("U2", "Bob Builder", email="bob@example.com"),
            "U3": slack_user("U3", "Cy Young", email="cy@example.com"),
        },
        groups={"S0SRE0001": {"handle": "sre", "users": ["U2"]}},
    ).start()
    yield fake
    fake.stop()


@pytest.fixture
def make_slack(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Callable[..., SlackHarness]]:
    """The service around ``engine`` (its lifespan entered: the notifier runs), Slack configured."""
    flows_dir = tmp_path / "no-flows"
    flows_dir.mkdir()
    with ExitStack() as stack:

        def make(engine: Engine, *, socket_mode: bool = False, **overrides: Any) -> SlackHarness:
            settings = load_settings(
                flows_dir=flows_dir,
                public_url=PUBLIC_URL,
                slack_bot_token="xoxb-test-token",
                slack_signing_secret=SIGNING_SECRET,
                slack_channel=DEFAULT_CHANNEL,
                slack_api_url=fake_slack.url,
                **overrides,
            )
            app = create_app(settings, engine=engine, start_runner=False, socket_mode=socket_mode)
            client = stack.enter_context(TestClient(app))
            return SlackHarness(client, fake_slack, app.state.slack, engine)

        yield make


@pytest.fixture
def sqlite_engine(sqlite_url: str, clock: ManualClock) -> Iterator[Engine]:
    engine = Engine(sqlite_url, clock=clock, http_timeout=5.0)
    yield engine
    engine.close()


@pytest.fixture
def slack(make_slack: Callable[..., SlackHarness], sqlite_engine: Engine) -> SlackHarness:
    """The bot on SQLite (most tests: they exercise Slack, not storage)."""
    return make_slack(sqlite_engine)


@pytest.fixture
def slack_any(make_slack: Callable[..., SlackHarness], engine: Engine) -> SlackHarness:
    """The bot on SQLite and on PostgreSQL (outbox and concurrency tests)."""
    return make_slack(engine)
