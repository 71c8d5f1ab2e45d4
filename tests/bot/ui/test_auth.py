"""Login, sessions, CSRF and the behaviour without PAUSEBOT_API_TOKEN."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.ui.session import SESSION_TTL, SessionKeys
from engine.states import State

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tests.bot.ui.conftest import UI

MakeClient = Callable[[str | None], "TestClient"]


def test_without_api_token_the_ui_explains_how_to_enable_it(client_with_token: MakeClient) -> None:
    client = client_with_token(None)
    for path in ("/ui/executions", "/ui/login", "/ui/executions/abc"):
        response = client.get(path)
        assert response.status_code == 503
        assert "PAUSEBOT_API_TOKEN" in response.text
    refused = client.post("/ui/login", data={"token": "", "name": "Ada"})
    assert refused.status_code == 503
    assert "set-cookie" not in refused.headers


def test_pages_send_strangers_to_the_login_page(ui: UI) -> None:
    response = ui.client.get("/ui/executions?state=FAILED")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Fexecutions%3Fstate%3DFAILED"
    login = ui.client.get(response.headers["location"])
    assert login.status_code == 200
    assert '<label for="login-token">API token</label>' in login.text
    assert 'value="/ui/executions?state=FAILED"' in login.text


def test_arriving_from_another_site_reloads_once_to_send_the_strict_cookie(ui: UI) -> None:
    response = ui.client.get("/ui/executions", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200
    assert '<meta http-equiv="refresh" content="0; url=/ui/executions">' in response.text


def test_login_sets_a_signed_http_only_strict_cookie_without_the_token(ui: UI) -> None:
    response = ui.client.post(
        "/ui/login",
        data={"token": ui.token, "name": "  Ada   Lovelace ", "next": "/ui/executions?q=x"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/executions?q=x"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pausebot_ui=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert ui.token not in cookie
    page = ui.client.get("/ui/executions")
    assert page.status_code == 200
    assert "Signed in as <strong>Ada Lovelace</strong>" in page.text


def test_login_refuses_a_wrong_token_or_a_missing_name(ui: UI) -> None:
    wrong = ui.client.post("/ui/login", data={"token": "nope", "name": "Ada"})
    assert wrong.status_code == 401
    assert "not the one this server was started with" in wrong.text
    assert "set-cookie" not in wrong.headers
    nameless = ui.client.post("/ui/login", data={"token": ui.token, "name": "   "})
    assert nameless.status_code == 422
    assert "Please give your name" in nameless.text
    assert ui.client.get("/ui/executions").status_code == 303


def test_login_only_redirects_inside_the_ui(ui: UI) -> None:
    for target in ("//evil.example/ui/", "https://evil.example", "/ui\\@evil", "/api/v1/flows"):
        response = ui.client.post(
            "/ui/login", data={"token": ui.token, "name": "Ada", "next": target}
        )
        assert response.headers["location"] == "/ui/executions", target


def test_a_forged_or_foreign_session_cookie_is_not_a_login(
    ui: UI, client_with_token: MakeClient
) -> None:
    ui.client.cookies.set("pausebot_ui", "eyJuIjogIkV2ZSIsICJ4IjogOTk5OTk5OTk5OX0.AAAA", path="/ui")
    assert ui.client.get("/ui/executions").status_code == 303
    # A session made with another API token (say, before a rotation) is not valid either.
    other = client_with_token("another-token-987654321")
    other.post("/ui/login", data={"token": "another-token-987654321", "name": "Eve"})
    stolen = other.cookies.get("pausebot_ui")
    assert stolen
    ui.client.cookies.clear()
    ui.client.cookies.set("pausebot_ui", stolen, path="/ui")
    assert ui.client.get("/ui/executions").status_code == 303


def test_sessions_expire(ui: UI) -> None:
    yesterday = datetime.now(UTC) - SESSION_TTL - timedelta(seconds=1)
    old = SessionKeys(ui.token).issue("Ada", yesterday)
    ui.client.cookies.set("pausebot_ui", old.cookie, path="/ui")
    assert ui.client.get("/ui/executions").status_code == 303


def test_state_changing_posts_need_the_sessions_csrf_token(ui: UI) -> None:
    execution = ui.paused()
    ui.login("Ada")
    csrf = ui.csrf(ui.page(execution))
    path = f"/ui/executions/{execution.id}"
    missing = ui.client.post(f"{path}/resume", data={"approved": "false"})
    assert missing.status_code == 403
    assert "did not carry a valid security token" in missing.text
    wrong = ui.client.post(f"{path}/kill", data={"_csrf": csrf[:-2] + "xx"})
    assert wrong.status_code == 403
    # Another person's token does not work with this session.
    ui.login("Bob")
    assert ui.client.post(f"{path}/pause", data={"_csrf": csrf}).status_code == 403
    assert ui.client.post("/ui/logout", data={"_csrf": csrf}).status_code == 403
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED


def test_posts_without_a_session_go_to_the_login_page(ui: UI) -> None:
    execution = ui.paused()
    response = ui.client.post(f"/ui/executions/{execution.id}/resume", data={"_csrf": "x"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=")
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED


def test_logout_forgets_the_session(ui: UI) -> None:
    ui.login("Ada")
    page = ui.client.get("/ui/executions")
    response = ui.client.post("/ui/logout", data={"_csrf": ui.csrf(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login"
    assert ui.client.get("/ui/executions").status_code == 303
