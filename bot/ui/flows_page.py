"""``/ui/flows``: the deployed flows, one flow's YAML (highlighted on the server with Pygments),
its revisions, and a **Run** form built from its inputs.

The Run form uses the same field builders and the same engine validation as a resume: a
refused start comes back (422) with each error beside its field and everything typed kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import YamlLexer

from bot.api.params import has_control
from bot.ui.auth import Visitor, checked_form, redirect_with, visitor_of, with_flashes
from bot.ui.fields import build_fields, read_form, to_values
from bot.ui.list_page import execution_path
from bot.ui.pages import PageRoute, engine_of, in_threadpool, message, page
from engine.engine import DeployedFlow
from engine.errors import InputValidationError, NotFoundError, PausebotError

router = APIRouter(include_in_schema=False, route_class=PageRoute)

MAX_REVISIONS = 50  # revision links shown; older ones are reachable with ?revision=N
_FORMATTER = HtmlFormatter(cssclass="highlight", wrapcode=True)


def flow_path(namespace: str, flow_id: str) -> str:
    return f"/ui/flows/{quote(namespace, safe='')}/{quote(flow_id, safe='')}"


def highlight_yaml(source: str) -> Markup:
    """Pygments escapes the source itself; the markup is its own spans with class names only
    (the colours are in static/highlight.css, so the CSP needs no inline styles)."""
    return Markup(highlight(source, YamlLexer(), _FORMATTER))


@router.get("/ui/flows")
def flows_page(request: Request) -> Response:
    visitor = visitor_of(request)
    if not isinstance(visitor, Visitor):
        return visitor
    deployed = sorted(engine_of(request).list_flows(), key=lambda d: (d.flow.namespace, d.flow.id))
    return page(
        "flows.html",
        title="Flows",
        **visitor.context(),
        flows=deployed,
        path_of=lambda d: flow_path(d.flow.namespace, d.flow.id),
    )


def _flow_view(
    request: Request,
    visitor: Visitor,
    deployed: DeployedFlow,
    latest: int,
    *,
    submitted: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    flashes: list[Any] | None = None,
    status: int = 200,
) -> Response:
    flow = deployed.flow
    fields = build_fields(flow.inputs, prefix="run", submitted=submitted, errors=errors)
    known = {d.id for d in flow.inputs}
    stray = [f"{k}: {v}" for k, v in (errors or {}).items() if k not in known]
    return page(
        "flow.html",
        status=status,
        title=f"{flow.namespace}.{flow.id}",
        **visitor.context(),
        flashes=(flashes or []) + [("error", text) for text in stray],
        deployed=deployed,
        flow=flow,
        latest=latest,
        revisions=list(range(latest, max(0, latest - MAX_REVISIONS), -1)),
        yaml=highlight_yaml(deployed.source),
        fields=fields,
        path=flow_path(flow.namespace, flow.id),
    )


def _not_found(visitor: Visitor, text: str) -> Response:
    return message("Not found", text, status=404, **visitor.context())


@router.get("/ui/flows/{namespace}/{flow_id}")
def flow_page(
    request: Request, namespace: str, flow_id: str, revision: str | None = None
) -> Response:
    visitor = visitor_of(request)
    if not isinstance(visitor, Visitor):
        return visitor
    if has_control(namespace) or has_control(flow_id):
        return _not_found(visitor, f"Flow '{namespace}.{flow_id}' not found.")
    engine = engine_of(request)
    try:
        latest = engine.get_flow(namespace, flow_id)
        wanted = int(revision) if revision and revision.isdigit() else None
        shown = engine.get_flow(namespace, flow_id, wanted) if wanted else latest
    except (NotFoundError, ValueError, OverflowError) as error:
        return _not_found(visitor, str(error) or "No such revision.")
    return with_flashes(
        request,
        visitor,
        lambda flashes: _flow_view(request, visitor, shown, latest.revision, flashes=flashes),
    )


@router.post("/ui/flows/{namespace}/{flow_id}/run")
async def run_flow(request: Request, namespace: str, flow_id: str) -> Response:
    checked = await checked_form(request, files=True)
    if isinstance(checked, Response):
        return checked
    visitor, form = checked
    engine = engine_of(request)
    try:
        deployed = await in_threadpool(engine.get_flow, namespace, flow_id)
    except NotFoundError as error:
        return _not_found(visitor, str(error))
    definitions = deployed.flow.inputs
    submitted = read_form(definitions, form)
    try:
        execution = await in_threadpool(
            engine.start_execution,
            namespace,
            flow_id,
            to_values(definitions, submitted),
            by=visitor.actor,
            via="ui",
        )
    except InputValidationError as error:
        return await in_threadpool(
            _flow_view,
            request,
            visitor,
            deployed,
            deployed.revision,
            submitted=submitted,
            errors=error.by_field(),
            flashes=[("error", "Nothing was started: please correct the fields marked below.")],
            status=422,
        )
    except PausebotError as error:  # a disabled flow, ...
        return redirect_with(request, visitor, flow_path(namespace, flow_id), ("error", str(error)))
    return redirect_with(
        request, visitor, execution_path(execution), ("ok", "Started. This page follows it.")
    )


def stylesheet() -> str:
    """static/highlight.css, regenerated by ``python -m bot.ui.flows_page``."""
    return (
        "/* Generated by `python -m bot.ui.flows_page` (Pygments' default style). */\n"
        + _FORMATTER.get_style_defs(".highlight")
        + "\n"
    )


if __name__ == "__main__":
    from pathlib import Path

    (Path(__file__).parent / "static" / "highlight.css").write_text(stylesheet())
