"""``/approvals``: approval requests for any program (a CI job, a deploy script, an AI agent).

    POST /approvals                create (201), or the same request again for a used
                                   ``idempotencyKey`` (200, ``Idempotent-Replayed: true``)
    GET  /approvals/{id}           the request and its decision; ``?wait=PT30S`` long-polls
    GET  /approvals                list, newest first: ``state``, ``label=key:value``, paging
    POST /approvals/{id}/cancel    withdraw a pending request (409 when already decided)

Tokens need the ``approvals`` scope (or ``admin``). A scoped token sees only the requests it
created; an admin token sees every request. Deciding is not here: people decide in Slack, the
web UI, with the signed links of the ``201`` answer, or with an admin token through
``POST /executions/{id}/actions/review``. The engine side is ``engine/approvals.py``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.api.approval_waits import ApprovalWaits
from bot.api.auth import api_actor, require_scope
from bot.api.bodies import media_type, parse_json
from bot.api.params import has_control
from bot.links import LinkSigner
from bot.tokens import APPROVALS, Principal
from engine.approvals import ApprovalRequests, ApprovalRequestSpec, ApprovalView
from engine.errors import FieldError, InputValidationError
from engine.inputs import parse_duration

router = APIRouter(tags=["approvals"], dependencies=[Depends(require_scope(APPROVALS))])

MAX_WAIT_SECONDS = 300.0
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 500


def inline_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    definitions = schema.pop("$defs", {})

    def resolve(node: Any, depth: int = 0) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and depth < 8:
                return resolve(definitions.get(ref.removeprefix("#/$defs/"), {}), depth + 1)
            return {k: resolve(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, depth) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def _client(principal: Principal) -> str:
    return principal.name or ""


def _reader(principal: Principal) -> str | None:
    """Whose requests this token may read: every client's for an admin token."""
    return None if principal.is_admin else _client(principal)


def approvals_of(request: Request) -> ApprovalRequests:
    state = request.app.state
    found: ApprovalRequests | None = getattr(state, "approvals", None)
    if found is None:
        found = state.approvals = ApprovalRequests(state.engine)
    return found


def waits_of(request: Request) -> ApprovalWaits:
    found: ApprovalWaits = request.app.state.approval_waits
    return found


def decision_links(request: Request, view: ApprovalView) -> dict[str, str] | None:
    """Signed single-use links that approve or deny this request (None once it is decided)."""
    signer: LinkSigner | None = getattr(request.app.state, "links", None)
    if signer is None or view.run is None or view.is_final:
        return None
    engine = request.app.state.engine
    base = engine.settings.public_url.rstrip("/")
    now = engine.clock.now()
    return {
        "approve": f"{base}/resume/{signer.mint(view.execution.id, view.run.id, 'approve', now=now)}",
        "deny": f"{base}/resume/{signer.mint(view.execution.id, view.run.id, 'reject', now=now)}",
    }


# The body's schema for /docs, with the nested models' definitions inlined where they are used
# (pydantic's "#/$defs/..." references would dangle inside an OpenAPI document).
_REQUEST_SCHEMA = inline_definitions(ApprovalRequestSpec.model_json_schema(by_alias=True))


@router.post(
    "/approvals",
    status_code=201,
    summary="Ask people for an approval",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _REQUEST_SCHEMA}},
        }
    },
)
async def create_approval(request: Request) -> JSONResponse:
    if media_type(request) not in ("application/json", ""):
        raise HTTPException(
            415, "Send the approval request as JSON (Content-Type: application/json)."
        )
    spec = ApprovalRequestSpec.parse(parse_json(await request.body()))
    if spec.callbackUrl is not None and request.app.state.settings.callback_secret is None:
        raise InputValidationError(
            [
                FieldError(
                    "callbackUrl",
                    "callbacks are signed with PAUSEBOT_CALLBACK_SECRET, which is not set on "
                    "the server",
                )
            ]
        )
    principal = _principal(request)
    actor = api_actor(request, request.headers.get("x-pausebot-user"), None)
    approvals = approvals_of(request)
    view, created = await run_in_threadpool(
        approvals.create, spec, client=_client(principal), by=actor
    )
    if created or view.run is None:
        await run_in_threadpool(approvals.wait_until_asked, view.record.id)
        view = await run_in_threadpool(approvals.get, view.record.id, client=None)
    body = {**view.to_api(), "links": decision_links(request, view)}
    headers = {"Location": f"{request.url.path.rstrip('/')}/{view.record.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=201 if created else 200, headers=headers)


def _wait_seconds(text: str | None) -> float:
    if text is None or text == "":
        return 0.0
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError:
        seconds = -1.0
    if seconds < 0 or seconds > MAX_WAIT_SECONDS:
        raise InputValidationError(
            [
                FieldError(
                    "query.wait",
                    "must be an ISO-8601 duration from PT0S to PT5M, such as PT30S",
                    text,
                )
            ]
        )
    return seconds


@router.get("/approvals/{request_id}", summary="Read an approval request (long-poll with ?wait)")
async def get_approval(
    request: Request,
    request_id: str,
    wait: Annotated[
        str | None,
        Query(description="Wait up to this long (ISO-8601, at most PT5M) for the decision."),
    ] = None,
) -> dict[str, Any]:
    seconds = _wait_seconds(wait)
    approvals = approvals_of(request)
    reader = _reader(_principal(request))
    view = await run_in_threadpool(approvals.get, request_id, client=reader)
    if view.is_final or seconds <= 0:
        return view.to_api()
    waits = waits_of(request)
    woken = waits.register(request_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while True:
            view = await run_in_threadpool(approvals.get, request_id, client=reader)
            remaining = deadline - loop.time()
            if view.is_final or remaining <= 0:
                return view.to_api()
            await waits.wait(woken, min(remaining, waits.recheck))
    finally:
        waits.unregister(request_id, woken)


@router.get("/approvals", summary="List approval requests, newest first")
async def list_approvals(
    request: Request,
    state: Annotated[
        list[str] | None,
        Query(description="PENDING, APPROVED, DENIED, EXPIRED or CANCELLED (repeatable)."),
    ] = None,
    label: Annotated[
        list[str] | None, Query(description="key:value, repeatable; all must match.")
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    labels: dict[str, str] = {}
    for pair in label or []:
        key, colon, value = pair.partition(":")
        if not colon or not key or has_control(pair):
            raise InputValidationError([FieldError("query.label", "must be key:value", pair)])
        labels[key] = value
    states = [s.strip().upper() for s in state or [] if s.strip()]
    views, total = await run_in_threadpool(
        approvals_of(request).search,
        client=_reader(_principal(request)),
        states=states,
        labels=labels,
        page=page,
        size=size,
    )
    return {"results": [v.to_api() for v in views], "total": total}


@router.post("/approvals/{request_id}/cancel", summary="Withdraw a pending approval request")
async def cancel_approval(request: Request, request_id: str) -> dict[str, Any]:
    raw = await request.body()
    reason = None
    if raw.strip():
        body = parse_json(raw)
        if not isinstance(body, dict) or set(body) - {"reason"}:
            raise InputValidationError(
                [FieldError("body", 'must be a JSON object with at most "reason"')]
            )
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
            raise InputValidationError(
                [FieldError("reason", "must be a string of at most 500 characters")]
            )
    principal = _principal(request)
    actor = api_actor(request, request.headers.get("x-pausebot-user"), None)
    view = await run_in_threadpool(
        approvals_of(request).cancel,
        request_id,
        client=_reader(principal),
        by=actor,
        reason=reason,
    )
    return view.to_api()
