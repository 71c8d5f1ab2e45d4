"""An AI agent that asks a person before a risky tool call, with pausebot's approval requests.

Three ways to wire it, from the most to the least direct:

1. ``require_approval`` (plain Python, the pausebot client): wraps any tool function so that it
   runs only once a person approved it in Slack or the web UI, with the typed values they gave.
   Use it in a LangGraph node (instead of ``interrupt()``, which needs your own UI to resume) or
   in any agent loop.
2. ``openai_agents_tool`` (OpenAI Agents SDK): the same guard as a ``function_tool``.
3. ``ask_over_mcp`` (any MCP-capable agent): starts ``pausebot mcp`` and calls its
   ``request_approval`` tool, as an MCP client such as Claude Desktop would.

Run it against a service (``PAUSEBOT_URL``, ``PAUSEBOT_API_TOKEN``: an ``approvals`` token)::

    python examples/agent_approval.py staging-assets          # the guarded tool, plain client
    python examples/agent_approval.py --mcp staging-assets    # the same question through pausebot mcp

LangGraph, sketched (``pip install langgraph``)::

    from langgraph.graph import StateGraph

    def delete_bucket(state):
        decided = ask("Delete bucket " + state["bucket"] + "?", key=state["run_id"])
        if not decided.approved:
            return {"result": f"not deleted: {decided.state} ({decided.comment or 'no comment'})"}
        return {"result": really_delete(state["bucket"], keep_days=decided.inputs["keep_days"])}

    graph = StateGraph(dict)
    graph.add_node("delete_bucket", delete_bucket)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from pausebot.client import Approval, PausebotClient

KEEP_DAYS = {"id": "keep_days", "type": "INT", "defaults": 7, "description": "Keep backups for"}


class NotApproved(Exception):
    def __init__(self, approval: Approval) -> None:
        self.approval = approval
        super().__init__(
            f"{approval.title}: {approval.state}"
            + (f" by {approval.by}" if approval.by else "")
            + (f" ({approval.comment})" if approval.comment else "")
        )


def ask(
    title: str,
    *,
    description: str | None = None,
    inputs: list[dict[str, Any]] | None = None,
    key: str | None = None,
    timeout: str = "PT30M",
    client: PausebotClient | None = None,
) -> Approval:
    """Asks and waits for the answer (expired after ``timeout``; never a silent default)."""
    own = client is None
    client = client or PausebotClient()
    try:
        asked = client.request_approval(
            title,
            description=description,
            inputs=inputs,
            timeout=timeout,
            comment_required="ON_DENY",
            labels={"source": "agent"},
            idempotency_key=key,
        )
        print(f"waiting for a person: {asked.url}", file=sys.stderr)
        return client.wait(asked)
    finally:
        if own:
            client.close()


def require_approval(
    title: str,
    *,
    inputs: list[dict[str, Any]] | None = None,
    client_factory: Callable[[], PausebotClient] = PausebotClient,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator: the tool runs only when approved, with the reviewer's inputs as keyword
    arguments (they override the agent's own); otherwise ``NotApproved`` says who refused."""

    def decorate(tool: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(tool)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            described = json.dumps({"args": args, "kwargs": kwargs}, default=str, indent=2)
            with client_factory() as client:
                decided = ask(
                    title,
                    description=f"The agent wants to call `{tool.__name__}` with:\n```\n{described}\n```",
                    inputs=inputs,
                    client=client,
                )
            if not decided.approved:
                raise NotApproved(decided)
            return tool(*args, **{**kwargs, **decided.inputs})

        return guarded

    return decorate


@require_approval("Delete a storage bucket?", inputs=[KEEP_DAYS])
def delete_bucket(bucket: str, keep_days: int = 7) -> str:
    return f"deleted {bucket}, backups kept {keep_days} days"  # the real work would go here


def openai_agents_tool() -> Any:
    """``delete_bucket`` as an OpenAI Agents SDK tool (``pip install openai-agents``)."""
    from agents import function_tool  # type: ignore[import-not-found]

    @function_tool
    def delete_storage_bucket(bucket: str) -> str:
        """Delete a storage bucket (a person approves it first)."""
        try:
            return delete_bucket(bucket)
        except NotApproved as refused:
            return f"Not done: {refused}"

    return delete_storage_bucket


async def ask_over_mcp(title: str) -> dict[str, Any]:
    """Calls ``pausebot mcp``'s tools with the official MCP client over stdio."""
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command="pausebot",
        args=["mcp"],
        env={k: os.environ[k] for k in ("PAUSEBOT_URL", "PAUSEBOT_API_TOKEN") if k in os.environ},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("request_approval", {"title": title, "wait_seconds": 300})
        if result.is_error:
            raise RuntimeError(str(result.content))
        answer: dict[str, Any] = result.structured_content or {}
        return answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bucket")
    parser.add_argument("--mcp", action="store_true", help="ask through `pausebot mcp`")
    options = parser.parse_args()
    if options.mcp:
        answer = asyncio.run(ask_over_mcp(f"Delete the storage bucket {options.bucket}?"))
        print(json.dumps(answer, indent=2))
        return 0 if answer.get("state") == "APPROVED" else 1
    try:
        print(delete_bucket(options.bucket))
    except NotApproved as refused:
        print(f"not done: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
