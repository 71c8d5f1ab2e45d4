"""http.Download: downloads ``uri`` into the internal storage (streamed, bounded by the storage's
size limit). Outputs as Kestra's: ``uri`` (kestra:///), ``code``, ``length``, ``headers``. A status
>= 400 fails the task; ``failOnEmptyResponse`` (default true) fails on an empty body."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

import httpx
from pydantic import Field

from engine.tasks.base import RunContext, Task, TaskResult, register

MAX_DOWNLOAD = 512 * 1024 * 1024  # a hard ceiling even for directory storage


@register
class HttpDownloadTask(Task):
    type_names = (
        "io.kestra.plugin.core.http.Download",
        "io.kestra.plugin.fs.http.Download",
        "io.kestra.core.tasks.http.Download",
    )
    uri: str
    method: str = "GET"
    body: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    failOnEmptyResponse: bool = True
    options: dict[str, Any] = Field(default_factory=dict)
    sslOptions: dict[str, Any] | None = None

    def run(self, context: RunContext) -> TaskResult:
        storage = getattr(context.services, "storage", None)
        if storage is None:
            raise context.fail("http.Download needs the engine's file storage")
        uri = context.render_text(self.uri)
        method = context.render_text(self.method).upper()
        headers = {str(k): context.render_text(v) for k, v in self.headers.items()}
        content = context.render_text(self.body).encode() if self.body is not None else None
        limit = min(MAX_DOWNLOAD, getattr(storage.backend, "max_bytes", MAX_DOWNLOAD))
        chunks: list[bytes] = []
        size = 0
        try:
            with (
                httpx.Client(timeout=context.http_timeout, follow_redirects=True) as client,
                client.stream(method, uri, content=content, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    raise context.fail(f"{method} {uri} answered HTTP {response.status_code}")
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise context.fail(
                            f"{uri} is larger than the file storage's limit of {limit:,} bytes"
                        )
                    chunks.append(chunk)
        except httpx.HTTPError as error:
            raise context.fail(f"{method} {uri} failed: {error}") from None
        if size == 0 and self.failOnEmptyResponse:
            raise context.fail(f"{uri} answered an empty body (failOnEmptyResponse)")
        name = unquote(urlparse(str(response.url)).path.rsplit("/", 1)[-1]) or "download"
        stored = storage.put_for(context, name, b"".join(chunks))
        context.log("INFO", f"Downloaded {size:,} bytes from {uri}.")
        return TaskResult(
            outputs={
                "uri": stored,
                "code": response.status_code,
                "length": size,
                "headers": {k: response.headers.get_list(k) for k in response.headers},
            }
        )
