"""The service around the API: start-up (flows directory, link secret), /healthz, /metrics,
OpenAPI, the Kestra 1.x tenant path, the body size limit and the JSON error shape."""

from __future__ import annotations

import logging
import logging.config
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn.config
from api_support import HERE, Api, TestClient, form, settings_for
from pydantic import SecretStr
from support import EXAMPLES

from bot.api.links import link_secret
from bot.config import ConfigError, Settings, load_settings
from bot.logs import RedactCredentials, redact_path
from bot.server import StartupError, create_app
from engine.clock import ManualClock
from engine.engine import Engine
from engine.flows import parse_flow


@pytest.fixture
def manual_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = Engine(sqlite_url, clock=ManualClock(), http_timeout=5.0)
    yield engine
    engine.close()


# -- start-up -------------------------------------------------------------------------------


def test_flows_dir_is_deployed_at_start(make_api: Callable[..., Api], tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copy(EXAMPLES / "pause_resume.yml", flows)
    (flows / "nested").mkdir()
    shutil.copy(EXAMPLES / "deploy_approval.yml", flows / "nested" / "deploy.yaml")
    (flows / "notes.txt").write_text("not a flow")
    api = make_api()
    assert api.get("/api/v1/flows/company.team/pause_resume").json()["revision"] == 1
    assert api.get("/api/v1/flows/company.platform/deploy_approval").status_code == 200


def test_a_bad_flow_file_stops_the_start_and_deploys_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(EXAMPLES / "pause_resume.yml", flows / "a_good.yml")
    (flows / "b_bad.yml").write_text("id: bad\nnamespace: x\ntasks:\n  - id: t\n    type: nope\n")
    (flows / "c_twin.yml").write_text((EXAMPLES / "pause_resume.yml").read_text())
    with pytest.raises(StartupError) as error:
        create_app(settings_for(sqlite_url, flows))
    message = str(error.value)
    assert "2 problems" in message and "nothing was deployed" in message
    assert f"{flows / 'b_bad.yml'} is not a valid flow" in message and "line 4" in message
    assert "c_twin.yml: defines company.team.pause_resume, already defined by" in message
    engine = Engine(sqlite_url)
    try:
        assert engine.list_flows() == []
    finally:
        engine.close()

    with pytest.raises(StartupError, match="is not a directory"):
        create_app(settings_for(sqlite_url, flows / "a_good.yml"))


def test_an_unreachable_database_stops_the_start(tmp_path: Path) -> None:
    url = "postgresql://nobody:hunter2@127.0.0.1:1/none"
    with pytest.raises(StartupError) as error:
        create_app(settings_for(url, tmp_path))
    assert "cannot use the database postgresql://nobody:***@127.0.0.1:1/none: " in str(error.value)
    assert "hunter2" not in str(error.value)


def test_the_link_secret(caplog: pytest.LogCaptureFixture) -> None:
    explicit = Settings(link_secret=SecretStr("s" * 16), api_token=SecretStr("t"))
    assert link_secret(explicit) == b"s" * 16
    derived = link_secret(Settings(api_token=SecretStr("t")))
    assert derived == link_secret(Settings(api_token=SecretStr("t"))) != b"t"
    with caplog.at_level(logging.WARNING, logger="bot.api.links"):
        random_one = link_secret(Settings())
    assert random_one != link_secret(Settings())
    assert "stop working when this process restarts" in caplog.text


# -- health and metrics ---------------------------------------------------------------------


def test_healthz_says_when_the_database_is_gone(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = make_api(f"sqlite:///{tmp_path / 'gone' / 'db.sqlite'}", start_runner=False)
    healthy = api.client.get("/healthz")
    assert healthy.status_code == 200 and healthy.json() == {"status": "ok", "database": "ok"}

    api.engine.store.close()  # drop pooled connections, then take the file's directory away
    shutil.rmtree(tmp_path / "gone")
    down = api.client.get("/healthz")
    assert down.status_code == 503
    assert down.json() == {"status": "unavailable", "database": "unreachable"}
    metrics = api.client.get("/metrics")
    assert metrics.status_code == 200 and "pausebot_database_up 0" in metrics.text
    unavailable = api.get("/api/v1/executions/search")
    assert unavailable.status_code == 503
    assert unavailable.json()["message"] == "The database is unavailable; try again shortly."


def test_metrics(make_api: Callable[..., Api], manual_engine: Engine) -> None:
    api = make_api(engine=manual_engine)
    clock = manual_engine.clock
    assert isinstance(clock, ManualClock)
    manual_engine.store.register_consumer("slack", clock.now())
    first = api.paused("pause_resume.yml")["id"]
    second = api.paused("pause_resume.yml")["id"]
    third = api.paused("pause_resume.yml")["id"]
    clock.advance(120)
    api.post(f"/api/v1/executions/{first}/resume")
    api.post("/api/v1/executions/resume/by-ids", json=[second])
    api.delete(f"/api/v1/executions/{third}/kill")
    api.wait(first)
    api.wait(second)

    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = set(response.text.splitlines())
    assert {
        # prometheus_client's exposition: values as floats, bucket bounds too.
        "pausebot_database_up 1.0",
        'pausebot_executions{state="SUCCESS"} 2.0',
        'pausebot_executions{state="KILLED"} 1.0',
        'pausebot_executions{state="PAUSED"} 0.0',
        'pausebot_resumes_total{via="api"} 1.0',
        'pausebot_resumes_total{via="bulk"} 1.0',
        'pausebot_pause_decisions_total{outcome="resumed",via="api"} 1.0',
        'pausebot_pause_decisions_total{outcome="killed",via="api"} 1.0',
        'pausebot_pause_wait_seconds_bucket{le="60.0",via="api"} 0.0',
        'pausebot_pause_wait_seconds_bucket{le="300.0",via="api"} 2.0',
        'pausebot_pause_wait_seconds_bucket{le="+Inf",via="api"} 2.0',
        'pausebot_pause_wait_seconds_sum{via="api"} 240.0',
        'pausebot_pause_wait_seconds_count{via="api"} 2.0',
        "# TYPE pausebot_pause_wait_seconds histogram",
        "# TYPE pausebot_resumes_total counter",
    } <= lines
    backlog = next(
        line for line in lines if line.startswith('pausebot_outbox_backlog{consumer="slack"}')
    )
    assert float(backlog.split()[-1]) > 0  # nobody delivers in this test
    assert 'pausebot_outbox_failed{consumer="slack"} 0.0' in lines


# -- the HTTP surface -----------------------------------------------------------------------


def test_openapi_and_docs(api: Api) -> None:
    schema = api.client.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/flows",
        "/api/v1/executions/{namespace}/{flow_id}",
        "/api/v1/executions/{execution_id}/resume",
        "/api/v1/executions/resume/by-ids",
        "/api/v1/executions/webhook/{namespace}/{flow_id}/{key}",
        "/healthz",
        "/metrics",
    ):
        assert path in paths, path
    assert not any(p.startswith("/api/v1/main/") for p in paths)
    assert "HTTPBearer" in schema.json()["components"]["securitySchemes"]
    docs = api.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_kestra_tenant_paths(api: Api) -> None:
    source = (EXAMPLES / "pause_resume.yml").read_text()
    created = api.post(
        "/api/v1/main/flows", content=source, headers={"Content-Type": "application/x-yaml"}
    )
    assert created.status_code == 200
    started = api.post("/api/v1/main/executions/company.team/pause_resume")
    assert started.status_code == 200
    execution_id = started.json()["id"]
    api.wait(execution_id, "PAUSED")
    assert (
        api.post(f"/api/v1/main/executions/{execution_id}/resume", files=form()).status_code == 204
    )
    assert api.wait(execution_id)["state"]["current"] == "SUCCESS"
    assert api.get("/api/v1/main/executions/search").json()["total"] == 1
    assert api.get(f"/api/v1/main/logs/{execution_id}").status_code == 200
    assert api.get("/api/v1/other-tenant/executions/search").status_code == 404


def test_size_limit_by_content_length_and_by_chunks(make_api: Callable[..., Api]) -> None:
    api = make_api(max_body_bytes=2000)
    api.engine.deploy_flow((EXAMPLES / "deploy_approval.yml").read_text())
    path = "/api/v1/executions/company.platform/deploy_approval"
    declared = api.post(
        path, content=b"{" + b" " * 3000 + b"}", headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["message"] == "Request body too large: the limit is 2000 bytes."

    def chunks() -> Iterator[bytes]:
        yield b'{"service": "'
        for _ in range(10):
            yield b"a" * 500
        yield b'"}'

    chunked = api.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    multipart = api.post(path, files=form(service="x" * 3000))
    assert multipart.status_code == 413
    assert api.post(path, json={"service": "small"}).status_code == 200


def test_unknown_routes_and_methods_answer_json(api: Api) -> None:
    missing = api.get("/api/v1/nothing/here")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    wrong_method = api.request("PATCH", "/api/v1/executions/x/resume")
    assert (
        wrong_method.status_code == 405 and wrong_method.json()["message"] == "Method Not Allowed"
    )
    assert missing.json()["_links"]["self"]["href"] == "/api/v1/nothing/here"


def test_the_flows_of_these_tests_are_valid() -> None:
    paths = sorted((HERE / "flows").glob("*.yaml"))
    assert paths
    for path in paths:
        parse_flow(path.read_text(), str(path))


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/resume/eyJhbGc.c2ln", "/resume/***"),
        ("/resume/eyJhbGc.c2ln?x=1", "/resume/***?x=1"),
        ("/api/v1/executions/webhook/ns/flow/s3cr3t", "/api/v1/executions/webhook/ns/flow/***"),
        (
            "/api/v1/main/executions/webhook/ns/flow/s3cr3t?a=b",
            "/api/v1/main/executions/webhook/ns/flow/***?a=b",
        ),
        ("/healthz?token=abc&x=1", "/healthz?token=***&x=1"),
        ("/ui/login?x=1&Token=abc", "/ui/login?x=1&Token=***"),
        ("/api/v1/executions/resume/by-ids", "/api/v1/executions/resume/by-ids"),
        ("/api/v1/executions/abc/resume?taskRunId=x", "/api/v1/executions/abc/resume?taskRunId=x"),
        ("/ui/executions/abc/resume", "/ui/executions/abc/resume"),
    ],
)
def test_logged_paths_are_redacted(path: str, logged: str) -> None:
    assert redact_path(path) == logged


@pytest.fixture
def uvicorn_loggers() -> Iterator[None]:
    """Puts uvicorn's loggers back as they were after a test configured them like uvicorn."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (lg.handlers[:], lg.filters[:], lg.level, lg.propagate)
        for name in names
        for lg in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, filters, level, propagate) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:], lg.filters[:] = handlers, filters
        lg.setLevel(level)
        lg.propagate = propagate


def test_the_access_log_filter_redacts_uvicorn_records(
    make_api: Callable[..., Api],
    sqlite_url: str,
    caplog: pytest.LogCaptureFixture,
    uvicorn_loggers: None,
) -> None:
    make_api(sqlite_url)  # create_app installs the filter
    access = logging.getLogger("uvicorn.access")
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)  # as uvicorn.Config does
    assert [type(f) for f in access.filters].count(RedactCredentials) == 1
    make_api(sqlite_url)
    assert [type(f) for f in access.filters].count(RedactCredentials) == 1  # installed once
    access.handlers[:] = [caplog.handler]  # uvicorn's config stops propagation to the root
    access.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/resume/eyJsecret.sig", "1.1", 200
    )
    assert caplog.records[-1].getMessage() == '127.0.0.1:5000 - "GET /resume/*** HTTP/1.1" 200'
    assert "eyJsecret" not in caplog.text


def test_a_500_logs_the_path_redacted(
    api: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.engine, "get_flow", broken)
    client = TestClient(api.app, raise_server_exceptions=False)
    response = client.post("/api/v1/executions/webhook/ns/flow/s3cr3t-key")
    assert response.status_code == 500
    assert "/api/v1/executions/webhook/ns/flow/***" in caplog.text
    assert "s3cr3t-key" not in caplog.text


def test_configuration_problems_are_listed_together(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAUSEBOT_SLACK_CHANNEL", "SLACK_CHANNEL", "PAUSEBOT_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as error:
        load_settings(
            public_url="ftp://x", link_ttl="soon", slack_bot_token="xoxb-1", slack_app_token="x"
        )
    assert error.value.problems == [
        "PAUSEBOT_PUBLIC_URL must start with http:// or https://",
        "PAUSEBOT_LINK_TTL must be a positive ISO-8601 duration such as P7D, got 'soon'",
        "Slack is half configured: SLACK_BOT_TOKEN set but SLACK_SIGNING_SECRET missing",
        "Slack is configured but PAUSEBOT_SLACK_CHANNEL (the default channel) is missing",
    ]
    with pytest.raises(ConfigError) as only_slack:
        load_settings(slack_app_token="xapp-1")
    assert only_slack.value.problems == [
        "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are missing"
    ]


def test_an_unparsable_database_url_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(StartupError) as error:
        create_app(settings_for("postgresql://u:hunter2@[::1", tmp_path))
    assert str(error.value).startswith("invalid PAUSEBOT_DATABASE_URL: it cannot be parsed")
    assert "hunter2" not in str(error.value)
