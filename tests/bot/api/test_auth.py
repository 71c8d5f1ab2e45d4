"""The bearer token: required on every API route (but the webhook trigger), compared in constant
time, and a server without one keeps its API closed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_support import HERE, Api

ROUTES = [
    ("POST", "/api/v1/flows"),
    ("GET", "/api/v1/flows/company.team/pause_resume"),
    ("DELETE", "/api/v1/flows/company.team/pause_resume"),
    ("POST", "/api/v1/executions/company.team/pause_resume"),
    ("GET", "/api/v1/executions/search"),
    ("GET", "/api/v1/executions/some-id"),
    ("GET", "/api/v1/executions/some-id/flow"),
    ("POST", "/api/v1/executions/some-id/resume"),
    ("POST", "/api/v1/executions/resume/by-ids"),
    ("POST", "/api/v1/executions/resume/by-query"),
    ("POST", "/api/v1/executions/some-id/pause"),
    ("DELETE", "/api/v1/executions/some-id/kill"),
    ("GET", "/api/v1/logs/some-id"),
    ("GET", "/api/v1/main/executions/search"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_missing_or_wrong_token_is_401(api: Api, method: str, path: str) -> None:
    missing = api.request(method, path, token=None)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "Missing bearer token" in missing.json()["message"]

    wrong = api.request(method, path, token="api-test-token-0123456788")
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert wrong.json()["message"] == "Invalid bearer token."

    basic = api.request(method, path, token=None, headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


def test_without_a_configured_token_the_api_is_closed(make_api: Callable[..., Api]) -> None:
    api = make_api(api_token=None)
    response = api.get("/api/v1/executions/search")
    assert response.status_code == 503
    assert "PAUSEBOT_API_TOKEN is not set" in response.json()["message"]
    assert api.get("/healthz").status_code == 200
    # The webhook trigger's key is its own credential.
    api.engine.deploy_flow((HERE / "flows" / "webhook.yaml").read_text())
    started = api.post("/api/v1/executions/webhook/tests.api/webhook/s3cr3t-key", token=None)
    assert started.status_code == 200


def test_the_caller_names_the_actor(api: Api) -> None:
    api.deploy("pause_resume.yml")
    by_header = api.start("company.team", "pause_resume", headers={"X-Pausebot-User": " Ada L. "})
    assert by_header["startedBy"] == {"id": "Ada L.", "name": "Ada L."}
    by_query = api.start("company.team", "pause_resume", params={"by": "bob"})
    assert by_query["startedBy"] == {"id": "bob", "name": "bob"}
    too_long = api.post(
        "/api/v1/executions/company.team/pause_resume", headers={"X-Pausebot-User": "x" * 300}
    )
    assert too_long.status_code == 431, too_long.text
    anonymous = api.start("company.team", "pause_resume")
    assert anonymous["startedBy"] == {"id": "api", "name": "API"}
