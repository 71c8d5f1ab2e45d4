"""Signing in with a password of PAUSEBOT_UI_USERS beside the API token: the decision is recorded
as that person (their Slack id), sessions expire, failed attempts are rate-limited."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr, ValidationError

from bot.config import Settings
from bot.ui.session import COOKIE_NAME, SessionKeys
from bot.ui.users import (
    LoginThrottle,
    UsersConfigError,
    hash_password,
    parse_users,
    verify_password,
)
from engine.engine import Engine
from tests.bot.ui.conftest import API_TOKEN, make_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from tests.bot.ui.conftest import UI

# One hash for the whole module: scrypt is slow on purpose.
ADA_HASH = hash_password("correct horse battery")
USERS = json.dumps(
    [{"name": "Ada", "password": ADA_HASH, "slack": "U0ADA", "email": "ada@example.com"}]
)


@pytest.fixture
def users_client(ui: UI, ui_engine: Engine) -> Iterator[TestClient]:
    app = make_app(ui_engine)
    app.state.settings = Settings(
        api_token=SecretStr(API_TOKEN), public_url="http://testserver", ui_users=SecretStr(USERS)
    )
    with TestClient(app, follow_redirects=False) as client:
        yield client


def _sign_in(client: TestClient, name: str, password: str, next: str = "/ui/executions"):  # type: ignore[no-untyped-def]
    return client.post("/ui/login", data={"name": name, "password": password, "next": next})


def test_passwords_are_hashed_with_scrypt_and_checked() -> None:
    assert ADA_HASH.startswith("scrypt$16384$8$1$") and "correct" not in ADA_HASH
    assert verify_password("correct horse battery", ADA_HASH)
    assert not verify_password("wrong", ADA_HASH) and not verify_password("x", "garbage")
    assert hash_password("same") != hash_password("same")  # a salt per hash


def test_the_users_setting_is_checked_at_start_up() -> None:
    assert parse_users(USERS)["ada"].slack == "U0ADA"
    for bad, why in [
        ("{", "not valid JSON"),
        ('[{"name": "Bob", "password": "hunter2"}]', "never the password itself"),
        ('[{"password": "' + ADA_HASH + '"}]', "has no name"),
        ('[{"name": "A", "password": "' + ADA_HASH + '", "role": "x"}]', "unknown field"),
    ]:
        with pytest.raises(UsersConfigError, match=why):
            parse_users(bad)
        with pytest.raises(ValidationError, match=why):
            Settings(ui_users=SecretStr(bad))


def test_a_user_decides_as_their_slack_identity(ui: UI, users_client: TestClient) -> None:
    execution = ui.paused("deploy_approval.yml")
    path = ui.path(execution)
    assert _sign_in(users_client, "Ada", "wrong").status_code == 401
    signed = _sign_in(users_client, "ada", "correct horse battery", next=path)
    assert signed.status_code == 303 and signed.headers["location"] == path
    page = users_client.get(path).text
    assert "Signed in as <strong>Ada</strong>" in page
    run = execution.paused_task_runs()[0]
    csrf = ui.csrf(page)
    users_client.post(
        f"/ui/executions/{execution.id}/decide",
        data={"_csrf": csrf, "_task_run": run.id, "_choice": "approve"},
    )
    decided = ui.engine.get_execution(execution.id).task_run(run.id)
    assert decided is not None
    assert decided.outputs["resumed"]["by"] == {
        "id": "U0ADA",
        "name": "Ada",
        "email": "ada@example.com",
    }
    # The API token still works beside the users, with the name typed.
    other = _sign_in(users_client, "Linus", API_TOKEN)
    assert other.status_code == 303


def test_failed_sign_ins_are_rate_limited(users_client: TestClient) -> None:
    for _ in range(5):
        assert _sign_in(users_client, "Ada", "nope").status_code == 401
    blocked = _sign_in(users_client, "Ada", "correct horse battery")
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.text and int(blocked.headers["retry-after"]) > 0


def test_the_throttle_forgets_after_its_window() -> None:
    throttle = LoginThrottle(limit=2, window=60)
    throttle.failed("ip:1", now=0)
    throttle.failed("ip:1", now=1)
    assert throttle.retry_after("ip:1", now=2) == 58
    assert throttle.retry_after("ip:2", now=2) == 0
    assert throttle.retry_after("ip:1", now=62) == 0


def test_an_expired_session_asks_to_sign_in_again(ui: UI) -> None:
    keys = SessionKeys(API_TOKEN + "\n", timedelta(hours=12))
    old = keys.issue("Ada", datetime.now(UTC) - timedelta(hours=13))
    ui.client.cookies.set(COOKIE_NAME, old.cookie, path="/ui")
    response = ui.client.get("/ui/executions")
    assert response.status_code == 303 and "expired=1" in response.headers["location"]
    page = ui.client.get(response.headers["location"]).text
    assert "Your session expired" in page
    forged = old.cookie[:-2] + ("AA" if not old.cookie.endswith("AA") else "BB")
    ui.client.cookies.set(COOKIE_NAME, forged, path="/ui")
    assert "expired" not in ui.client.get("/ui/executions").headers["location"]


def test_a_session_lasts_as_configured(ui: UI, ui_engine: Engine) -> None:
    app = make_app(ui_engine)
    app.state.settings = Settings(
        api_token=SecretStr(API_TOKEN), public_url="http://testserver", ui_session_ttl="PT5M"
    )
    with TestClient(app, follow_redirects=False) as client:
        response = _sign_in(client, "Ada", API_TOKEN)
        assert "Max-Age=300" in response.headers["set-cookie"]
    with pytest.raises(ValidationError, match="PAUSEBOT_UI_SESSION_TTL"):
        Settings(ui_session_ttl="soon")
