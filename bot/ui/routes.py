"""Routes of the web UI (``/ui/...``) and the pages of signed resume links (``/resume/{token}``).

Server-rendered HTML (Jinja2, autoescaped), no JavaScript framework. The UI is behind
``PAUSEBOT_API_TOKEN`` (see ``session.py``); a signed link needs no login, its token is the
credential. Every decision goes through the engine, which refuses what is no longer allowed and
says who decided first; this module only turns those answers into pages.

The app (``bot/server.py``) provides ``request.app.state.engine``, ``.settings`` and ``.links``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.links import LinkError, ResumeLink
from bot.ui.fields import FormField, build_fields, read_form, to_values
from bot.ui.session import COOKIE_NAME, SESSION_TTL, Session, SessionKeys, clean_name
from bot.ui.views import (
    Decision,
    actor_name,
    can_kill,
    can_pause,
    decision_of,
    display_value,
    flat_items,
    format_time,
    is_active,
    last_change,
    pretty_json,
    task_tree,
)
from engine.engine import Engine
from engine.errors import (
    ConflictError,
    InputValidationError,
    NotFoundError,
    PausebotError,
)
from engine.inputs import InputDefinition, InputType
from engine.model import Execution, TaskRun
from engine.states import State
from engine.tasks.pause import PauseTask

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).parent
_STATIC = _HERE / "static"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
FLASH_COOKIE = "pausebot_flash"
PAGE_SIZE = 25
DECISION_INPUT = "approved"  # the BOOLEAN that approve/reject links set

templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=True,  # every value is text to show, never markup
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    time=format_time, json=pretty_json, value=display_value, who=actor_name, flat=flat_items
)

# No inline script or style, no framing, and tokens in URLs never leak through a Referer.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}

T = TypeVar("T")


# --------------------------------------------------------------------------- plumbing


def _engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def _page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", None)
    context.setdefault("csrf", "")
    context.setdefault("flashes", [])
    html = templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _message(request: Request, title: str, text: str, *, status: int, **context: Any) -> HTMLResponse:
    return _page(request, "message.html", status=status, title=title, text=text, **context)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _execution_path(execution: Execution) -> str:
    return "/ui/executions/" + "/".join(
        quote(part, safe="") for part in (execution.namespace, execution.flowId, execution.id)
    )


async def _call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Engine methods are synchronous (database I/O): run them off the event loop."""
    return await run_in_threadpool(function, *args, **kwargs)


# --------------------------------------------------------------------------- auth


@dataclass(frozen=True)
class _Visitor:
    session: Session
    keys: SessionKeys

    @property
    def csrf(self) -> str:
        return self.keys.csrf_token(self.session)


def _keys(request: Request) -> SessionKeys | None:
    settings = getattr(request.app.state, "settings", None)
    token = getattr(settings, "api_token", None)
    secret = token.get_secret_value() if token is not None else ""
    return SessionKeys(secret) if secret else None


def _visitor(request: Request) -> _Visitor | Response:
    """The logged-in person, or the response to send instead (set-up page, login, bounce)."""
    keys = _keys(request)
    if keys is None:
        return _not_configured(request)
    cookie = request.cookies.get(COOKIE_NAME)
    session = keys.read(cookie, datetime.now(UTC))
    if session is not None:
        return _Visitor(session, keys)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method == "GET" and not cookie and request.headers.get("sec-fetch-site") == "cross-site":
        # SameSite=Strict cookies are not sent when arriving from Slack or a mail client; a
        # same-origin reload sends them, so logged-in people are not asked to log in again.
        return _page(request, "bounce.html", target=target)
    return _redirect("/ui/login?" + urlencode({"next": target}))


def _not_configured(request: Request) -> HTMLResponse:
    return _page(request, "not_configured.html", status=503, title="Set up the web UI")


def _safe_next(value: str | None) -> str:
    # Only paths of this UI: never another host (//evil.example) or a backslash trick.
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/executions"


def _secure_cookies(request: Request) -> bool:
    settings = getattr(request.app.state, "settings", None)
    public_url = str(getattr(settings, "public_url", ""))
    return request.url.scheme == "https" or public_url.startswith("https://")


async def _checked_form(request: Request) -> tuple[_Visitor, FormData] | Response:
    """A state-changing POST: logged in, and carrying this session's CSRF token."""
    visitor = _visitor(request)
    if not isinstance(visitor, _Visitor):
        return visitor
    form = await request.form()
    given = form.get("_csrf")
    if not visitor.keys.csrf_ok(visitor.session, given if isinstance(given, str) else None):
        return _message(
            request,
            "Form expired",
            "This form did not carry a valid security token (it may be older than your login, or "
            "come from another site). Go back, reload the page and try again.",
            status=403,
            user=visitor.session.name,
            csrf=visitor.csrf,
        )
    return visitor, form


def _with_flashes(request: Request, keys: SessionKeys, render: Callable[[list[Any]], Response]) -> Response:
    """Shows the messages left by the previous POST once, then forgets them."""
    flashes = keys.open_flash(request.cookies.get(FLASH_COOKIE))
    response = render(flashes)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/ui")
    return response


def _redirect_with(request: Request, visitor: _Visitor, url: str, *messages: tuple[str, str]) -> Response:
    response = _redirect(url)
    trimmed = [(level, text if len(text) <= 600 else text[:597] + "...") for level, text in messages]
    response.set_cookie(
        FLASH_COOKIE,
        visitor.keys.seal_flash(trimmed[:6]),
        max_age=120,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(request),
    )
    return response


# --------------------------------------------------------------------------- login


@router.get("/ui")
@router.get("/ui/")
def ui_home() -> Response:
    return _redirect("/ui/executions")


@router.get("/ui/static/{name}")
def ui_static(name: str) -> Response:
    path = _STATIC / name
    media_type = _STATIC_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or media_type is None or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=300"})


@router.get("/ui/login")
def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    if _keys(request) is None:
        return _not_configured(request)
    return _page(request, "login.html", title="Log in", next=_safe_next(next), name="", error=None)


@router.post("/ui/login")
async def login(request: Request) -> Response:
    keys = _keys(request)
    if keys is None:
        return _not_configured(request)
    form = await request.form()
    token, raw_name, target = (str(form.get(k) or "") for k in ("token", "name", "next"))
    name = clean_name(raw_name)
    error = None
    if not name:
        error = "Please give your name: it is recorded with every decision you make."
    elif not keys.token_matches(token):
        error = "That token is not the one this server was started with (PAUSEBOT_API_TOKEN)."
    if error:
        return _page(
            request, "login.html", status=401 if name else 422, title="Log in",
            next=_safe_next(target), name=name, error=error,
        )
    session = keys.issue(name, datetime.now(UTC))
    response = _redirect(_safe_next(target))
    response.set_cookie(
        COOKIE_NAME,
        session.cookie,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(request),
    )
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    checked = await _checked_form(request)
    if isinstance(checked, Response):
        return checked
    response = _redirect("/ui/login")
    response.delete_cookie(COOKIE_NAME, path="/ui")
    return response


# --------------------------------------------------------------------------- executions


@dataclass(frozen=True)
class _Filters:
    state: str  # "" means every state
    namespace: str
    flow: str
    q: str
    page: int

    @classmethod
    def of(cls, params: Mapping[str, str]) -> _Filters:
        # The list opens on what waits for a person; "All states" is one click away.
        state = params.get("state", State.PAUSED.value).strip().upper()
        if state and state not in State.__members__:
            state = ""
        try:
            page = max(1, min(int(params.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        return cls(
            state=state,
            namespace=params.get("namespace", "").strip(),
            flow=params.get("flow", "").strip(),
            q=params.get("q", "").strip(),
            page=page,
        )

    def query(self, **changes: Any) -> str:
        values = {"state": self.state, "namespace": self.namespace, "flow": self.flow, "q": self.q, "page": self.page}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v or k == "state"})


@router.get("/ui/executions")
def executions_page(request: Request) -> Response:
    visitor = _visitor(request)
    if not isinstance(visitor, _Visitor):
        return visitor
    filters = _Filters.of(request.query_params)
    engine = _engine(request)
    executions, total = engine.search_executions(
        states=[filters.state] if filters.state else [],
        namespace=filters.namespace or None,
        flow_id=filters.flow or None,
        text=filters.q or None,
        page=filters.page,
        size=PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    flows = sorted({f"{d.flow.namespace}.{d.flow.id}" for d in engine.list_flows()})
    return _with_flashes(
        request,
        visitor.keys,
        lambda flashes: _page(
            request,
            "executions.html",
            title="Executions",
            user=visitor.session.name,
            csrf=visitor.csrf,
            flashes=flashes,
            executions=executions,
            total=total,
            pages=pages,
            filters=filters,
            states=[s.value for s in State],
            flow_ids=sorted({name.rsplit(".", 1)[1] for name in flows}),
            namespaces=sorted({name.rsplit(".", 1)[0] for name in flows}),
            path_of=_execution_path,
            last_change=last_change,
            back="/ui/executions?" + filters.query(),
        ),
    )


@router.post("/ui/executions/bulk-resume")
async def bulk_resume(request: Request) -> Response:
    checked = await _checked_form(request)
    if isinstance(checked, Response):
        return checked
    visitor, form = checked
    back = _safe_next(str(form.get("_back") or ""))
    ids = [str(value) for value in form.getlist("ids") if str(value)]
    if not ids:
        return _redirect_with(request, visitor, back, ("error", "Select at least one paused execution to resume."))
    outcome = await _call(_engine(request).resume_many, ids, by=visitor.session.actor, via="bulk")
    messages: list[tuple[str, str]] = []
    if outcome.resumed:
        count = len(outcome.resumed)
        messages.append(("ok", f"Resumed {count} execution{'s' if count != 1 else ''} with their default values."))
    for execution_id, why in list(outcome.refused.items())[:4]:
        messages.append(("error", f"{execution_id}: {why}"))
    if len(outcome.refused) > 4:
        messages.append(("error", f"{len(outcome.refused) - 4} more could not be resumed."))
    return _redirect_with(request, visitor, back, *messages)


@router.get("/ui/executions/{execution_id}")
def execution_short(request: Request, execution_id: str) -> Response:
    visitor = _visitor(request)
    if not isinstance(visitor, _Visitor):
        return visitor
    try:
        execution = _engine(request).get_execution(execution_id)
    except NotFoundError as error:
        return _not_found(request, visitor, str(error))
    return _redirect(_execution_path(execution))


@router.get("/ui/executions/{namespace}/{flow_id}/{execution_id}")
def execution_page(request: Request, namespace: str, flow_id: str, execution_id: str) -> Response:
    visitor = _visitor(request)
    if not isinstance(visitor, _Visitor):
        return visitor
    try:
        execution = _engine(request).get_execution(execution_id)
    except NotFoundError as error:
        return _not_found(request, visitor, str(error))
    if (execution.namespace, execution.flowId) != (namespace, flow_id):
        return _redirect(_execution_path(execution))
    return _with_flashes(
        request, visitor.keys, lambda flashes: _execution_view(request, visitor, execution, flashes=flashes)
    )


@dataclass
class _PauseForm:
    task: PauseTask
    run: TaskRun
    fields: list[FormField]


def _pause_forms(
    engine: Engine,
    execution: Execution,
    *,
    retry: tuple[str, Mapping[str, Any], Mapping[str, str]] | None = None,
) -> list[_PauseForm]:
    """One resume form per paused task run (parallel branches may each wait for a person).
    ``retry`` = (task run id, submitted text, errors) re-shows a refused submission."""
    forms = []
    for run in execution.paused_task_runs():
        try:
            found = engine.paused_task(execution, run.id)
        except NotFoundError:  # the flow revision is gone: nothing to build a form from
            found = None
        if found is None:
            continue
        task = found[0]
        submitted, errors = (retry[1], retry[2]) if retry and retry[0] == run.id else (None, None)
        fields = build_fields(task.onResume or [], prefix=f"r-{run.id}", submitted=submitted, errors=errors)
        forms.append(_PauseForm(task, run, fields))
    return forms


def _execution_view(
    request: Request,
    visitor: _Visitor,
    execution: Execution,
    *,
    flashes: list[Any] | None = None,
    retry: tuple[str, Mapping[str, Any], Mapping[str, str]] | None = None,
    status: int = 200,
) -> Response:
    engine = _engine(request)
    forms = _pause_forms(engine, execution, retry=retry)
    decisions = {run.id: decision_of(execution, run) for run in execution.taskRunList if run.outputs.get("resumed")}
    return _page(
        request,
        "execution.html",
        status=status,
        title=f"{execution.flowId} {execution.id}",
        user=visitor.session.name,
        csrf=visitor.csrf,
        flashes=flashes or [],
        execution=execution,
        path=_execution_path(execution),
        url=engine.url_of(execution),
        forms=forms,
        manual_pause=execution.state.current == State.PAUSED and not execution.paused_task_runs(),
        tree=task_tree(execution),
        decisions=decisions,
        logs=engine.logs(execution.id),
        can_pause=can_pause(execution),
        can_kill=can_kill(execution),
        refresh=is_active(execution),
    )


def _not_found(request: Request, visitor: _Visitor, text: str) -> HTMLResponse:
    return _message(request, "Not found", text, status=404, user=visitor.session.name, csrf=visitor.csrf)


async def _execution_for_action(
    request: Request, execution_id: str
) -> tuple[_Visitor, FormData, Execution] | Response:
    checked = await _checked_form(request)
    if isinstance(checked, Response):
        return checked
    visitor, form = checked
    try:
        execution = await _call(_engine(request).get_execution, execution_id)
    except NotFoundError as error:
        return _not_found(request, visitor, str(error))
    return visitor, form, execution


@router.post("/ui/executions/{execution_id}/resume")
async def resume(request: Request, execution_id: str) -> Response:
    found = await _execution_for_action(request, execution_id)
    if isinstance(found, Response):
        return found
    visitor, form, execution = found
    engine = _engine(request)
    task_run_id = str(form.get("_task_run") or "") or None
    definitions: list[InputDefinition] = []
    if task_run_id is not None:
        try:
            paused = await _call(engine.paused_task, execution, task_run_id)
        except NotFoundError as error:
            return _not_found(request, visitor, str(error))
        definitions = list(paused[0].onResume or []) if paused else []
    submitted = read_form(definitions, form)
    try:
        await _call(
            engine.resume_execution,
            execution.id,
            to_values(definitions, submitted),
            by=visitor.session.actor,
            via="ui",
            task_run_id=task_run_id,
        )
    except InputValidationError as error:
        # Not a redirect: the page comes back with the values as typed and each error in place.
        fresh = await _call(engine.get_execution, execution.id)
        return await _call(
            _execution_view, request, visitor, fresh,
            flashes=[("error", "Nothing was decided: please correct the fields marked below.")],
            retry=(task_run_id or "", submitted, error.by_field()),
            status=422,
        )
    except ConflictError as error:
        return _redirect_with(request, visitor, _execution_path(execution), ("error", str(error)))
    except NotFoundError as error:
        return _not_found(request, visitor, str(error))
    return _redirect_with(request, visitor, _execution_path(execution), ("ok", "Resumed. Thank you."))


@router.post("/ui/executions/{execution_id}/pause")
async def pause(request: Request, execution_id: str) -> Response:
    found = await _execution_for_action(request, execution_id)
    if isinstance(found, Response):
        return found
    visitor, _form, execution = found
    try:
        await _call(_engine(request).pause_execution, execution.id, by=visitor.session.actor, via="ui")
    except PausebotError as error:
        return _redirect_with(request, visitor, _execution_path(execution), ("error", str(error)))
    return _redirect_with(request, visitor, _execution_path(execution), ("ok", "Paused. Resume it when you are ready."))


@router.post("/ui/executions/{execution_id}/kill")
async def kill(request: Request, execution_id: str) -> Response:
    found = await _execution_for_action(request, execution_id)
    if isinstance(found, Response):
        return found
    visitor, form, execution = found
    reason = " ".join(str(form.get("reason") or "").split())[:500] or None
    try:
        await _call(
            _engine(request).kill_execution, execution.id, by=visitor.session.actor, via="ui", reason=reason
        )
    except PausebotError as error:
        return _redirect_with(request, visitor, _execution_path(execution), ("error", str(error)))
    return _redirect_with(request, visitor, _execution_path(execution), ("ok", "Killed."))


# --------------------------------------------------------------------------- signed links


@dataclass
class _LinkView:
    link: ResumeLink
    execution: Execution
    run: TaskRun
    task: PauseTask | None


def _open_link(request: Request, token: str) -> _LinkView | tuple[str, str, int, Decision | None]:
    """The link's pause, or (title, text, status, decision) explaining why it cannot decide."""
    signer = getattr(request.app.state, "links", None)
    if signer is None:
        return ("Links are not enabled", "This server does not accept resume links (no link secret is configured).", 503, None)
    engine = _engine(request)
    try:
        link = signer.verify(token, now=engine.clock.now())
    except LinkError as error:
        title = "Link expired" if error.status == 410 else "Invalid link"
        return (title, str(error), error.status, None)
    try:
        execution = engine.get_execution(link.execution_id)
        run = execution.task_run(link.task_run_id)
        found = engine.paused_task(execution, link.task_run_id) if run else None
    except NotFoundError:
        return ("Not found", "The execution this link belongs to no longer exists.", 404, None)
    if run is None:
        return ("Not found", "The pause this link belongs to no longer exists.", 404, None)
    if run.state.current != State.PAUSED:
        decision = decision_of(execution, run)
        text = (
            f"This request was already {decision.sentence}." if decision
            else f"This pause is no longer waiting (its task is {run.state.current.value})."
        )
        return ("Already decided", text, 410, decision)
    return _LinkView(link, execution, run, found[0] if found else None)


def _decision_input(task: PauseTask | None) -> InputDefinition | None:
    for definition in (task.onResume or []) if task else []:
        if definition.id == DECISION_INPUT and definition.type in (InputType.BOOLEAN, InputType.BOOL):
            return definition
    return None


def _link_page(
    request: Request,
    token: str,
    view: _LinkView,
    *,
    submitted: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    name: str = "",
    reason: str = "",
    status: int = 200,
) -> HTMLResponse:
    action = view.link.action
    decision_input = _decision_input(view.task)
    # A reject link on a pause without an `approved` input kills the execution: only a reason is asked.
    kills = action == "reject" and decision_input is None
    fixed = {}
    if decision_input is not None and action in ("approve", "reject"):
        fixed[decision_input.id] = "true" if action == "approve" else "false"
    definitions = [] if kills or view.task is None else list(view.task.onResume or [])
    fields = build_fields(definitions, prefix="link", submitted=submitted, errors=errors, fixed=fixed)
    return _page(
        request,
        "link.html",
        status=status,
        title={"approve": "Approve", "reject": "Reject"}.get(action, "Resume") + f" {view.execution.flowId}",
        token=token,
        action=action,
        kills=kills,
        execution=view.execution,
        run=view.run,
        inputs=view.execution.inputs,
        fields=fields,
        errors=errors or {},
        name=name,
        reason=reason,
    )


@router.get("/resume/{token}")
def link_page(request: Request, token: str) -> Response:
    """Shows the form. Never decides anything: link scanners and chat unfurlers open links."""
    view = _open_link(request, token)
    if not isinstance(view, _LinkView):
        title, text, status, decision = view
        return _message(request, title, text, status=status, decision=decision)
    return _link_page(request, token, view)


@router.post("/resume/{token}", include_in_schema=True, tags=["links"])
async def link_decide(request: Request, token: str) -> Response:
    """Decides the link's pause: a JSON object of onResume values answers JSON; the page's form
    answers HTML. 410 for a used, expired or already decided link, 403 for a tampered one."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return await _link_decide_json(request, token)
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return JSONResponse(
            {"message": "Send the onResume values as a JSON object (Content-Type: application/json)."},
            status_code=415,
        )
    return await _link_decide_form(request, token)


async def _link_decide_json(request: Request, token: str) -> Response:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JSONResponse({"message": "The request body is not valid JSON."}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"message": "The request body must be a JSON object of onResume values."}, status_code=400)
    try:
        execution = await _call(_resume_with_link, request, token, body, None)
    except InputValidationError as error:
        return JSONResponse(
            {"message": str(error), "errors": [e.as_dict() for e in error.errors]}, status_code=422
        )
    except (LinkError, PausebotError) as error:
        status, message, decided = _link_failure(request, token, error)
        return JSONResponse({"message": message, **({"decided": decided} if decided else {})}, status_code=status)
    return JSONResponse(
        {
            "id": execution.id,
            "namespace": execution.namespace,
            "flowId": execution.flowId,
            "state": execution.state.current.value,
            "url": _engine(request).url_of(execution),
        }
    )


async def _link_decide_form(request: Request, token: str) -> Response:
    form = await request.form()
    view = await _call(_open_link, request, token)
    if not isinstance(view, _LinkView):
        title, text, status, decision = view
        return _message(request, title, text, status=status, decision=decision)
    name = clean_name(str(form.get("_name") or ""))
    reason = str(form.get("reason") or "").strip()
    definitions = list(view.task.onResume or []) if view.task else []
    kills = view.link.action == "reject" and _decision_input(view.task) is None
    submitted = read_form(definitions, form) if not kills else {}
    values: dict[str, Any] = {"reason": reason} if kills and reason else to_values(definitions, submitted)
    by = {"id": f"link:{name}", "name": name} if name else None
    try:
        execution = await _call(_resume_with_link, request, token, values, by)
    except InputValidationError as error:
        return _link_page(
            request, token, view, submitted=submitted, errors=error.by_field(), name=name,
            reason=reason, status=422,
        )
    except (LinkError, PausebotError) as error:
        status, message, _decided = _link_failure(request, token, error)
        return _message(request, "Not decided", message, status=status)
    run = execution.task_run(view.run.id)
    decision = decision_of(execution, run) if run else None
    return _page(
        request, "link_done.html", title="Thank you", execution=execution, decision=decision,
    )


def _resume_with_link(request: Request, token: str, values: dict[str, Any], by: dict[str, Any] | None) -> Execution:
    from bot.api.links import resume_with_link  # the one implementation of a link's decision

    return resume_with_link(request.app.state, token, values, by=by)


def _link_failure(request: Request, token: str, error: Exception) -> tuple[int, str, dict[str, Any] | None]:
    """Status, message and the winning decision for a link that could not decide.

    A link whose pause can no longer be decided (used, decided elsewhere, killed) is Gone: 410.
    """
    if isinstance(error, LinkError):
        return error.status, str(error), None
    if isinstance(error, NotFoundError):
        return 404, str(error), None
    if isinstance(error, ConflictError):
        decided = error.as_dict() if hasattr(error, "as_dict") else None
        return 410, str(error), decided
    return 400, str(error), None
