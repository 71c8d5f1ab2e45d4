from __future__ import annotations

import json

import httpx

from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class SlackIncomingWebhookTask(Task):
    """Posts ``payload`` (a JSON string, rendered) or ``messageText`` to a Slack incoming webhook."""

    type_names = (
        "io.kestra.plugin.notifications.slack.SlackIncomingWebhook",
        "io.kestra.plugin.slack.notifications.SlackIncomingWebhook",
    )
    url: str
    payload: str | None = None
    messageText: str | None = None

    def run(self, context: RunContext) -> TaskResult:
        url = context.render_text(self.url)
        if self.payload is not None:
            text = context.render_text(self.payload)
            try:
                json.loads(text)
            except ValueError as error:
                raise context.fail(f"payload is not valid JSON after rendering: {error}") from None
        elif self.messageText is not None:
            text = json.dumps({"text": context.render_text(self.messageText)})
        else:
            raise context.fail("either payload or messageText is required")
        try:
            with httpx.Client(timeout=context.http_timeout) as client:
                response = client.post(
                    url, content=text, headers={"Content-Type": "application/json"}
                )
        except httpx.HTTPError as error:
            raise context.fail(f"POST to the Slack webhook failed: {error}") from None
        if response.status_code >= 400:
            raise context.fail(
                f"the Slack webhook answered HTTP {response.status_code}: {response.text[:200]}"
            )
        return TaskResult()
