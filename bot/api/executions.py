"""Executions: start, read, search, resume (one or in bulk), pause, kill, logs.

Paths and status codes follow Kestra's ``/api/v1/executions`` (see docs/api.md). Where pausebot
differs, it is on purpose: JSON bodies are accepted next to multipart, a pause of a paused
execution is a 409 (a state conflict, like a resume of a running one), and a bulk resume
resumes what it can and lists the rest instead of refusing the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.api.auth import Actor
from bot.api.bodies import media_type, parse_json, read_values
from bot.api.deps import EngineDep
from bot.api.follow import wait_until_settled
from bot.api.params import check_filter_text, has_control
from engine.engine import BulkOutcome, Engine
from engine.errors import (
    ConflictError,
    ExecutionNotFound,
    InputValidationError,
    NotFoundError,
    PausebotError,
)
from engine.flows import Flow
from engine.inputs import InputDefinition, parse_duration, parse_inputs
from engine.model import Execution
from engine.queries import SORT_FIELDS, DateRange, SortKey
from engine.states import State
from engine.tasks.approval import ApprovalTask, ReviewDecision
from engine.tasks.base import Task
from engine.tasks.pause import PauseTask

router = APIRouter(tags=["executions"])

BULK_MAX = 1000
DEFAULT_PAGE_SIZE = 10  # Kestra's
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
    """Kestra's search filters (``GET /executions/search`` and the by-query bulk actions)."""

    namespace: str | None = None
    flow_id: str | None = None
    text: str | None = None
    states: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    dates: DateRange | None = None


def _when(name: str, text: str | None) -> datetime | None:
    """Kestra's ``yyyy-MM-dd'T'HH:mm[:ss][.SSS][XXX]``; without an offset, UTC."""
    if text is None or text == "":
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            422,
            f"Invalid {name} {text!r}: expected an ISO-8601 date and time such as "
            "2026-12-01T10:00:00Z.",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _states(values: list[str] | None) -> tuple[str, ...]:
    states: list[str] = []
    for item in values or []:
        states.extend(part.strip().upper() for part in item.split(",") if part.strip())
    unknown = [s for s in states if s not in State.__members__]
    if unknown:
        raise HTTPException(
            422, f"Unknown state {', '.join(unknown)}: use one of {', '.join(State.__members__)}."
        )
    return tuple(dict.fromkeys(states))


def _filter(
    engine: EngineDep,
    namespace: Annotated[str | None, Query(description="Namespace (and its children).")] = None,
    flow_id: Annotated[str | None, Query(alias="flowId")] = None,
    q: Annotated[
        str | None, Query(description="Text in the id, namespace or flow id (literally).")
    ] = None,
    state: Annotated[
        list[str] | None, Query(description="Repeatable, or comma-separated: PAUSED,RUNNING.")
    ] = None,
    labels: Annotated[
        list[str] | None, Query(description="Repeatable key:value; all must match.")
    ] = None,
    start_date: Annotated[
        str | None, Query(alias="startDate", description="state.startDate at or after (ISO-8601).")
    ] = None,
    end_date: Annotated[
        str | None, Query(alias="endDate", description="state.endDate at or before (ISO-8601).")
    ] = None,
    time_range: Annotated[
        str | None,
        Query(
            alias="timeRange",
            description="Started within this ISO-8601 duration before now (PT5M, P1D); "
            "not with startDate.",
        ),
    ] = None,
) -> ExecutionFilter:
    check_filter_text("namespace", namespace)
    check_filter_text("flowId", flow_id)
    check_filter_text("q", q)
    after = _when("startDate", start_date)
    before = _when("endDate", end_date)
    if time_range:
        if after is not None:
            raise HTTPException(
                422, "Parameters 'startDate' and 'timeRange' are mutually exclusive."
            )
        try:
            span = abs(parse_duration(time_range))
            after = engine.clock.now() - span
        except (ValueError, TypeError, OverflowError) as error:
            raise HTTPException(422, f"Invalid timeRange: {error}.") from None
    if after is not None and before is not None and after > before:
        raise HTTPException(422, "startDate must be before endDate.")
    return ExecutionFilter(
        namespace or None,
        flow_id or None,
        q or None,
        _states(state),
        _labels(labels or []),
        DateRange(after, before) if after or before else None,
    )


def _sort(
    sort: Annotated[
        list[str] | None,
        Query(description=f"field:asc|desc, repeatable; fields: {', '.join(SORT_FIELDS)}."),
    ] = None,
) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    for item in sort or []:
        for part in (p.strip() for p in item.split(",")):
            name, _, direction = part.partition(":")
            if name not in SORT_FIELDS:
                raise HTTPException(
                    422, f"Unsupported sort field {name!r}: use one of {', '.join(SORT_FIELDS)}."
                )
            if direction.lower() not in ("", "asc", "desc"):
                raise HTTPException(
                    422, f"Invalid sort direction {direction!r} for {name}: use asc or desc."
                )
            keys.append(SortKey(name, direction.lower() == "desc"))
    return tuple(keys)


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
    where: Annotated[ExecutionFilter, Depends(_filter)],
    sort: Annotated[tuple[SortKey, ...], Depends(_sort)],
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    found, total = engine.search_executions(
        states=where.states,
        namespace=where.namespace,
        flow_id=where.flow_id,
        text=where.text,
        labels=where.labels,
        dates=where.dates,
        sort=sort,
        page=page,
        size=size,
    )
    return {"results": [execution_json(engine, e) for e in found], "total": total}


def _bulk_answer(outcome: BulkOutcome) -> dict[str, Any]:
    """Kestra's BulkResponse (``count``), plus ``ids``: which executions were acted on, in
    order, so a caller sees exactly what a by-query action selected."""
    return {
        "count": len(outcome.resumed),
        "ids": list(outcome.resumed),
        "invalids": [
            {
                "invalidValue": execution_id,
                "message": why,
                **outcome.conflicts.get(execution_id, {}),
            }
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
    return BulkOutcome(outcome.resumed, dict(refused), outcome.conflicts)


@router.post("/executions/resume/by-query", summary="Resume every paused execution matching")
def resume_by_query(
    engine: EngineDep, actor: Actor, where: Annotated[ExecutionFilter, Depends(_filter)]
) -> dict[str, Any]:
    """Same filters as search; the state is always PAUSED."""
    ids = matching_ids(engine, where, [State.PAUSED.value])
    return _bulk_answer(engine.resume_many(ids, by=actor, via="bulk"))


def matching_ids(engine: Engine, where: ExecutionFilter, states: list[str]) -> list[str]:
    """Every execution id a by-query action applies to: the filter's, in the states the action
    applies to (a ``state`` filter narrows them, never widens). Collected first: acting while
    paging would shift the pages."""
    if where.states:
        states = [s for s in states if s in where.states]
        if not states:
            return []
    ids: list[str] = []
    page = 1
    while True:
        found, total = engine.search_executions(
            states=states,
            namespace=where.namespace,
            flow_id=where.flow_id,
            text=where.text,
            labels=where.labels,
            dates=where.dates,
            sort=(SortKey("id"),),
            page=page,
            size=500,
        )
        ids.extend(e.id for e in found)
        if not found or len(ids) >= total:
            break
        page += 1
    return ids


async def _ids_body(request: Request) -> list[str]:
    kind = media_type(request)
    if kind and kind != "application/json":
        raise HTTPException(415, "Send the execution ids as a JSON array (application/json).")
    ids = parse_json(await request.body())
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise HTTPException(422, 'The body must be a JSON array of execution ids: ["id1", "id2"].')
    if len(ids) > BULK_MAX:
        raise HTTPException(422, f"At most {BULK_MAX} ids per request, got {len(ids)}.")
    return ids


def _each(engine: Engine, ids: list[str], act: Any) -> dict[str, Any]:
    """A bulk action, each execution on its own: ``count`` done, ``invalids`` with why."""
    done: list[str] = []
    refused: dict[str, str] = {}
    conflicts: dict[str, dict[str, Any]] = {}
    for execution_id in dict.fromkeys(ids):
        if has_control(execution_id):
            refused[execution_id] = str(ExecutionNotFound(execution_id))
            continue
        try:
            act(execution_id)
            done.append(execution_id)
        except ConflictError as error:
            refused[execution_id] = str(error)
            conflicts[execution_id] = error.as_dict()
        except PausebotError as error:
            refused[execution_id] = str(error)
    return _bulk_answer(BulkOutcome(done, refused, conflicts))


_LIVE = [s.value for s in State if not s.is_terminal]


@router.delete("/executions/kill/by-ids", openapi_extra=_IDS_BODY, summary="Kill many by id")
async def kill_by_ids(request: Request, engine: EngineDep, actor: Actor) -> dict[str, Any]:
    ids = await _ids_body(request)
    kill = partial(engine.kill_execution, by=actor, via="bulk")
    return await run_in_threadpool(_each, engine, ids, kill)


@router.delete("/executions/kill/by-query", summary="Kill every unfinished execution matching")
def kill_by_query(
    engine: EngineDep, actor: Actor, where: Annotated[ExecutionFilter, Depends(_filter)]
) -> dict[str, Any]:
    ids = matching_ids(engine, where, _LIVE)
    return _each(engine, ids, partial(engine.kill_execution, by=actor, via="bulk"))


@router.post("/executions/pause/by-ids", openapi_extra=_IDS_BODY, summary="Pause many by id")
async def pause_by_ids(request: Request, engine: EngineDep, actor: Actor) -> dict[str, Any]:
    ids = await _ids_body(request)
    pause = partial(engine.pause_execution, by=actor, via="bulk")
    return await run_in_threadpool(_each, engine, ids, pause)


@router.post("/executions/pause/by-query", summary="Pause every running execution matching")
def pause_by_query(
    engine: EngineDep, actor: Actor, where: Annotated[ExecutionFilter, Depends(_filter)]
) -> dict[str, Any]:
    ids = matching_ids(engine, where, [State.RUNNING.value, State.CREATED.value])
    return _each(engine, ids, partial(engine.pause_execution, by=actor, via="bulk"))


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
        else [_input_json(d) for d in task.inputs or []]
        if isinstance(task, ApprovalTask)
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


@router.post(
    "/executions/{execution_id}/actions/review",
    openapi_extra=_FORM_BODY,
    summary="Approve or deny an Approval task run",
)
async def review_execution(
    execution_id: str,
    request: Request,
    engine: EngineDep,
    actor: Actor,
    decision: Annotated[ReviewDecision, Query(description="APPROVE or DENY.")],
    task_run_id: Annotated[
        str | None, Query(alias="taskRunId", description="The Approval task run (default: first).")
    ] = None,
) -> dict[str, Any]:
    """Kestra's review action: the reviewer's comment is the part (or key) named ``comment``,
    the other parts are the Approval's ``inputs``. 200 with the execution; 404 unknown task
    run; 409 not paused / already decided (saying who) / expired; 422 not an Approval, a
    missing required comment, invalid inputs."""
    values = await read_values(request, what="review inputs")
    comment = values.pop("comment", None)
    if comment is not None and not isinstance(comment, str):
        raise HTTPException(422, "comment must be text.")
    execution = await run_in_threadpool(
        partial(
            engine.review_execution,
            execution_id,
            task_run_id,
            decision,
            comment=comment,
            values=values,
            by=actor,
            via="api",
        )
    )
    return execution_json(engine, execution)


@router.post(
    "/executions/{execution_id}/resume/validate",
    openapi_extra=_FORM_BODY,
    summary="Check onResume values without resuming",
)
async def validate_resume(execution_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    """Kestra's dialog check: ``{id, namespace, inputs: [{input, value, enabled, errors}]}``;
    409 when the execution is not paused. Nothing changes."""
    values = await read_values(request, what="onResume values")
    execution = await run_in_threadpool(engine.get_execution, execution_id)
    found = await run_in_threadpool(engine.paused_task, execution)
    if execution.state.current != State.PAUSED:
        raise engine.why_not_paused(execution)
    definitions = list(found[0].onResume or []) if found else []
    return _validation(execution.flowId, execution.namespace, definitions, values)


def _validation(
    flow_id: str, namespace: str, definitions: list[InputDefinition], values: dict[str, Any]
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    typed: dict[str, Any] = {}
    try:
        typed = parse_inputs(definitions, values)
    except InputValidationError as error:
        errors = error.by_field()
        for definition in definitions:
            if definition.id not in errors:
                try:
                    typed.update(parse_inputs([definition], values))
                except InputValidationError:
                    pass
    return {
        "id": flow_id,
        "namespace": namespace,
        "inputs": [
            {
                "input": _input_json(d),
                "value": typed.get(d.id),
                "enabled": True,
                "errors": [{"message": errors[d.id]}] if d.id in errors else [],
            }
            for d in definitions
        ],
    }


async def _label_list(request: Request) -> dict[str, str]:
    data = parse_json(await request.body())
    if not isinstance(data, list) or not all(
        isinstance(item, dict)
        and isinstance(item.get("key"), str)
        and isinstance(item.get("value"), str)
        for item in data
    ):
        raise HTTPException(
            422, 'The body must be a JSON array of labels: [{"key": "team", "value": "ops"}].'
        )
    return _labels([f"{item['key']}:{item['value']}" for item in data])


@router.post("/executions/{execution_id}/labels", summary="Add or update labels")
@router.patch("/executions/{execution_id}/labels", include_in_schema=False)
async def set_labels(execution_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    """Kestra's body (a JSON array of ``{key, value}``): the given labels are added or
    replaced, the others kept; ``system.*`` labels are refused (422)."""
    labels = await _label_list(request)
    execution = await run_in_threadpool(engine.set_labels, execution_id, labels)
    return execution_json(engine, execution)


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
    wait: Annotated[
        bool, Query(description="Answer once the execution has ended (or paused).")
    ] = False,
    revision: Annotated[
        int | None, Query(ge=1, description="The flow revision to run (default: the latest).")
    ] = None,
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
            revision=revision,
        )
    )
    if wait:
        execution = await wait_until_settled(engine, execution, request)
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
