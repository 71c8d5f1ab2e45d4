"""notifications.teams.TeamsIncomingWebhook (and its Microsoft 365 plugin name): posts ``payload``
(a JSON string, rendered) to a Microsoft Teams incoming webhook ``url``."""

from __future__ import annotations

import json

import httpx

from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class TeamsIncomingWebhookTask(Task):
    type_names = (
        "io.kestra.plugin.notifications.teams.TeamsIncomingWebhook",
        "io.kestra.plugin.microsoft365.teams.TeamsIncomingWebhook",
    )
    url: str
    payload: str | None = None

    def run(self, context: RunContext) -> TaskResult:
        url = context.render_text(self.url)
        if self.payload is None:
            raise context.fail("payload is required (the JSON message card to post)")
        text = context.render_text(self.payload)
        try:
            json.loads(text)
        except ValueError as error:
            raise context.fail(f"payload is not valid JSON after rendering: {error}") from None
        try:
            with httpx.Client(timeout=context.http_timeout) as client:
                response = client.post(
                    url, content=text.encode(), headers={"Content-Type": "application/json"}
                )
        except httpx.HTTPError as error:
            raise context.fail(f"POST to the Teams webhook failed: {error}") from None
        if response.status_code >= 400:
            raise context.fail(
                f"the Teams webhook answered HTTP {response.status_code}: {response.text[:200]}"
            )
        return TaskResult()
