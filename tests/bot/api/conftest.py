"""Fixtures of the HTTP service tests: the whole app (``bot.server.create_app``) with its real
runner, driven through FastAPI's test client, on SQLite, and on PostgreSQL where it is cheap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from api_support import Api, TestClient, settings_for

from bot.server import create_app
from engine.engine import Engine


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """Builds an app (and enters its lifespan); everything is shut down after the test."""
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    with ExitStack() as stack:

        def make(
            database_url: str | None = None,
            *,
            engine: Engine | None = None,
            start_runner: bool = True,
            **overrides: Any,
        ) -> Api:
            url = database_url or f"sqlite:///{tmp_path / 'api.db'}"
            app = create_app(
                settings_for(url, flows_dir, **overrides),
                engine=engine,
                start_runner=start_runner,
            )
            client = stack.enter_context(TestClient(app, follow_redirects=False))
            return Api(app, client)

        yield make


@pytest.fixture
def api(make_api: Callable[..., Api], sqlite_url: str) -> Api:
    """The service on SQLite."""
    return make_api(sqlite_url)


@pytest.fixture
def api_any(make_api: Callable[..., Api], database_url: str) -> Api:
    """The service on SQLite and on PostgreSQL."""
    return make_api(database_url)
