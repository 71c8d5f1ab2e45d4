"""Pages of signed resume links, ``/resume/{token}``: no login, the token is the credential.

GET shows the execution and the onResume form for the link's action and never decides anything
(link scanners and chat unfurlers open links). POST decides through ``bot.api.links``'s
``resume_with_link``: the page's form gets an HTML answer, a system's JSON body a JSON one.
A link that can no longer decide (used, expired, decided elsewhere) is Gone (410); a tampered
one is Forbidden (403).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot.api.bodies import JsonBodyError, MalformedBody, load_json, read_form_body
from bot.api.links import (
    LinkTask,
    link_comment_required,
    link_inputs,
    read_link,
    resume_with_link,
)
from bot.links import LinkError, ResumeLink
from bot.ui.fields import build_fields, read_form, to_values
from bot.ui.pages import engine_of, in_threadpool, malformed_form, message, page
from bot.ui.session import clean_name
from bot.ui.views import Decision, decision_of
from engine.errors import (
    AlreadyDecided,
    ConflictError,
    InputValidationError,
    NotFoundError,
    PausebotError,
)
from engine.inputs import InputDefinition, InputType
from engine.model import Execution, TaskRun
from engine.states import State
from engine.tasks.approval import ApprovalTask
from engine.waiting import WaitingTask

router = APIRouter(tags=["links"])

DECISION_INPUT = "approved"  # the BOOLEAN that approve/reject links set
_ACTION_VERBS = {"approve": "Approve", "reject": "Reject", "resume": "Resume"}


@dataclass
class _LinkView:
    link: ResumeLink
    execution: Execution
    run: TaskRun
    task: LinkTask | None
    waiting: WaitingTask | None = None  # an Approval's rendered title and labels


def _open_link(request: Request, token: str) -> _LinkView | tuple[str, str, int, Decision | None]:
    """The link's pause, or (title, text, status, decision) explaining why it cannot decide."""
    if getattr(request.app.state, "links", None) is None:
        return ("Links are not enabled", "This server does not accept resume links.", 503, None)
    try:
        link, execution, task, run = read_link(request.app.state, token)
    except LinkError as error:
        title = "Link expired" if error.status == 410 else "Invalid link"
        return (title, str(error), error.status, None)
    except NotFoundError:
        return ("Not found", "The execution this link was made for no longer exists.", 404, None)
    if run is None:
        return ("Not found", "The pause this link was made for no longer exists.", 404, None)
    if run.state.current != State.PAUSED:
        decision = decision_of(execution, run)
        text = (
            f"This request was already {decision.sentence}."
            if decision
            else f"This pause is no longer waiting (its task is {run.state.current.value})."
        )
        return ("Already decided", text, 410, decision)
    if isinstance(task, ApprovalTask) and link.action == "resume":
        text = "This step is an approval: use its approve or reject link."
        return ("Not a decision", text, 409, None)
    waiting = None
    if isinstance(task, ApprovalTask):
        waiting = request.app.state.engine.waiting_task(execution, run.id)
    return _LinkView(link, execution, run, task, waiting)


def _decision_input(task: LinkTask | None) -> InputDefinition | None:
    if isinstance(task, ApprovalTask):
        return None  # an Approval's decision is the link's action itself
    booleans = (InputType.BOOLEAN, InputType.BOOL)
    for definition in link_inputs(task):
        if definition.id == DECISION_INPUT and definition.type in booleans:
            return definition
    return None


def _form_page(
    token: str,
    view: _LinkView,
    *,
    submitted: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    name: str = "",
    reason: str = "",
    comment: str = "",
    status: int = 200,
) -> HTMLResponse:
    action = view.link.action
    decision_input = _decision_input(view.task)
    approval = isinstance(view.task, ApprovalTask)
    # A reject link on a pause without an `approved` input kills the execution: only a reason is asked.
    kills = action == "reject" and decision_input is None and not approval
    fixed = {}
    if decision_input is not None and action in ("approve", "reject"):
        fixed[decision_input.id] = "true" if action == "approve" else "false"
    definitions = [] if kills else link_inputs(view.task)
    fields = build_fields(
        definitions, prefix="link", submitted=submitted, errors=errors, fixed=fixed
    )
    return page(
        "link.html",
        status=status,
        title=f"{_ACTION_VERBS.get(action, 'Resume')} {view.execution.flowId}",
        token=token,
        action=action,
        kills=kills,
        execution=view.execution.masked(),
        run=view.run,
        inputs=view.execution.masked().inputs,
        fields=fields,
        errors=errors or {},
        name=name,
        reason=reason,
        approval=approval,
        button=_button_label(view, action),
        heading=view.waiting.title if view.waiting is not None else None,
        comment=comment,
        comment_required=link_comment_required(view.task, action),
        comment_error=(errors or {}).get("comment"),
    )


def _button_label(view: _LinkView, action: str) -> str:
    """An Approval's own (rendered) labels for approve and reject (deny); else the verb."""
    if view.waiting is not None and action in ("approve", "reject"):
        choice = view.waiting.choice("approve" if action == "approve" else "deny")
        if choice is not None:
            return choice.label
    return _ACTION_VERBS.get(action, "Resume")


@router.api_route("/resume/{token}", methods=["GET", "HEAD"], include_in_schema=False)
def link_page(request: Request, token: str) -> Response:
    """Shows the form. Never decides anything: link scanners and chat unfurlers open links
    (some with HEAD, which gets the GET's status and headers without the page)."""
    view = _open_link(request, token)
    if not isinstance(view, _LinkView):
        title, text, status, decision = view
        shown = message(title, text, status=status, decision=decision)
    else:
        shown = _form_page(token, view)
    if request.method == "HEAD":
        return Response(status_code=shown.status_code, headers=dict(shown.headers))
    return shown


@router.post(
    "/resume/{token}",
    summary="Decide a pause with a signed resume link",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": "onResume values by input id"}
                }
            },
        }
    },
)
async def link_decide(request: Request, token: str) -> Response:
    """Decides the link's pause: a JSON object of onResume values answers JSON; the page's form
    answers HTML. 410 for a used, expired or already decided link, 403 for a tampered one."""
    if getattr(request.app.state, "links", None) is None:
        return JSONResponse({"message": "This server does not accept resume links."}, 503)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # A bare `curl -X POST <link>` (no body, no type) is a system resuming with the defaults.
    if content_type in ("application/json", "") or content_type.endswith("+json"):
        return await _link_decide_json(request, token)
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        why = "Send the onResume values as a JSON object (Content-Type: application/json)."
        return JSONResponse({"message": why}, status_code=415)
    return await _link_decide_form(request, token)


async def _link_decide_json(request: Request, token: str) -> Response:
    raw = await request.body()
    try:
        body = load_json(raw) if raw.strip() else {}
    except JsonBodyError as error:
        return JSONResponse({"message": str(error)}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse(
            {"message": "The request body must be a JSON object of onResume values."},
            status_code=400,
        )
    try:
        execution = await in_threadpool(resume_with_link, request.app.state, token, body, None)
    except InputValidationError as error:
        return JSONResponse(
            {"message": str(error), "errors": [e.as_dict() for e in error.errors]}, status_code=422
        )
    except (LinkError, PausebotError) as error:
        status, why, decided = _link_failure(error)
        # The 409 shape of the API at the top level (state, by, on, via); ``decided`` repeats
        # the winning decision for clients of the earlier answer.
        shape = error.as_dict() if isinstance(error, ConflictError) else {}
        return JSONResponse(
            {"message": why, **shape, **({"decided": decided} if decided else {})},
            status_code=status,
        )
    return JSONResponse(
        {
            "id": execution.id,
            "namespace": execution.namespace,
            "flowId": execution.flowId,
            "state": execution.state.current.value,
            "url": engine_of(request).url_of(execution),
        }
    )


async def _link_decide_form(request: Request, token: str) -> Response:
    try:
        form = await read_form_body(request)
    except MalformedBody as error:
        return malformed_form(error)
    view = await in_threadpool(_open_link, request, token)
    if not isinstance(view, _LinkView):
        title, text, status, decision = view
        return message(title, text, status=status, decision=decision)
    name = clean_name(str(form.get("_name") or ""))
    reason = str(form.get("reason") or "").strip()
    comment = str(form.get("comment") or "").strip()
    approval = isinstance(view.task, ApprovalTask)
    definitions = link_inputs(view.task)
    kills = view.link.action == "reject" and _decision_input(view.task) is None and not approval
    submitted = read_form(definitions, form) if not kills else {}
    values: dict[str, Any] = (
        {"reason": reason} if kills and reason else to_values(definitions, submitted)
    )
    if approval and comment:
        values["comment"] = comment
    by = {"id": f"link:{name}", "name": name} if name else None
    try:
        execution = await in_threadpool(resume_with_link, request.app.state, token, values, by)
    except InputValidationError as error:
        return _form_page(
            token,
            view,
            submitted=submitted,
            errors=error.by_field(),
            name=name,
            reason=reason,
            comment=comment,
            status=422,
        )
    except (LinkError, PausebotError) as error:
        status, why, _decided = _link_failure(error)
        return message("Not decided", why, status=status)
    execution = execution.masked()
    run = execution.task_run(view.run.id)
    decision = decision_of(execution, run) if run else None
    return page(
        "link_done.html",
        title="Thank you",
        execution=execution,
        decision=decision,
    )


def _link_failure(error: Exception) -> tuple[int, str, dict[str, Any] | None]:
    """Status, message and the winning decision for a link that could not decide.

    A link whose pause can no longer be decided (used, decided elsewhere, killed) is Gone: 410,
    like an expired one; the message says who decided and when.
    """
    if isinstance(error, LinkError):
        return error.status, str(error), None
    if isinstance(error, NotFoundError):
        return 404, str(error), None
    if isinstance(error, AlreadyDecided):
        return 410, str(error), error.as_dict()
    if isinstance(error, ConflictError):
        return 410, str(error), None
    return 400, str(error), None
