"""Identifiers and filter text from paths and query strings, checked before they reach the
database.

No id, namespace or flow id pausebot creates holds a control character, and PostgreSQL refuses
NUL in text outright (a ``DataError``, where SQLite simply finds nothing). So an identifier with
one names nothing: 404, as on SQLite, without asking the database. Filter text with one is a
mistake of the client: 422, like any other invalid filter.
"""

from __future__ import annotations

import re

from fastapi import HTTPException, Request

from engine.errors import ExecutionNotFound, FlowNotFound

# C0, DEL and C1: nothing a person types into an id or a search box.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def check_path_ids(request: Request) -> None:
    """Router dependency: answers 404 for a path whose identifiers hold a control character."""
    params = request.path_params
    bad = {name for name, value in params.items() if isinstance(value, str) and has_control(value)}
    if not bad:
        return
    if "key" in params:  # the webhook: the same 404 as a wrong key, which reveals nothing
        raise HTTPException(404, "Webhook not found.")
    if "execution_id" in bad:
        raise ExecutionNotFound(params["execution_id"])
    if "namespace" in params and "flow_id" in params:
        raise FlowNotFound(params["namespace"], params["flow_id"])
    raise HTTPException(404, "Not found: the path holds a control character.")


def check_filter_text(name: str, value: str | None) -> str | None:
    """A query parameter used to filter (namespace, flowId, q): 422 if it holds a control
    character."""
    if value is not None and has_control(value):
        raise HTTPException(
            422, f"Invalid {name}: control characters (such as NUL) are not allowed."
        )
    return value
