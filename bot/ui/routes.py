"""Routes of the web UI (``/ui/...``): login, the executions list, one execution's page and
the actions on it (resume, bulk resume, pause, kill).

Server-rendered HTML, no JavaScript framework. The UI is behind ``PAUSEBOT_API_TOKEN`` (see
``session.py``). Every decision goes through the engine, which refuses what is no longer allowed
and says who decided first; this module only turns those answers into pages. POSTs redirect
(303), except a refused resume form, which comes back at once with the values as typed.

The app (``bot/server.py``) includes ``router`` (which also carries the signed-link pages of
``link_pages.py``) and provides ``request.app.state.engine``, ``.settings`` and ``.links``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.datastructures import FormData

from bot.api.bodies import MalformedBody, read_form_body
from bot.api.executions import resume_ids
from bot.api.params import has_control
from bot.ui import link_pages
from bot.ui.fields import FormField, build_fields, read_form, to_values
from bot.ui.pages import (
    PageRoute,
    engine_of,
    in_threadpool,
    malformed_form,
    message,
    page,
    see_other,
)
from bot.ui.session import COOKIE_NAME, SESSION_TTL, Session, SessionKeys, clean_name
from bot.ui.views import can_kill, can_pause, decision_of, is_active, last_change, task_tree
from engine.engine import Engine
from engine.errors import ExecutionNotFound, InputValidationError, NotFoundError, PausebotError
from engine.inputs import InputDefinition
from engine.model import Execution, TaskRun
from engine.states import State
from engine.tasks.pause import PauseTask

router = APIRouter()  # what the app includes: the UI's pages and the link pages
# HTML for people, not part of the API's OpenAPI.
_ui = APIRouter(include_in_schema=False, route_class=PageRoute)

_STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
FLASH_COOKIE = "pausebot_flash"
PAGE_SIZE = 25


def _execution_path(execution: Execution) -> str:
    return "/ui/executions/" + "/".join(
        quote(part, safe="") for part in (execution.namespace, execution.flowId, execution.id)
    )


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
        return _not_configured()
    cookie = request.cookies.get(COOKIE_NAME)
    session = keys.read(cookie, datetime.now(UTC))
    if session is not None:
        return _Visitor(session, keys)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if (
        request.method == "GET"
        and not cookie
        and request.headers.get("sec-fetch-site") == "cross-site"
    ):
        # SameSite=Strict cookies are not sent when arriving from Slack or a mail client; a
        # same-origin reload sends them, so logged-in people are not asked to log in again.
        return page("bounce.html", title="Opening…", target=target)
    return see_other("/ui/login?" + urlencode({"next": target}))


def _not_configured() -> HTMLResponse:
    return page("not_configured.html", status=503, title="Set up the web UI")


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
    try:
        form = await read_form_body(request)
    except MalformedBody as error:
        return malformed_form(error, user=visitor.session.name, csrf=visitor.csrf)
    given = form.get("_csrf")
    if not visitor.keys.csrf_ok(visitor.session, given if isinstance(given, str) else None):
        return message(
            "Form expired",
            "This form did not carry a valid security token (it may be older than your login, or "
            "come from another site). Go back, reload the page and try again.",
            status=403,
            user=visitor.session.name,
            csrf=visitor.csrf,
        )
    return visitor, form


def _with_flashes(
    request: Request, keys: SessionKeys, render: Callable[[list[Any]], Response]
) -> Response:
    """Shows the messages left by the previous POST once, then forgets them."""
    flashes = keys.open_flash(request.cookies.get(FLASH_COOKIE))
    response = render(flashes)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/ui")
    return response


def _redirect_with(
    request: Request, visitor: _Visitor, url: str, *messages: tuple[str, str]
) -> Response:
    response = see_other(url)
    trimmed = [
        (level, text if len(text) <= 600 else text[:597] + "...") for level, text in messages
    ]
    return _with_cookie(response, request, FLASH_COOKIE, visitor.keys.seal_flash(trimmed[:6]), 120)


def _with_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int
) -> Response:
    """Our cookies: scoped to /ui, unreadable by scripts, never sent cross-site."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(request),
    )
    return response


# --------------------------------------------------------------------------- login


@_ui.get("/ui")
@_ui.get("/ui/")
def ui_home() -> Response:
    return see_other("/ui/executions")


@_ui.get("/ui/static/{name}")
def ui_static(name: str) -> Response:
    path = _STATIC / name
    media_type = _STATIC_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or media_type is None or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=300"})


@_ui.get("/ui/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if _keys(request) is None:
        return _not_configured()
    return page("login.html", title="Log in", next=_safe_next(next), name="", error=None)


@_ui.post("/ui/login")
async def login(request: Request) -> Response:
    keys = _keys(request)
    if keys is None:
        return _not_configured()
    try:
        form = await read_form_body(request)
    except MalformedBody as error:
        return malformed_form(error)
    token, raw_name, target = (str(form.get(k) or "") for k in ("token", "name", "next"))
    name = clean_name(raw_name)
    error = None
    if not name:
        error = "Please give your name: it is recorded with every decision you make."
    elif not keys.token_matches(token):
        error = "That token is not the one this server was started with (PAUSEBOT_API_TOKEN)."
    if error:
        return page(
            "login.html",
            status=401 if name else 422,
            title="Log in",
            next=_safe_next(target),
            name=name,
            error=error,
        )
    session = keys.issue(name, datetime.now(UTC))
    response = see_other(_safe_next(target))
    return _with_cookie(
        response, request, COOKIE_NAME, session.cookie, int(SESSION_TTL.total_seconds())
    )


@_ui.post("/ui/logout")
async def logout(request: Request) -> Response:
    checked = await _checked_form(request)
    if isinstance(checked, Response):
        return checked
    response = see_other("/ui/login")
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
        values = {
            "state": self.state,
            "namespace": self.namespace,
            "flow": self.flow,
            "q": self.q,
            "page": self.page,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v or k == "state"})


@_ui.get("/ui/executions")
def executions_page(request: Request) -> Response:
    visitor = _visitor(request)
    if not isinstance(visitor, _Visitor):
        return visitor
    filters = _Filters.of(request.query_params)
    if any(has_control(text) for text in (filters.namespace, filters.flow, filters.q)):
        return message(
            "Invalid filter",
            "Filters cannot contain control characters (such as NUL).",
            status=400,
            user=visitor.session.name,
            csrf=visitor.csrf,
        )
    engine = engine_of(request)
    executions, total = engine.search_executions(
        states=[filters.state] if filters.state else [],
        namespace=filters.namespace or None,
        flow_id=filters.flow or None,
        text=filters.q or None,
        page=filters.page,
        size=PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    deployed = [d.flow for d in engine.list_flows()]
    return _with_flashes(
        request,
        visitor.keys,
        lambda flashes: page(
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
            flow_ids=sorted({flow.id for flow in deployed}),
            namespaces=sorted({flow.namespace for flow in deployed}),
            path_of=_execution_path,
            last_change=last_change,
            back="/ui/executions?" + filters.query(),
        ),
    )


@_ui.post("/ui/executions/bulk-resume")
async def bulk_resume(request: Request) -> Response:
    checked = await _checked_form(request)
    if isinstance(checked, Response):
        return checked
    visitor, form = checked
    back = _safe_next(str(form.get("_back") or ""))
    ids = [str(value) for value in form.getlist("ids") if str(value)]
    if not ids:
        return _redirect_with(
            request, visitor, back, ("error", "Select at least one paused execution to resume.")
        )
    outcome = await in_threadpool(resume_ids, engine_of(request), ids, by=visitor.session.actor)
    messages: list[tuple[str, str]] = []
    if outcome.resumed:
        count = len(outcome.resumed)
        messages.append(
            (
                "ok",
                f"Resumed {count} execution{'s' if count != 1 else ''} with their default values.",
            )
        )
    for execution_id, why in list(outcome.refused.items())[:4]:
        messages.append(("error", f"{execution_id}: {why}"))
    if len(outcome.refused) > 4:
        messages.append(("error", f"{len(outcome.refused) - 4} more could not be resumed."))
    return _redirect_with(request, visitor, back, *messages)


@_ui.get("/ui/executions/{execution_id}")
def execution_short(request: Request, execution_id: str) -> Response:
    visitor = _visitor(request)
    if not isinstance(visitor, _Visitor):
        return visitor
    try:
        execution = _get_execution(request, execution_id)
    except NotFoundError as error:
        return _not_found(visitor, str(error))
    return see_other(_execution_path(execution))


@_ui.get("/ui/executions/{namespace}/{flow_id}/{execution_id}")
def execution_page(request: Request, namespace: str, flow_id: str, execution_id: str) -> Response:
    visitor = _visitor(request)
    if not isinstance(visitor, _Visitor):
        return visitor
    try:
        execution = _get_execution(request, execution_id)
    except NotFoundError as error:
        return _not_found(visitor, str(error))
    if (execution.namespace, execution.flowId) != (namespace, flow_id):
        return see_other(_execution_path(execution))
    return _with_flashes(
        request,
        visitor.keys,
        lambda flashes: _execution_view(request, visitor, execution, flashes=flashes),
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
        fields = build_fields(
            task.onResume or [], prefix=f"r-{run.id}", submitted=submitted, errors=errors
        )
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
    engine = engine_of(request)
    forms = _pause_forms(engine, execution, retry=retry)
    execution = execution.masked()  # what people see: SECRET values hidden
    decisions = {
        run.id: decision_of(execution, run)
        for run in execution.taskRunList
        if run.outputs.get("resumed")
    }
    return page(
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


def _get_execution(request: Request, execution_id: str) -> Execution:
    """The execution of a page's path; an id with a control character names none (and would
    make PostgreSQL fail rather than find nothing)."""
    if has_control(execution_id):
        raise ExecutionNotFound(execution_id)
    return engine_of(request).get_execution(execution_id)


def _not_found(visitor: _Visitor, text: str) -> HTMLResponse:
    return message("Not found", text, status=404, user=visitor.session.name, csrf=visitor.csrf)


async def _execution_for_action(
    request: Request, execution_id: str
) -> tuple[_Visitor, FormData, Execution] | Response:
    checked = await _checked_form(request)
    if isinstance(checked, Response):
        return checked
    visitor, form = checked
    try:
        execution = await in_threadpool(_get_execution, request, execution_id)
    except NotFoundError as error:
        return _not_found(visitor, str(error))
    return visitor, form, execution


@_ui.post("/ui/executions/{execution_id}/resume")
async def resume(request: Request, execution_id: str) -> Response:
    found = await _execution_for_action(request, execution_id)
    if isinstance(found, Response):
        return found
    visitor, form, execution = found
    engine = engine_of(request)
    task_run_id = str(form.get("_task_run") or "") or None
    definitions: list[InputDefinition] = []
    if task_run_id is not None:
        try:
            paused = await in_threadpool(engine.paused_task, execution, task_run_id)
        except NotFoundError as error:
            return _not_found(visitor, str(error))
        definitions = list(paused[0].onResume or []) if paused else []
    submitted = read_form(definitions, form)
    try:
        await in_threadpool(
            engine.resume_execution,
            execution.id,
            to_values(definitions, submitted),
            by=visitor.session.actor,
            via="ui",
            task_run_id=task_run_id,
        )
    except InputValidationError as error:
        # Not a redirect: the page comes back with the values as typed and each error in place.
        fresh = await in_threadpool(engine.get_execution, execution.id)
        return await in_threadpool(
            _execution_view,
            request,
            visitor,
            fresh,
            flashes=[("error", "Nothing was decided: please correct the fields marked below.")],
            retry=(task_run_id or "", submitted, error.by_field()),
            status=422,
        )
    except NotFoundError as error:
        return _not_found(visitor, str(error))
    except PausebotError as error:  # already decided (says by whom), or not paused any more
        return _redirect_with(request, visitor, _execution_path(execution), ("error", str(error)))
    return _redirect_with(
        request, visitor, _execution_path(execution), ("ok", "Resumed. Thank you.")
    )


@_ui.post("/ui/executions/{execution_id}/pause")
async def pause(request: Request, execution_id: str) -> Response:
    found = await _execution_for_action(request, execution_id)
    if isinstance(found, Response):
        return found
    visitor, _form, execution = found
    try:
        await in_threadpool(
            engine_of(request).pause_execution, execution.id, by=visitor.session.actor, via="ui"
        )
    except PausebotError as error:
        return _redirect_with(request, visitor, _execution_path(execution), ("error", str(error)))
    return _redirect_with(
        request,
        visitor,
        _execution_path(execution),
        ("ok", "Paused. Resume it when you are ready."),
    )


@_ui.post("/ui/executions/{execution_id}/kill")
async def kill(request: Request, execution_id: str) -> Response:
    found = await _execution_for_action(request, execution_id)
    if isinstance(found, Response):
        return found
    visitor, form, execution = found
    reason = " ".join(str(form.get("reason") or "").split())[:500] or None
    try:
        await in_threadpool(
            engine_of(request).kill_execution,
            execution.id,
            by=visitor.session.actor,
            via="ui",
            reason=reason,
        )
    except PausebotError as error:
        return _redirect_with(request, visitor, _execution_path(execution), ("error", str(error)))
    return _redirect_with(request, visitor, _execution_path(execution), ("ok", "Killed."))


router.include_router(_ui)
router.include_router(link_pages.router)
