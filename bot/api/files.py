"""Downloading an execution's files (Kestra's ``GET /executions/{id}/file?path=kestra:///…``
and ``/file/metas``): FILE inputs, ``outputFiles``, ``storage.Write`` and ``http.Download``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from bot.api.deps import EngineDep

router = APIRouter(tags=["executions"])


@router.get("/executions/{execution_id}/file", summary="Download a file of an execution")
def download_file(
    execution_id: str, engine: EngineDep, path: str = Query(description="a kestra:/// URI")
) -> Response:
    name, content = engine.execution_file(execution_id, path)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.get("/executions/{execution_id}/file/metas", summary="Size of a file of an execution")
def file_metas(
    execution_id: str, engine: EngineDep, path: str = Query(description="a kestra:/// URI")
) -> dict[str, Any]:
    _, content = engine.execution_file(execution_id, path)
    return {"size": len(content)}
