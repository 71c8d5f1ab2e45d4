"""Fuzzing (issue 7): schemathesis against the OpenAPI document, and a hand-written generator of
truncated, mis-encoded and oversized multipart/urlencoded bodies on every body-reading route.

Both assert the same two things: no 5xx, and a refused request (4xx) changes nothing in the
database. Slow, so marked ``fuzz`` and left out of the default run; run it with ``make fuzz``
(``FUZZ_EXAMPLES`` sets schemathesis' examples per operation, ``FUZZ_BODIES`` the generated
bodies per route). Each test prints its case count.
"""

from __future__ import annotations

import os
import random
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_support import TOKEN, Api, settings_for
from hypothesis import HealthCheck, settings
from sqlalchemy import func, select

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.timeout(3600),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
BODIES = int(os.environ.get("FUZZ_BODIES", "60"))
COUNTS: dict[str, int] = {}


def _openapi() -> dict[str, Any]:
    from bot.server import create_app

    directory = Path(tempfile.mkdtemp(prefix="pausebot-fuzz-"))
    (directory / "flows").mkdir()
    app = create_app(
        settings_for(f"sqlite:///{directory / 'schema.db'}", directory / "flows"),
        start_runner=False,
    )
    return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi())


def snapshot(api: Api) -> tuple[Any, ...]:
    """Everything a request could change: executions (id, version), flow revisions, labels,
    logs, outbox events, spent tokens."""
    from engine.store import store as s

    with api.engine.store.engine.connect() as connection:
        executions = connection.execute(
            select(s.ex_t.c.id, s.ex_t.c.version).order_by(s.ex_t.c.id)
        ).all()
        counts = tuple(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (s.flow_t, s.label_t, s.log_t, s.event_t, s.token_t)
        )
    return tuple(executions), counts


_MOVING = ["CREATED", "RUNNING", "KILLING", "RESTARTED", "QUEUED"]


def settle(api: Api, timeout: float = 20.0) -> None:
    """Waits until the runner has nothing left to do (every execution PAUSED or ended), so a
    snapshot compares what a request did, not the runner's progress on earlier ones."""
    import time

    moving = [s for s in _MOVING if s in {st.value for st in _states()}]
    deadline = time.monotonic() + timeout
    previous = None
    while True:
        current = snapshot(api)
        if current == previous and not api.engine.search_executions(states=moving, size=1)[1]:
            return
        if time.monotonic() > deadline:
            raise AssertionError("executions still running after the fuzz request")
        previous = current
        time.sleep(0.05)


def _states() -> list[Any]:
    from engine.states import State

    return list(State)


def _seed(api: Api) -> str:
    """A deployed flow and a paused execution, so some generated ids could hit something."""
    return api.paused("deploy_approval.yml")["id"]


@pytest.fixture
def fuzz_api(make_api: Callable[..., Api], database_url: str) -> Api:
    api = make_api(database_url)
    _seed(api)
    return api


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_schemathesis_finds_no_5xx_and_refusals_change_nothing(case: Any, fuzz_api: Api) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items()}
    headers.setdefault("Authorization", f"Bearer {TOKEN}")
    request: dict[str, Any] = {
        "method": kwargs.pop("method"),
        "url": kwargs.pop("url"),
        "headers": headers,
        "params": kwargs.pop("params", None),
    }
    if "json" in kwargs:
        request["json"] = kwargs.pop("json")
    data = kwargs.pop("data", None)
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    if "files" in kwargs:
        request["files"] = kwargs.pop("files")
    settle(fuzz_api)
    before = snapshot(fuzz_api)
    try:
        response = fuzz_api.client.request(**request)
    except (UnicodeEncodeError, ValueError):
        return  # the client cannot even send it (a header outside latin-1): not our answer
    COUNTS["schemathesis"] = COUNTS.get("schemathesis", 0) + 1
    assert response.status_code < 500, (request, response.text)
    if response.status_code >= 400:
        assert snapshot(fuzz_api) == before, (request, response.status_code, response.text)


# -- hand-written bodies -------------------------------------------------------------------

BOUNDARY = "fuzzb"


def _multipart(fields: list[tuple[bytes, bytes]]) -> bytes:
    body = b""
    for name, value in fields:
        body += (
            b"--"
            + BOUNDARY.encode()
            + b'\r\nContent-Disposition: form-data; name="'
            + name
            + b'"\r\n\r\n'
            + value
            + b"\r\n"
        )
    return body + b"--" + BOUNDARY.encode() + b"--\r\n"


_NASTY_VALUES = [
    b"\xff\xfe",
    b"\xc3",  # a cut UTF-8 sequence
    b"\xed\xa0\x80",  # an encoded surrogate
    b"a\x00b",
    b"%",
    b"%zz",
    b"%ff%fe",
    b"true",
    b"false",
    b"yes",
    b"x" * 5000,
    "é".encode(),
    b"\r\n--" + BOUNDARY.encode(),
]


def bodies(rng: random.Random, names: list[bytes], count: int) -> list[tuple[str, bytes]]:
    """(content type, body): complete bodies with nasty values, then cut, mangled and
    oversized variants of them."""
    out: list[tuple[str, bytes]] = []
    multipart = f"multipart/form-data; boundary={BOUNDARY}"
    urlencoded = "application/x-www-form-urlencoded"
    for _ in range(count):
        fields = [
            (rng.choice(names + [b"unknown", b"", b"a=b", "é".encode()]), rng.choice(_NASTY_VALUES))
            for _ in range(rng.randint(0, 4))
        ]
        kind = rng.choice(["multipart", "urlencoded", "json", "other"])
        if kind == "multipart":
            body = _multipart(fields)
            content_type = rng.choice(
                [multipart, multipart + "; charset=latin-1", "multipart/form-data", multipart[:-1]]
            )
        elif kind == "urlencoded":
            body = b"&".join(
                name + rng.choice([b"=", b"", b"=="]) + value for name, value in fields
            )
            content_type = rng.choice([urlencoded, urlencoded + "; charset=iso-8859-1"])
        elif kind == "json":
            body = b"{" + b",".join(b'"' + n + b'": "' + v + b'"' for n, v in fields) + b"}"
            content_type = rng.choice(["application/json", "application/json; charset=utf-16"])
        else:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
            content_type = rng.choice(["text/plain", "", "application/octet-stream", multipart])
        mangle = rng.random()
        if mangle < 0.3 and body:
            body = body[: rng.randrange(len(body))]  # truncated anywhere
        elif mangle < 0.4:
            body = body.replace(b"\r\n", b"\n")
        elif mangle < 0.45:
            body = body * 400  # large (still under the 1 MiB limit, mostly)
        elif mangle < 0.5:
            body = b"x" * (1_048_576 + 1)  # over PAUSEBOT_MAX_BODY_BYTES
        out.append((content_type, body))
    return out


def _routes(api: Api, execution_id: str) -> list[tuple[str, str, list[bytes]]]:
    run = Api.paused_run(api.execution(execution_id))
    return [
        ("POST", f"/api/v1/executions/{execution_id}/resume", [b"approved", b"window", b"comment"]),
        ("POST", f"/api/v1/executions/{execution_id}/resume/validate", [b"approved"]),
        (
            "POST",
            f"/api/v1/executions/{execution_id}/actions/review?decision=APPROVE",
            [b"comment"],
        ),
        (
            "POST",
            f"/api/v1/executions/{execution_id}/resume?taskRunId={run['id']}",
            [b"approved"],
        ),
        ("POST", "/api/v1/executions/company.platform/deploy_approval", [b"service", b"version"]),
        ("POST", "/api/v1/executions/resume/by-ids", [b"ids"]),
        ("DELETE", "/api/v1/executions/kill/by-ids", [b"ids"]),
        ("POST", "/api/v1/executions/pause/by-ids", [b"ids"]),
        ("POST", f"/api/v1/executions/{execution_id}/labels", [b"key", b"value"]),
        ("POST", "/api/v1/flows", [b"id"]),
        ("POST", "/api/v1/flows/validate", [b"id"]),
        ("POST", "/api/v1/executions/webhook/tests.api/webhook/s3cr3t-key", [b"a"]),
        ("POST", "/ui/login", [b"username", b"password", b"csrf"]),
        ("POST", "/slack/events", [b"payload", b"command", b"text"]),
    ]


def test_generated_bodies_find_no_5xx_and_refusals_change_nothing(
    make_api: Callable[..., Api], database_url: str
) -> None:
    api = make_api(database_url)
    api.deploy("webhook.yaml")
    rng = random.Random(7)
    cases = 0
    execution_id = _seed(api)
    link_execution = api.paused("links.yaml")
    token = Api.tokens(Api.paused_run(link_execution)["description"])[0]
    routes = len(_routes(api, execution_id)) + 1
    for index in range(routes):
        for content_type, body in bodies(rng, [b"approved", b"comment", b"reason"], BODIES):
            if api.execution(execution_id)["state"]["current"] != "PAUSED":
                execution_id = _seed(api)  # a body that decided: fuzz a fresh pause
            everything = _routes(api, execution_id) + [("POST", f"/resume/{token}", [])]
            method, path, _ = everything[index]
            headers = {"Authorization": f"Bearer {TOKEN}"}
            if content_type:
                headers["Content-Type"] = content_type
            settle(api)
            before = snapshot(api)
            response = api.client.request(method, path, content=body, headers=headers)
            cases += 1
            assert response.status_code < 500, (method, path, content_type, body[:200])
            if response.status_code >= 400:
                assert snapshot(api) == before, (method, path, response.status_code, body[:200])
    COUNTS["bodies"] = COUNTS.get("bodies", 0) + cases
    print(f"\n{cases} generated bodies on {routes} routes")


def teardown_module() -> None:
    print(f"\nfuzz case counts: {COUNTS}")
