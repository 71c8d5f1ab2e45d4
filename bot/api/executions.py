"""Executions: start, read, search, resume (one or in bulk), pause, kill, logs.

Paths and status codes follow Kestra's ``/api/v1/executions`` (see docs/api.md). Where pausebot
differs, it is on purpose: JSON bodies are accepted next to multipart, a pause of a paused
execution is a 409 (a state conflict, like a resume of a running one), and a bulk resume
resumes what it can and lists the rest instead of refusing the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.api.auth import Actor
from bot.api.bodies import media_type, parse_json, read_values
from bot.api.deps import EngineDep
from bot.api.params import check_filter_text, has_control
from engine.engine import BulkOutcome, Engine
from engine.errors import ExecutionNotFound, NotFoundError
from engine.flows import Flow
from engine.inputs import InputDefinition
from engine.model import Execution
from engine.states import State
from engine.tasks.base import Task
from engine.tasks.pause import PauseTask

router = APIRouter(tags=["executions"])

BULK_MAX = 1000
# Bounds that keep LIMIT/OFFSET inside what every database accepts (a 64-bit OFFSET overflows).
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 500
_FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "additionalProperties": True}},
            "application/json": {"schema": {"type": "object", "additionalProperties": True}},
        },
    }
}
_IDS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}},
    }
}


def execution_json(engine: Engine, execution: Execution) -> dict[str, Any]:
    return execution.to_api(url=engine.url_of(execution))


# -- query parameters ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionFilter:
    namespace: str | None
    flow_id: str | None
    text: str | None
    states: tuple[str, ...] = ()


def _filter(
    namespace: Annotated[str | None, Query(description="Namespace (and its children).")] = None,
    flow_id: Annotated[str | None, Query(alias="flowId")] = None,
    q: Annotated[str | None, Query(description="Text in the id, namespace or flow id.")] = None,
) -> ExecutionFilter:
    check_filter_text("namespace", namespace)
    check_filter_text("flowId", flow_id)
    check_filter_text("q", q)
    return ExecutionFilter(namespace or None, flow_id or None, q or None)


def _filter_with_state(
    base: Annotated[ExecutionFilter, Depends(_filter)],
    state: Annotated[
        list[str] | None, Query(description="Repeatable, or comma-separated: PAUSED,RUNNING.")
    ] = None,
) -> ExecutionFilter:
    states: list[str] = []
    for item in state or []:
        states.extend(part.strip().upper() for part in item.split(",") if part.strip())
    unknown = [s for s in states if s not in State.__members__]
    if unknown:
        raise HTTPException(
            422, f"Unknown state {', '.join(unknown)}: use one of {', '.join(State.__members__)}."
        )
    return ExecutionFilter(base.namespace, base.flow_id, base.text, tuple(states))


def _labels(values: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition(":")
        key = key.strip()
        if not sep or not key:
            raise HTTPException(422, f"Invalid label {item!r}: labels are given as key:value.")
        if has_control(item):
            raise HTTPException(
                422, f"Invalid label {item!r}: control characters (such as NUL) are not allowed."
            )
        if key.startswith("system.") and key != "system.correlationId":
            raise HTTPException(422, f"Label {key!r} is reserved for the system.")
        labels[key] = value
    return labels


# -- searching and bulk resume (declared before /{executionId}/... so the literals win) ----


@router.get("/executions/search", summary="Search executions")
def search_executions(
    engine: EngineDep,
    where: Annotated[ExecutionFilter, Depends(_filter_with_state)],
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 25,
) -> dict[str, Any]:
    found, total = engine.search_executions(
        states=where.states,
        namespace=where.namespace,
        flow_id=where.flow_id,
        text=where.text,
        page=page,
        size=size,
    )
    return {"results": [execution_json(engine, e) for e in found], "total": total}


def _bulk_answer(outcome: BulkOutcome) -> dict[str, Any]:
    return {
        "count": len(outcome.resumed),
        "invalids": [
            {"invalidValue": execution_id, "message": why}
            for execution_id, why in outcome.refused.items()
        ],
    }


@router.post("/executions/resume/by-ids", openapi_extra=_IDS_BODY, summary="Resume many by id")
async def resume_by_ids(request: Request, engine: EngineDep, actor: Actor) -> dict[str, Any]:
    """Resumes each paused execution with its onResume defaults; the others are listed in
    ``invalids`` with the reason. Always 200: ``count`` says how many were resumed."""
    kind = media_type(request)
    if kind and kind != "application/json":
        raise HTTPException(415, "Send the execution ids as a JSON array (application/json).")
    ids = parse_json(await request.body())
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise HTTPException(422, 'The body must be a JSON array of execution ids: ["id1", "id2"].')
    if len(ids) > BULK_MAX:
        raise HTTPException(422, f"At most {BULK_MAX} ids per request, got {len(ids)}.")
    return _bulk_answer(await run_in_threadpool(partial(resume_ids, engine, ids, by=actor)))


def resume_ids(engine: Engine, ids: list[str], *, by: dict[str, Any]) -> BulkOutcome:
    """``engine.resume_many``, except that an id with a control character is refused as unknown
    without asking the database (PostgreSQL would fail the whole batch on a NUL)."""
    unknown = {i: str(ExecutionNotFound(i)) for i in ids if has_control(i)}
    outcome = engine.resume_many([i for i in ids if i not in unknown], by=by, via="bulk")
    if not unknown:
        return outcome
    order = {i: n for n, i in enumerate(ids)}
    refused = sorted({**outcome.refused, **unknown}.items(), key=lambda item: order[item[0]])
    return BulkOutcome(outcome.resumed, dict(refused))


@router.post("/executions/resume/by-query", summary="Resume every paused execution matching")
def resume_by_query(
    engine: EngineDep, actor: Actor, where: Annotated[ExecutionFilter, Depends(_filter)]
) -> dict[str, Any]:
    """Same filters as search; the state is always PAUSED."""
    ids: list[str] = []
    page = 1
    while True:  # collect first: resuming while paging would shift the pages
        found, total = engine.search_executions(
            states=[State.PAUSED.value],
            namespace=where.namespace,
            flow_id=where.flow_id,
            text=where.text,
            page=page,
            size=500,
        )
        ids.extend(e.id for e in found)
        if not found or len(ids) >= total:
            break
        page += 1
    return _bulk_answer(engine.resume_many(ids, by=actor, via="bulk"))


# -- one execution ------------------------------------------------------------------------


@router.get("/executions/{execution_id}", summary="Get an execution")
def get_execution(execution_id: str, engine: EngineDep) -> dict[str, Any]:
    return execution_json(engine, engine.get_execution(execution_id))


def _input_json(definition: InputDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_none=True)


def _task_json(task: Task) -> dict[str, Any]:
    children = [child for block in task.child_blocks().values() for child in block]
    data: dict[str, Any] = {
        "id": task.id,
        "type": task.type,
        "description": task.description,
        # Kestra's FlowForExecution: a Pause's ``inputs`` are its onResume definitions, which is
        # what a client needs to build the resume form.
        "inputs": [_input_json(d) for d in task.onResume or []]
        if isinstance(task, PauseTask)
        else None,
        "tasks": [_task_json(child) for child in children] or None,
    }
    return data


def flow_for_execution(flow: Flow, revision: int) -> dict[str, Any]:
    return {
        "id": flow.id,
        "namespace": flow.namespace,
        "revision": revision,
        "description": flow.description,
        "labels": [{"key": k, "value": v} for k, v in flow.labels.items()],
        "inputs": [_input_json(d) for d in flow.inputs],
        "tasks": [_task_json(t) for t in flow.tasks],
        "errors": [_task_json(t) for t in flow.errors],
        "finally": [_task_json(t) for t in flow.finally_],
        "afterExecution": [_task_json(t) for t in flow.afterExecution],
        "disabled": flow.disabled,
        "deleted": False,
    }


@router.get("/executions/{execution_id}/flow", summary="The flow revision an execution runs")
def get_execution_flow(execution_id: str, engine: EngineDep) -> dict[str, Any]:
    execution = engine.get_execution(execution_id)
    return flow_for_execution(engine.flow_of(execution), execution.flowRevision)


@router.post(
    "/executions/{execution_id}/resume",
    status_code=204,
    openapi_extra=_FORM_BODY,
    summary="Resume a paused execution with onResume values",
)
async def resume_execution(
    execution_id: str,
    request: Request,
    engine: EngineDep,
    actor: Actor,
    task_run_id: Annotated[
        str | None, Query(alias="taskRunId", description="Which of several paused task runs.")
    ] = None,
) -> Response:
    """204 when resumed; 409 if it is not paused (saying who decided and when); 422 with one
    error per invalid field; 404 for an unknown id or task run."""
    values = await read_values(request, what="onResume values")
    if task_run_id is not None:
        # The engine answers a conflict for a task run it cannot find; for the client it is an
        # unknown id like any other. Task runs are never removed, so checking first is safe.
        execution = await run_in_threadpool(engine.get_execution, execution_id)
        if execution.task_run(task_run_id) is None:
            raise NotFoundError(f"Execution '{execution_id}' has no task run '{task_run_id}'.")
    await run_in_threadpool(
        partial(
            engine.resume_execution,
            execution_id,
            values,
            by=actor,
            via="api",
            task_run_id=task_run_id,
        )
    )
    return Response(status_code=204)


@router.post("/executions/{execution_id}/pause", status_code=204, summary="Pause a running one")
def pause_execution(execution_id: str, engine: EngineDep, actor: Actor) -> Response:
    """409 when the execution is not running (Kestra answers 422 here)."""
    engine.pause_execution(execution_id, by=actor, via="api")
    return Response(status_code=204)


@router.delete("/executions/{execution_id}/kill", status_code=202, summary="Kill an execution")
def kill_execution(
    execution_id: str,
    engine: EngineDep,
    actor: Actor,
    reason: Annotated[str | None, Query(max_length=2000, description="For the audit.")] = None,
) -> JSONResponse:
    execution = engine.kill_execution(execution_id, by=actor, via="api", reason=reason or None)
    return JSONResponse(execution_json(engine, execution), status_code=202)


@router.post(
    "/executions/{namespace}/{flow_id}",
    openapi_extra=_FORM_BODY,
    summary="Start an execution of a flow",
)
async def create_execution(
    namespace: str,
    flow_id: str,
    request: Request,
    engine: EngineDep,
    actor: Actor,
    labels: Annotated[list[str] | None, Query(description="Repeatable key:value.")] = None,
) -> dict[str, Any]:
    """Inputs as multipart form fields (Kestra's format) or a JSON object. Returns the execution,
    with ``url``, its page in the web UI."""
    label_map = _labels(labels or [])
    inputs = await read_values(request, what="flow inputs")
    execution = await run_in_threadpool(
        partial(
            engine.start_execution,
            namespace,
            flow_id,
            inputs,
            labels=label_map,
            by=actor,
            via="api",
        )
    )
    return execution_json(engine, execution)


# -- logs ---------------------------------------------------------------------------------


@router.get("/logs/{execution_id}", tags=["logs"], summary="An execution's logs")
def get_logs(
    execution_id: str,
    engine: EngineDep,
    min_level: Annotated[
        Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] | None, Query(alias="minLevel")
    ] = None,
    task_id: Annotated[str | None, Query(alias="taskId")] = None,
    task_run_id: Annotated[str | None, Query(alias="taskRunId")] = None,
) -> list[dict[str, Any]]:
    entries = engine.logs(execution_id, min_level=min_level)
    return [
        entry.to_api()
        for entry in entries
        if (task_id is None or entry.task_id == task_id)
        and (task_run_id is None or entry.task_run_id == task_run_id)
    ]
