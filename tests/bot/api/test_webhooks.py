"""The Webhook trigger: the key is the credential, the request becomes ``trigger``."""

from __future__ import annotations

import pytest
from api_support import Api

PATH = "/api/v1/executions/webhook/tests.api/webhook/s3cr3t-key"


def test_json_body_headers_and_parameters_reach_the_flow(api: Api) -> None:
    api.deploy("webhook.yaml")
    response = api.post(
        PATH,
        token=None,
        params={"env": "prod"},
        json={"name": "Ada", "items": [1, 2]},
        headers={"X-Caller": "ci", "Authorization": "Bearer not-for-the-flow", "Cookie": "a=b"},
    )
    assert response.status_code == 200, response.text
    started = response.json()
    trigger = started["trigger"]
    assert (
        trigger["id"] == "incoming" and trigger["type"] == "io.kestra.plugin.core.trigger.Webhook"
    )
    assert trigger["body"] == {"name": "Ada", "items": [1, 2]}
    assert trigger["parameters"] == {"env": ["prod"]}
    assert trigger["headers"]["x-caller"] == ["ci"]
    assert "authorization" not in trigger["headers"] and "cookie" not in trigger["headers"]
    assert started["startedVia"] == "webhook"
    assert started["inputs"] == {"greeting": "Hello"}
    assert started["url"].endswith(f"/ui/executions/tests.api/webhook/{started['id']}")
    api.wait(started["id"])
    assert api.logs(started["id"]) == ['Hello Ada params=["prod"] ua=["ci"]']


@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_every_method_and_a_text_body(api: Api, method: str) -> None:
    api.deploy("webhook.yaml")
    content = None if method == "GET" else b"plain words"
    response = api.request(method, PATH, token=None, content=content)
    assert response.status_code == 200, response.text
    body = response.json()["trigger"]["body"]
    assert body == (None if method == "GET" else "plain words")


def test_the_main_tenant_path_works_too(api: Api) -> None:
    api.deploy("webhook.yaml")
    response = api.post(PATH.replace("/api/v1/", "/api/v1/main/"), token=None, content=b"[1]")
    assert response.status_code == 200 and response.json()["trigger"]["body"] == [1]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/executions/webhook/tests.api/webhook/wrong-key",
        "/api/v1/executions/webhook/tests.api/webhook/s3cr3t-ke",
        "/api/v1/executions/webhook/tests.api/missing/s3cr3t-key",
        "/api/v1/executions/webhook/other.ns/webhook/s3cr3t-key",
    ],
)
def test_wrong_key_or_flow_is_the_same_404(api: Api, path: str) -> None:
    api.deploy("webhook.yaml")
    response = api.post(path, token=None, json={})
    assert response.status_code == 404
    assert response.json()["message"] == "Webhook not found."


def test_a_flow_without_the_trigger_cannot_be_started_by_webhook(api: Api) -> None:
    api.deploy("pause_resume.yml")
    response = api.post("/api/v1/executions/webhook/company.team/pause_resume/anything", token=None)
    assert response.status_code == 404


def test_a_disabled_trigger_is_404_and_a_disabled_flow_409(api: Api) -> None:
    api.deploy("webhook.yaml", **{"key: s3cr3t-key": "key: s3cr3t-key\n    disabled: true"})
    assert api.post(PATH, token=None).status_code == 404
    api.deploy("webhook.yaml", **{"namespace: tests.api": "namespace: tests.api\ndisabled: true"})
    disabled = api.post(PATH, token=None)
    assert disabled.status_code == 409 and "disabled" in disabled.json()["message"]


def test_the_size_limit_applies(api: Api) -> None:
    api.deploy("webhook.yaml")
    response = api.post(PATH, token=None, content=b"x" * 1_100_000)
    assert response.status_code == 413
    assert "limit is 1048576 bytes" in response.json()["message"]
