"""Waiting for an execution: ``GET /executions/{id}/follow`` (server-sent events, as Kestra's UI
and CLI use it) and ``wait=true`` on start.

The stream, as Kestra sends it: ``id: start`` (data ``{"id": ...}``), then ``id: progress`` with
the execution each time it changes, and ``id: end`` with the final execution, after which the
stream closes. An execution already finished gets ``start`` and ``end`` only. A paused execution
is not finished: its stream stays open (with a ``: keep-alive`` comment every 15 s) until it
is resumed and ends, or the client goes away.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from bot.api.deps import EngineDep
from engine.engine import Engine
from engine.model import Execution
from engine.states import TERMINAL, State

router = APIRouter(tags=["executions"])

POLL_SECONDS = 0.2
KEEP_ALIVE_SECONDS = 15.0


def _json(engine: Engine, execution: Execution) -> dict[str, Any]:
    return execution.to_api(url=engine.url_of(execution))


def _event(name: str, data: dict[str, Any]) -> str:
    return f"id: {name}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


@router.get(
    "/executions/{execution_id}/follow",
    summary="Follow an execution (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def follow_execution(execution_id: str, request: Request, engine: EngineDep) -> Any:
    first = await run_in_threadpool(engine.get_execution, execution_id)  # 404 before streaming
    return StreamingResponse(
        _stream(engine, first, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(engine: Engine, execution: Execution, request: Request) -> AsyncIterator[str]:
    yield _event("start", {"id": execution.id})
    shown = _json(engine, execution)
    if execution.state.current in TERMINAL:
        yield _event("end", shown)
        return
    yield _event("progress", shown)
    quiet = 0.0
    while not await request.is_disconnected():
        await asyncio.sleep(POLL_SECONDS)
        execution = await run_in_threadpool(engine.get_execution, execution.id)
        current = _json(engine, execution)
        if execution.state.current in TERMINAL:
            yield _event("end", current)
            return
        if current != shown:
            shown, quiet = current, 0.0
            yield _event("progress", current)
            continue
        quiet += POLL_SECONDS
        if quiet >= KEEP_ALIVE_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"


async def wait_until_settled(engine: Engine, execution: Execution, request: Request) -> Execution:
    """``wait=true``: the execution once it has ended, or paused (a pause may last for weeks,
    so waiting stops there), or the client has gone."""
    while execution.state.current not in TERMINAL and execution.state.current != State.PAUSED:
        if await request.is_disconnected():
            break
        await asyncio.sleep(POLL_SECONDS)
        execution = await run_in_threadpool(engine.get_execution, execution.id)
    return execution
