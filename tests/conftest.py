"""Shared fixtures: real databases (a SQLite file per test; a fresh PostgreSQL database per test
cloned from a migrated template), an engine on a manual clock, and the local HTTP stand-in."""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

from engine.clock import ManualClock
from engine.engine import Engine
from engine.store.store import Store

POSTGRES_URL = os.environ.get(
    "PAUSEBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# One template per test process, so parallel runs on one server don't drop each other's.
TEMPLATE_DB = f"pausebot_test_template_{os.getpid()}"

for name in (
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
):
    os.environ.pop(name, None)


def _postgres_admin():  # type: ignore[no-untyped-def]
    import psycopg

    from engine.store.database import normalise_url

    url = normalise_url(POSTGRES_URL)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "test",
        autocommit=True,
        connect_timeout=3,
    )


_postgres_state: dict[str, object] = {}


def postgres_unavailable() -> str | None:
    """None when PostgreSQL is reachable; otherwise why not (the skip reason)."""
    if "reason" not in _postgres_state:
        try:
            with _postgres_admin() as conn:
                conn.execute("SELECT 1")
            _postgres_state["reason"] = None
        except Exception as error:  # noqa: BLE001
            _postgres_state["reason"] = (
                f"PostgreSQL not reachable at {POSTGRES_URL} ({type(error).__name__}); "
                "set PAUSEBOT_TEST_POSTGRES_URL or start the local server (.ci/run does)"
            )
    return _postgres_state["reason"]  # type: ignore[return-value]


def _postgres_url_for(database: str) -> str:
    from engine.store.database import normalise_url

    return normalise_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


def _ensure_template() -> None:
    if _postgres_state.get("template"):
        return
    with _postgres_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    store = Store(_postgres_url_for(TEMPLATE_DB))
    store.close()
    _postgres_state["template"] = True
    atexit.register(_drop_template)


def _drop_template() -> None:
    try:
        with _postgres_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
    except Exception:  # noqa: BLE001, S110 - best effort at exit
        pass


def fresh_postgres_url() -> Iterator[str]:
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    _ensure_template()
    name = f"pausebot_t_{uuid.uuid4().hex[:12]}"
    with _postgres_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    try:
        yield _postgres_url_for(name)
    finally:
        with _postgres_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test runs on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pausebot.db'}"
    else:
        yield from fresh_postgres_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pausebot.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from fresh_postgres_url()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(database_url: str, clock: ManualClock) -> Iterator[Engine]:
    eng = Engine(database_url, clock=clock, http_timeout=5.0)
    yield eng
    eng.close()


@pytest.fixture
def standin():  # type: ignore[no-untyped-def]
    from standin import StandIn

    server = StandIn().start()
    yield server
    server.shutdown()
    server.server_close()
