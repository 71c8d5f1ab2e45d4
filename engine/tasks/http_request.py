from __future__ import annotations

import threading
from typing import Any

import httpx
from pydantic import Field

from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class HttpRequestTask(Task):
    """One HTTP request (httpx). Outputs ``uri``, ``code``, ``headers`` and ``body`` (a string, as
    in Kestra). A status >= 400 fails the task unless ``allowFailed`` (or ``options.allowFailed``)."""

    type_names = (
        "io.kestra.plugin.core.http.Request",
        "io.kestra.plugin.fs.http.Request",
        "io.kestra.core.tasks.http.Request",
    )
    uri: str
    method: str = "GET"
    body: Any = None
    formData: dict[str, Any] | None = None
    contentType: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    allowFailed: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    sslOptions: dict[str, Any] | None = None

    def run(self, context: RunContext) -> TaskResult:
        uri = context.render_text(self.uri)
        method = context.render_text(self.method).upper()
        headers = {str(k): context.render_text(v) for k, v in self.headers.items()}
        content: str | bytes | None = None
        data = None
        if self.body is not None:
            rendered = context.render(self.body)
            content = rendered if isinstance(rendered, str) else _json(rendered)
            headers.setdefault("Content-Type", self.contentType or "application/json")
        elif self.formData is not None:
            data = {k: str(v) for k, v in context.render(self.formData).items()}
        allow_failed = self.allowFailed or bool(self.options.get("allowFailed"))
        timeout = _timeout(self.options, context)
        follow = bool(self.options.get("followRedirects", True))
        # A Client per request keeps cookies from leaking between executions; the transport
        # (connection pool and SSL context, costly to build) is shared by all of them.
        client = httpx.Client(timeout=timeout, follow_redirects=follow, transport=_transport())
        try:
            response = client.request(method, uri, content=content, data=data, headers=headers)
        except httpx.HTTPError as error:
            raise context.fail(f"{method} {uri} failed: {error}") from None
        outputs = {
            "uri": str(response.url),
            "code": response.status_code,
            "headers": {k: response.headers.get_list(k) for k in response.headers},
            "body": response.text,
        }
        if response.status_code >= 400 and not allow_failed:
            context.log(
                "ERROR", f"{method} {uri} answered {response.status_code}: {response.text[:500]}"
            )
            raise context.fail(f"{method} {uri} answered HTTP {response.status_code}")
        return TaskResult(outputs=outputs)


_shared: dict[str, httpx.HTTPTransport] = {}
_shared_lock = threading.Lock()


def _transport() -> httpx.HTTPTransport:
    """One connection pool and one SSL context for every http.Request of this process
    (building an SSL context costs milliseconds; httpx's pool is thread-safe)."""
    transport = _shared.get("default")
    if transport is None:
        with _shared_lock:
            transport = _shared.get("default")
            if transport is None:
                transport = _shared["default"] = httpx.HTTPTransport()
    return transport


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _timeout(options: dict[str, Any], context: RunContext) -> float:
    from engine.inputs import parse_duration

    for key in ("readTimeout", "connectTimeout"):
        if isinstance(options.get(key), str):
            return parse_duration(options[key]).total_seconds()
    return context.http_timeout
