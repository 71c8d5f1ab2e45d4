"""Flows: create or update from YAML, read, delete (Kestra's ``/api/v1/flows``)."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from bot.api.bodies import read_yaml
from bot.api.deps import EngineDep
from engine.engine import DeployedFlow
from engine.errors import FlowValidationError
from engine.flows import split_documents
from engine.flows.yaml_reader import load_yaml

router = APIRouter(tags=["flows"])

MAX_REVISION = 2_147_483_647  # revisions are 32-bit integers in the database

_YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/x-yaml": {"schema": {"type": "string"}}},
    }
}


def flow_json(deployed: DeployedFlow) -> dict[str, Any]:
    """The flow as written (Kestra returns the parsed document), plus its revision and source."""
    document = load_yaml(deployed.source)
    data: dict[str, Any] = dict(document) if isinstance(document, dict) else {}
    data.update(
        id=deployed.flow.id,
        namespace=deployed.flow.namespace,
        revision=deployed.revision,
        disabled=deployed.flow.disabled,
        deleted=False,
        source=deployed.source,
    )
    return jsonable_encoder(data)


@router.post("/flows", openapi_extra=_YAML_BODY, summary="Create or update a flow from YAML")
async def create_flow(request: Request, engine: EngineDep) -> dict[str, Any]:
    """A changed flow gets a new revision; the same YAML again keeps the revision it has."""
    source = await read_yaml(request)
    deployed = await run_in_threadpool(engine.deploy_flow, source, "The posted YAML")
    return flow_json(deployed)


@router.post("/flows/validate", openapi_extra=_YAML_BODY, summary="Validate flows, deploy nothing")
async def validate_flows(request: Request, engine: EngineDep) -> list[dict[str, Any]]:
    """Kestra's answer: one ``{index, flow, namespace, constraints, outdated, deprecationPaths,
    warnings, infos}`` per YAML document (separated by ``---``); ``constraints`` is null when
    the flow is valid."""
    source = await read_yaml(request)
    documents = split_documents(source)
    return [await run_in_threadpool(_validation, engine, i, doc) for i, doc in enumerate(documents)]


@router.post(
    "/flows/{namespace}/{flow_id}/validate",
    openapi_extra=_YAML_BODY,
    summary="Validate one flow as the path names it",
)
async def validate_flow(
    namespace: str, flow_id: str, request: Request, engine: EngineDep
) -> dict[str, Any]:
    """pausebot's own: like ``/flows/validate`` for one document, which must define the flow
    the path names."""
    source = await read_yaml(request)
    result = await run_in_threadpool(_validation, engine, 0, source)
    if result["constraints"] is None and (result["namespace"], result["flow"]) != (
        namespace,
        flow_id,
    ):
        result["constraints"] = (
            f"The YAML defines '{result['namespace']}.{result['flow']}' but the path names "
            f"'{namespace}.{flow_id}'."
        )
    return result


def _validation(engine: Any, index: int, source: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "index": index,
        "flow": None,
        "namespace": None,
        "constraints": None,
        "outdated": False,
        "deprecationPaths": [],
        "warnings": [],
        "infos": [],
    }
    try:
        flow = engine.validate_flow(source, f"Flow {index}")
    except FlowValidationError as error:
        document = _safe_mapping(source)
        result["flow"], result["namespace"] = document.get("id"), document.get("namespace")
        result["constraints"] = str(error)
        return result
    result["flow"], result["namespace"] = flow.id, flow.namespace
    result["warnings"] = [str(warning) for warning in flow.warnings]
    return jsonable_encoder(result)


def _safe_mapping(source: str) -> dict[str, Any]:
    try:
        document = load_yaml(source)
    except yaml.YAMLError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {k: v for k, v in document.items() if k in ("id", "namespace") and isinstance(v, str)}


@router.put(
    "/flows/{namespace}/{flow_id}", openapi_extra=_YAML_BODY, summary="Update a flow from YAML"
)
async def update_flow(
    namespace: str, flow_id: str, request: Request, engine: EngineDep
) -> dict[str, Any]:
    source = await read_yaml(request)
    flow = await run_in_threadpool(engine.validate_flow, source, "The posted YAML")
    if (flow.namespace, flow.id) != (namespace, flow_id):
        raise HTTPException(
            422,
            f"The YAML defines '{flow.namespace}.{flow.id}' but the path names "
            f"'{namespace}.{flow_id}'.",
        )
    await run_in_threadpool(engine.get_flow, namespace, flow_id)  # 404 if it does not exist
    deployed = await run_in_threadpool(engine.deploy_flow, source, "The posted YAML")
    return flow_json(deployed)


@router.get("/flows/{namespace}/{flow_id}", summary="Get a flow (latest revision)")
def get_flow(
    namespace: str,
    flow_id: str,
    engine: EngineDep,
    revision: Annotated[int | None, Query(ge=1, le=MAX_REVISION)] = None,
) -> dict[str, Any]:
    return flow_json(engine.get_flow(namespace, flow_id, revision))


@router.delete("/flows/{namespace}/{flow_id}", status_code=204, summary="Delete a flow")
def delete_flow(namespace: str, flow_id: str, engine: EngineDep) -> Response:
    """Its revisions are kept: executions already started still run to the end."""
    engine.delete_flow(namespace, flow_id)
    return Response(status_code=204)
