"""``pausebot mcp``: an MCP server (the official ``mcp`` SDK) so an AI agent can ask people for
an approval before a risky step, and get their typed answer.

Tools: ``request_approval`` (ask; optionally wait for the answer), ``get_approval`` (read one,
optionally waiting) and ``list_pending``. It is a client of a running pausebot service
(``PAUSEBOT_URL``, ``PAUSEBOT_API_TOKEN``: give it a token with only the ``approvals`` scope, so
the agent can ask but never decide). Transports: stdio (what desktop and IDE agents start) and
streamable HTTP (``--transport streamable-http``, path ``/mcp``). Wiring: docs/approvals.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from bot.client import ApprovalError, AsyncPausebotClient

MAX_WAIT_SECONDS = 300

INSTRUCTIONS = """\
Use pausebot to ask a person for approval before an action that is risky, irreversible or
costly (deploying, deleting, paying, emailing customers). Call request_approval with a clear
title and a Markdown description of exactly what you will do; add inputs when you need typed
values from the person (e.g. a SELECT of options). Then wait for the answer (wait_seconds, or
get_approval) and act only if the state is APPROVED; DENIED, EXPIRED and CANCELLED mean do not
do it. Reuse the same idempotency_key when you retry, so the person is asked once."""


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "id",
        "state",
        "title",
        "decision",
        "by",
        "on",
        "comment",
        "inputs",
        "expiresAt",
        "url",
        "labels",
    )
    return {key: data.get(key) for key in keep}


def _refused(error: ApprovalError) -> ToolError:
    details = "; ".join(f"{e.get('path')}: {e.get('message')}" for e in error.errors)
    return ToolError(
        f"pausebot refused ({error.status}): {error}" + (f" [{details}]" if details else "")
    )


def build_server(
    client_factory: Callable[[], AsyncPausebotClient] | None = None,
) -> MCPServer:
    """The MCP server; ``client_factory`` makes the API client (default: from the environment)."""
    make_client = client_factory or (lambda: AsyncPausebotClient())
    server: MCPServer = MCPServer(name="pausebot", instructions=INSTRUCTIONS)

    @server.tool()
    async def request_approval(
        title: str,
        description: str | None = None,
        inputs: list[dict[str, Any]] | None = None,
        approve_label: str | None = None,
        deny_label: str | None = None,
        comment_required: str | None = None,
        timeout: str | None = None,
        labels: dict[str, str] | None = None,
        slack_channel: str | None = None,
        idempotency_key: str | None = None,
        wait_seconds: int = 0,
    ) -> dict[str, Any]:
        """Ask people (in Slack and the web UI) to approve or deny something.

        inputs: typed fields for the reviewer, e.g.
        [{"id": "window", "type": "SELECT", "values": ["now", "tonight"], "defaults": "now"}]
        (types: STRING, INT, FLOAT, BOOLEAN, SELECT, MULTISELECT, DATE, DATETIME, ...).
        comment_required: NEVER, ALWAYS, ON_DENY or ON_APPROVE. timeout: ISO-8601 such as PT1H.
        wait_seconds: wait up to this long (at most 300) for the decision before answering.
        Returns the request: act only when its state is APPROVED.
        """
        decisions = None
        if approve_label or deny_label:
            decisions = {"approve": approve_label or "Approve", "deny": deny_label or "Deny"}
        async with make_client() as client:
            try:
                approval = await client.request_approval(
                    title,
                    description=description,
                    inputs=inputs,
                    decisions=decisions,
                    comment_required=comment_required,
                    timeout=timeout,
                    labels=labels,
                    slack_channel=slack_channel,
                    idempotency_key=idempotency_key,
                )
                if wait_seconds > 0:
                    approval = await client.wait(
                        approval, timeout=min(wait_seconds, MAX_WAIT_SECONDS)
                    )
            except ApprovalError as error:
                raise _refused(error) from None
        return _summary(approval.raw)

    @server.tool()
    async def get_approval(approval_id: str, wait_seconds: int = 0) -> dict[str, Any]:
        """Read an approval request: its state (PENDING, APPROVED, DENIED, EXPIRED, CANCELLED),
        who decided, when, their comment and the typed inputs they gave. wait_seconds (at most
        300) waits for the decision first."""
        async with make_client() as client:
            try:
                if wait_seconds > 0:
                    approval = await client.wait(
                        approval_id, timeout=min(wait_seconds, MAX_WAIT_SECONDS)
                    )
                else:
                    approval = await client.get_approval(approval_id)
            except ApprovalError as error:
                raise _refused(error) from None
        return _summary(approval.raw)

    @server.tool()
    async def list_pending(labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The approval requests still waiting for a decision (this token's own), newest
        first; labels filters them (all must match)."""
        async with make_client() as client:
            try:
                found = await client.list_approvals(state="PENDING", labels=labels, size=100)
            except ApprovalError as error:
                raise _refused(error) from None
        return [_summary(approval.raw) for approval in found]

    return server


def run(transport: str, host: str, port: int) -> None:
    server = build_server()
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port)
