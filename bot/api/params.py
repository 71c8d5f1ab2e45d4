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
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

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


def accepted_query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters a route declares (by alias, as clients send them), its
    dependencies' included."""
    names = _ACCEPTED.get(id(route))
    if names is None:
        names = frozenset(_query_names(route.dependant))
        _ACCEPTED[id(route)] = names  # routes live as long as the app
    return names


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


_ACCEPTED: dict[int, frozenset[str]] = {}


def check_query_names(request: Request) -> None:
    """Router dependency: a query parameter the route does not implement is a 422 naming it.

    FastAPI ignores undeclared parameters, so ``resume/by-query?labels=team:a`` once resumed
    every paused execution: a filter pausebot did not know selected everything. Now every
    parameter of every API route is either implemented or refused.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    accepted = accepted_query_names(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in accepted]
    if not unknown:
        return
    allowed = ", ".join(sorted(accepted)) if accepted else "none"
    raise RequestValidationError(
        [
            {
                "type": "unknown_parameter",
                "loc": ("query", name),
                "msg": f"unknown query parameter {name!r} (this endpoint accepts: {allowed})",
                "input": request.query_params.get(name),
            }
            for name in unknown
        ]
    )
