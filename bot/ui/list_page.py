"""``/ui/executions``: the list (cards on a phone, rows on a desk) and bulk resume.

PAUSED executions are sorted by deadline, soonest first (the ones waiting for ever last), so the
page opens on what needs a person first. Bulk resume asks first: a confirmation page names how
many executions and the values each will be resumed with, and says which of them is a decision
input that nobody picked (its flow's default) before anything changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.api.executions import resume_ids
from bot.api.params import has_control
from bot.ui.auth import Visitor, checked_form, redirect_with, safe_next, visitor_of, with_flashes
from bot.ui.decisions import decision_input
from bot.ui.pages import PageRoute, engine_of, in_threadpool, message, page
from bot.ui.views import seconds_between
from engine.engine import Engine
from engine.errors import NotFoundError, PausebotError
from engine.inputs import InputType, form_values
from engine.model import Execution
from engine.states import State

router = APIRouter(include_in_schema=False, route_class=PageRoute)

PAGE_SIZE = 25
SORT_WINDOW = 1000  # PAUSED executions sorted by deadline: at most this many are compared
_NEVER = "9999"


def execution_path(execution: Execution) -> str:
    return "/ui/executions/" + "/".join(
        quote(part, safe="") for part in (execution.namespace, execution.flowId, execution.id)
    )


@dataclass(frozen=True)
class Filters:
    state: str  # "" means every state
    namespace: str
    flow: str
    q: str
    page: int

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Filters:
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

    @property
    def more(self) -> bool:
        """Filters beyond state and text are set (the phone view opens them)."""
        return bool(self.namespace or self.flow)

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


@dataclass
class Row:
    """One execution as the list shows it."""

    execution: Execution
    path: str
    question: str | None
    requester: str
    since: str | None  # paused at (PAUSED) or started
    waited: float | None  # seconds
    deadline: str | None
    left: float | None  # seconds to the deadline

    @property
    def paused(self) -> bool:
        return self.execution.state.current == State.PAUSED


def _row(engine: Engine, execution: Execution, now: datetime) -> Row:
    runs = execution.paused_task_runs() if execution.state.current == State.PAUSED else []
    question = None
    if runs:
        try:  # an Approval's title reads better than its long description
            waiting = engine.waiting_tasks(execution)
        except PausebotError:
            waiting = []
        question = next(
            (w.title or w.description for w in waiting if w.title or w.description), None
        )
    question = question or next((r.description for r in runs if r.description), None)
    if question is None:
        try:
            question = engine.flow_of(execution).description
        except NotFoundError:
            question = None
    deadlines = sorted(r.deadline for r in runs if r.deadline)
    deadline = deadlines[0] if deadlines else None
    since = (
        execution.state.entered(State.PAUSED)
        if execution.state.current == State.PAUSED
        else execution.state.start_date
    )
    by = execution.startedBy
    requester = str(by.get("name") or by.get("id")) if isinstance(by, dict) else ""
    return Row(
        execution=execution,
        path=execution_path(execution),
        question=question,
        requester=requester or (execution.startedVia or ""),
        since=since,
        waited=seconds_between(since, now),
        deadline=deadline,
        left=-(seconds_between(deadline, now) or 0) if deadline else None,
    )


def _search(engine: Engine, filters: Filters) -> tuple[list[Execution], int]:
    def search(page: int, size: int) -> tuple[list[Execution], int]:
        return engine.search_executions(
            states=[filters.state] if filters.state else [],
            namespace=filters.namespace or None,
            flow_id=filters.flow or None,
            text=filters.q or None,
            page=page,
            size=size,
        )

    if filters.state != State.PAUSED.value:
        return search(filters.page, PAGE_SIZE)
    # Soonest deadline first across pages: the newest SORT_WINDOW paused executions are read,
    # sorted and cut into pages here (the store sorts by start date only).
    found, total = search(1, SORT_WINDOW // 2)
    if total > len(found):
        found += search(2, SORT_WINDOW // 2)[0]
    found.sort(key=_deadline_key)
    start = (filters.page - 1) * PAGE_SIZE
    return found[start : start + PAGE_SIZE], total


def _deadline_key(execution: Execution) -> tuple[str, str]:
    deadlines = [r.deadline for r in execution.paused_task_runs() if r.deadline]
    return (min(deadlines) if deadlines else _NEVER, execution.state.start_date or "")


@router.get("/ui/executions")
def executions_page(request: Request) -> Response:
    visitor = visitor_of(request)
    if not isinstance(visitor, Visitor):
        return visitor
    filters = Filters.of(request.query_params)
    if any(has_control(text) for text in (filters.namespace, filters.flow, filters.q)):
        return message(
            "Invalid filter",
            "Filters cannot contain control characters (such as NUL).",
            status=400,
            **visitor.context(),
        )
    engine = engine_of(request)
    executions, total = _search(engine, filters)
    pages = max(1, -(-total // PAGE_SIZE))
    deployed = [d.flow for d in engine.list_flows()]
    now = engine.clock.now()
    rows = [_row(engine, execution, now) for execution in executions]
    return with_flashes(
        request,
        visitor,
        lambda flashes: page(
            "executions.html",
            title="Executions",
            **visitor.context(),
            flashes=flashes,
            rows=rows,
            total=total,
            pages=pages,
            filters=filters,
            states=[s.value for s in State],
            flow_ids=sorted({flow.id for flow in deployed}),
            namespaces=sorted({flow.namespace for flow in deployed}),
            back="/ui/executions?" + filters.query(),
            any_paused=any(row.paused for row in rows),
        ),
    )


@dataclass
class Planned:
    """What bulk resume would do to one execution, shown before it does it."""

    id: str
    execution: Execution | None
    path: str
    values: list[tuple[str, str]] = field(default_factory=list)  # (input, value as shown)
    defaulted_decision: str | None = None  # "approved = Yes": a decision nobody picked
    refused: str | None = None  # why it will not be resumed


def _show(value: Any, kind: InputType | None = None) -> str:
    if kind in (InputType.BOOLEAN, InputType.BOOL) and value in ("true", "false"):
        return "Yes" if value == "true" else "No"
    if kind is InputType.SECRET:
        return "(its secret default)"
    return str(value) if value != "" else "(empty)"


def plan_bulk(engine: Engine, ids: list[str]) -> list[Planned]:
    plans = []
    for execution_id in dict.fromkeys(ids):
        if has_control(execution_id):
            continue
        try:
            execution = engine.get_execution(execution_id)
        except NotFoundError as error:
            plans.append(Planned(execution_id, None, "", refused=str(error)))
            continue
        plan = Planned(execution.id, execution, execution_path(execution))
        plans.append(plan)
        try:
            waiting = engine.waiting_tasks(execution)
        except PausebotError as error:
            plan.refused = str(error)
            continue
        if execution.state.current != State.PAUSED or not waiting:
            plan.refused = f"it is {execution.state.current.value}, not waiting for a decision"
            continue
        first = waiting[0]
        if first.kind == "approval":
            plan.refused = "an Approval needs its own decision: open it to approve or deny"
            continue
        defaults = form_values(first.inputs, {})
        for definition in first.inputs:
            text = defaults.get(definition.id, "")
            if definition.required and definition.default_value is None:
                plan.refused = f"{definition.id} has no default: open it and fill it in"
            plan.values.append((definition.id, _show(text, definition.type)))
        found = decision_input(first.inputs, execution.label_map())
        if found is not None and plan.refused is None:
            definition = found[0]
            shown = _show(defaults.get(definition.id, ""), definition.type)
            plan.defaulted_decision = f"{definition.id} = {shown}"
    return plans


@router.post("/ui/executions/bulk-resume")
async def bulk_resume(request: Request) -> Response:
    checked = await checked_form(request)
    if isinstance(checked, Response):
        return checked
    visitor, form = checked
    back = safe_next(str(form.get("_back") or ""))
    ids = [str(value) for value in form.getlist("ids") if str(value)]
    if not ids:
        return redirect_with(
            request, visitor, back, ("error", "Select at least one paused execution to resume.")
        )
    engine = engine_of(request)
    if form.get("confirm") != "yes":
        plans = await in_threadpool(plan_bulk, engine, ids)
        ready = [plan for plan in plans if plan.refused is None]
        return page(
            "bulk_confirm.html",
            title="Resume these executions?",
            **visitor.context(),
            plans=plans,
            ready=ready,
            defaulted=[plan for plan in ready if plan.defaulted_decision],
            back=back,
        )
    outcome = await in_threadpool(resume_ids, engine, ids, by=visitor.actor)
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
    return redirect_with(request, visitor, back, *messages)
