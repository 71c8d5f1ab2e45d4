"""The Webhook trigger: ``GET|POST|PUT /executions/webhook/{namespace}/{flowId}/{key}``.

No bearer token: the key, declared in the flow's ``io.kestra.plugin.core.trigger.Webhook``
trigger, is the secret. A wrong key and an unknown flow get the same 404, so the answer does
not reveal which flows exist. The request becomes the execution's ``trigger``: ``trigger.body``
(parsed JSON, else the raw text), ``trigger.headers`` and ``trigger.parameters`` (maps of lists).
"""

from __future__ import annotations

import hmac
from functools import partial
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from bot.api.bodies import FORM_TYPES, JsonBodyError, load_json, parse_form
from bot.api.deps import EngineDep
from bot.api.executions import execution_json
from engine.errors import FlowNotFound
from engine.flows import Flow, Trigger

router = APIRouter(tags=["webhooks"])

# Credentials meant for us or a proxy are not the flow's business, and would be stored.
_DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _matching_trigger(flow: Flow, key: str) -> Trigger | None:
    found = None
    for trigger in flow.triggers:
        # compare_digest on every candidate: the time taken must not reveal the key.
        if (
            trigger.is_webhook
            and not trigger.disabled
            and trigger.key is not None
            and hmac.compare_digest(trigger.key.encode(), key.encode())
        ):
            found = trigger
    return found


def _body(raw: bytes, content_type: str) -> Any:
    """The parsed JSON array or object; else the text. JSON pausebot cannot hold (nested too
    deeply, NaN, unpaired surrogates) is a 400, not text that looks like a document; so is a
    body that is not UTF-8 (stored as text it would be mojibake), and a form body that does not
    parse completely (``parse_form``: cut before its closing boundary, bad escapes)."""
    if not raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "The webhook body is not UTF-8 text.") from None
    if content_type.split(";")[0].strip().lower() in FORM_TYPES:
        parse_form(content_type, raw)  # raises MalformedBody; the text is what flows see
    if not text.lstrip().startswith(("{", "[")):
        return text
    try:
        return load_json(text)
    except JsonBodyError as error:
        if error.syntax:
            return text
        raise HTTPException(400, str(error)) from None


def _multi(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, value in items:
        result.setdefault(name, []).append(value)
    return result


async def webhook(
    namespace: str, flow_id: str, key: str, request: Request, engine: EngineDep
) -> dict[str, Any]:
    try:
        deployed = await run_in_threadpool(engine.get_flow, namespace, flow_id)
    except FlowNotFound:
        raise HTTPException(404, "Webhook not found.") from None
    trigger = _matching_trigger(deployed.flow, key)
    if trigger is None:
        raise HTTPException(404, "Webhook not found.")
    raw = await request.body()
    variables = {
        "id": trigger.id,
        "type": trigger.type,
        "body": _body(raw, request.headers.get("content-type", "")),
        "headers": _multi(
            [(k, v) for k, v in request.headers.items() if k.lower() not in _DROPPED_HEADERS]
        ),
        "parameters": _multi(list(request.query_params.multi_items())),
    }
    execution = await run_in_threadpool(
        partial(
            engine.start_execution,
            namespace,
            flow_id,
            {},
            by={"id": f"webhook:{trigger.id}", "name": f"webhook {trigger.id}"},
            via="webhook",
            trigger=variables,
        )
    )
    return execution_json(engine, execution)


for _method in ("GET", "POST", "PUT"):
    # One route per method: a multi-method route shares one OpenAPI operation id.
    router.add_api_route(
        "/executions/webhook/{namespace}/{flow_id}/{key}",
        webhook,
        methods=[_method],
        operation_id=f"webhook_{_method.lower()}",
        summary="Start an execution from a webhook",
    )
