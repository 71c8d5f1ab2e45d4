"""One execution (``/ui/executions/{namespace}/{flowId}/{id}``, the link Slack carries) and the
actions on it: decide a waiting task, resume, pause, kill.

The page puts the question first: the waiting task's rendered description, who asked, how long
it has waited, its deadline, the key inputs and one button per outcome (``decisions.py``). Each
button opens only the fields its outcome needs; with none, the second tap decides. Then the
task runs, outputs, logs (with a level filter) and state history.

Every decision goes through the engine (``Engine.decide_waiting``, ``kill_execution``), which
refuses what is no longer allowed and says who decided first. POSTs redirect (303), except a
refused decision, which comes back at once (422) with the values as typed and each error beside
its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from bot.api.params import has_control
from bot.ui.auth import Visitor, checked_form, redirect_with, visitor_of, with_flashes
from bot.ui.decisions import Retry, decision_cards, find_outcome, outcomes_of
from bot.ui.fields import read_form, to_values
from bot.ui.list_page import execution_path
from bot.ui.pages import PageRoute, engine_of, in_threadpool, message, page, see_other
from bot.ui.views import (
    Decision,
    actor_name,
    can_kill,
    can_pause,
    decision_of,
    flat_items,
    is_active,
    last_change,
    seconds_between,
    task_tree,
)
from engine.errors import ExecutionNotFound, InputValidationError, NotFoundError, PausebotError
from engine.inputs import InputDefinition
from engine.model import Execution
from engine.states import TERMINAL, State
from engine.tasks.subflow import parent_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
KEY_INPUTS = 8  # inputs shown beside the question; the rest are further down


def get_execution(request: Request, execution_id: str) -> Execution:
    """The execution of a page's path; an id with a control character names none (and would
    make PostgreSQL fail rather than find nothing)."""
    if has_control(execution_id):
        raise ExecutionNotFound(execution_id)
    return engine_of(request).get_execution(execution_id)


def not_found(visitor: Visitor | None, text: str) -> HTMLResponse:
    context = visitor.context() if visitor else {}
    return message("Not found", text, status=404, **context)


@router.get("/ui/executions/{execution_id}")
def execution_short(request: Request, execution_id: str) -> Response:
    visitor = visitor_of(request)
    if not isinstance(visitor, Visitor):
        return visitor
    try:
        execution = get_execution(request, execution_id)
    except NotFoundError as error:
        return not_found(visitor, str(error))
    return see_other(execution_path(execution))


@router.get("/ui/executions/{namespace}/{flow_id}/{execution_id}")
def execution_page(
    request: Request, namespace: str, flow_id: str, execution_id: str, level: str | None = None
) -> Response:
    visitor = visitor_of(request)
    if not isinstance(visitor, Visitor):
        return visitor
    try:
        execution = get_execution(request, execution_id)
    except NotFoundError as error:
        return not_found(visitor, str(error))
    if (execution.namespace, execution.flowId) != (namespace, flow_id):
        return see_other(execution_path(execution))
    return with_flashes(
        request,
        visitor,
        lambda flashes: execution_view(
            request, visitor, execution, flashes=flashes, level=(level or "").upper()
        ),
    )


def execution_view(
    request: Request,
    visitor: Visitor,
    execution: Execution,
    *,
    flashes: list[Any] | None = None,
    retry: Retry | None = None,
    status: int = 200,
    level: str = "",
) -> Response:
    engine = engine_of(request)
    try:
        waiting = engine.waiting_tasks(execution)
    except NotFoundError:  # the flow revision is gone: nothing to build a form from
        waiting = []
    cards = decision_cards(waiting, execution, retry=retry)
    execution = execution.masked()  # what people see: SECRET values hidden
    decisions = {
        run.id: decision_of(execution, run)
        for run in execution.taskRunList
        if run.outputs.get("resumed")
    }
    outcome = [d for d in decisions.values() if d]
    if execution.state.current == State.KILLED and not any(d.verb == "killed" for d in outcome):
        outcome.append(
            Decision(
                "killed",
                actor_name(execution.killedBy),
                execution.state.entered(State.KILLED),
                None,
                execution.killReason,
            )
        )
    level = level if level in LEVELS else ""
    now = engine.clock.now()
    try:
        flow_description = engine.flow_of(execution).description
    except NotFoundError:
        flow_description = None
    inputs = flat_items(execution.inputs)
    return page(
        "execution.html",
        status=status,
        title=f"{execution.flowId} {execution.id}",
        **visitor.context(),
        flashes=flashes or [],
        execution=execution,
        path=execution_path(execution),
        url=engine.url_of(execution),
        cards=cards,
        waited={card.key: seconds_between(card.waiting.paused_at, now) for card in cards},
        left={
            card.key: -(seconds_between(card.waiting.deadline, now) or 0)
            for card in cards
            if card.waiting.deadline
        },
        flow_description=flow_description,
        key_inputs=inputs[:KEY_INPUTS],
        inputs=inputs,
        tree=task_tree(execution),
        parent=parent_link(execution),
        children=children_links(engine, execution),
        decisions=decisions,
        outcome=outcome,
        logs=engine.logs(execution.id, min_level=level or None),
        level=level,
        levels=LEVELS,
        can_pause=can_pause(execution),
        can_kill=can_kill(execution),
        refresh=is_active(execution),
        duration=seconds_between(
            execution.state.start_date,
            last_change(execution) if execution.state.current in TERMINAL else now,
        ),
    )


CHILDREN_SHOWN = 50


def parent_link(execution: Execution) -> dict[str, str] | None:
    """The parent execution of a Subflow child (from its trigger): flow and page path."""
    parent = parent_of(execution.trigger)
    if parent is None:
        return None
    parts = [str(parent.get(k) or "") for k in ("namespace", "flowId", "executionId")]
    return {
        "flow": f"{parts[0]}.{parts[1]}",
        "id": parts[2],
        "task": str(parent.get("taskId") or ""),
        "path": "/ui/executions/" + "/".join(quote(p, safe="") for p in parts),
    }


def children_links(engine: Any, execution: Execution) -> list[dict[str, Any]]:
    """The executions this one started (Subflow task runs' ``executionId`` output), in order."""
    links: list[dict[str, Any]] = []
    for run in execution.taskRunList:
        child_id = run.outputs.get("executionId")
        if not isinstance(child_id, str) or not child_id or len(links) >= CHILDREN_SHOWN:
            continue
        try:
            child = engine.get_execution(child_id)
        except NotFoundError:  # purged: say so rather than link nowhere
            links.append({"id": child_id, "task": run.taskId, "value": run.value, "gone": True})
            continue
        links.append(
            {
                "id": child.id,
                "task": run.taskId,
                "value": run.value,
                "flow": f"{child.namespace}.{child.flowId}",
                "state": child.state.current.value,
                "path": execution_path(child),
                "gone": False,
            }
        )
    return links


async def _execution_for_action(
    request: Request, execution_id: str, *, files: bool = False
) -> tuple[Visitor, FormData, Execution] | Response:
    checked = await checked_form(request, files=files)
    if isinstance(checked, Response):
        return checked
    visitor, form = checked
    try:
        execution = await in_threadpool(get_execution, request, execution_id)
    except NotFoundError as error:
        return not_found(visitor, str(error))
    return visitor, form, execution


def _text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


_DONE = {"approve": "Approved", "reject": "Rejected", "deny": "Denied", "resume": "Resumed"}


@router.post("/ui/executions/{execution_id}/decide")
async def decide(request: Request, execution_id: str) -> Response:
    found = await _execution_for_action(request, execution_id, files=True)
    if isinstance(found, Response):
        return found
    visitor, form, execution = found
    engine = engine_of(request)
    back = execution_path(execution)
    key, option = _text(form, "_task_run", 200), _text(form, "_choice", 200)
    try:
        waiting = await in_threadpool(engine.waiting_tasks, execution)
    except NotFoundError as error:
        return not_found(visitor, str(error))
    card = next(
        (outcomes_of(w, execution) for w in waiting if (w.task_run_id or "manual") == key), None
    )
    if card is None:
        run = execution.task_run(key) if key else None
        decided = decision_of(execution, run) if run else None
        text = (
            f"Nothing was changed: this step was already {decided.sentence}."
            if decided
            else f"Nothing was changed: execution {execution.id} is "
            f"{execution.state.current.value}, not waiting for this decision."
        )
        return redirect_with(request, visitor, back, ("error", text))
    outcome = find_outcome(card, option)
    if outcome is None:
        return redirect_with(
            request, visitor, back, ("error", "Nothing was decided: choose one of the buttons.")
        )
    definitions: list[InputDefinition] = outcome.definitions
    submitted: dict[str, Any] = read_form(definitions, form)
    comment = _text(form, "comment") if outcome.comment else ""
    reason = " ".join(_text(form, "reason", 500).split()) if outcome.reason else ""
    try:
        if outcome.action == "kill":
            await in_threadpool(
                engine.kill_execution,
                execution.id,
                by=visitor.actor,
                via="ui",
                reason=reason or None,
            )
        else:
            values = {**to_values(definitions, submitted), **outcome.fixed}
            await in_threadpool(
                engine.decide_waiting,
                execution.id,
                card.waiting.task_run_id,
                outcome.action,
                values=values,
                comment=comment or None,
                by=visitor.actor,
                via="ui",
            )
    except InputValidationError as error:
        fresh = await in_threadpool(engine.get_execution, execution.id)
        return await in_threadpool(
            execution_view,
            request,
            visitor,
            fresh,
            flashes=[("error", "Nothing was decided: please correct the fields marked below.")],
            retry=(card.key, outcome.id, {**submitted, "comment": comment}, error.by_field()),
            status=422,
        )
    except NotFoundError as error:
        return not_found(visitor, str(error))
    except PausebotError as error:  # already decided (says by whom), or not paused any more
        return redirect_with(request, visitor, back, ("error", str(error)))
    done = _DONE.get(outcome.id) or f"{outcome.label}: recorded"
    if outcome.action == "kill":
        done = "Rejected: the execution is stopped"
    return redirect_with(request, visitor, back, ("ok", f"{done}. Thank you."))


@router.post("/ui/executions/{execution_id}/resume")
async def resume(request: Request, execution_id: str) -> Response:
    """Resume with the given ``onResume`` values (a manual pause: with nothing). The page's own
    forms use ``/decide``; this stays for forms and scripts written against it."""
    found = await _execution_for_action(request, execution_id, files=True)
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
            return not_found(visitor, str(error))
        definitions = list(paused[0].onResume or []) if paused else []
    submitted = read_form(definitions, form)
    try:
        await in_threadpool(
            engine.resume_execution,
            execution.id,
            to_values(definitions, submitted),
            by=visitor.actor,
            via="ui",
            task_run_id=task_run_id,
        )
    except InputValidationError as error:
        return redirect_with(
            request,
            visitor,
            execution_path(execution),
            ("error", "Nothing was decided: " + _errors_text(error.by_field())),
        )
    except NotFoundError as error:
        return not_found(visitor, str(error))
    except PausebotError as error:
        return redirect_with(request, visitor, execution_path(execution), ("error", str(error)))
    return redirect_with(request, visitor, execution_path(execution), ("ok", "Resumed. Thank you."))


def _errors_text(errors: Mapping[str, str]) -> str:
    return "; ".join(f"{name}: {text}" for name, text in errors.items())


@router.post("/ui/executions/{execution_id}/pause")
async def pause(request: Request, execution_id: str) -> Response:
    found = await _execution_for_action(request, execution_id)
    if isinstance(found, Response):
        return found
    visitor, _form, execution = found
    try:
        await in_threadpool(
            engine_of(request).pause_execution, execution.id, by=visitor.actor, via="ui"
        )
    except PausebotError as error:
        return redirect_with(request, visitor, execution_path(execution), ("error", str(error)))
    return redirect_with(
        request,
        visitor,
        execution_path(execution),
        ("ok", "Paused. Resume it when you are ready."),
    )


@router.post("/ui/executions/{execution_id}/kill")
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
            by=visitor.actor,
            via="ui",
            reason=reason,
        )
    except PausebotError as error:
        return redirect_with(request, visitor, execution_path(execution), ("error", str(error)))
    return redirect_with(request, visitor, execution_path(execution), ("ok", "Killed."))


__all__ = ["State", "execution_view", "get_execution", "not_found", "router"]
