"""Deciding what happens next: a pure function of (execution, flow, now).

``decide`` walks the flow's task tree against the execution's task runs, creates the runs that
are due, resolves flowable tasks (If, Switch, Sequential, Parallel, Pause, Sleep), fires expired
pause deadlines, and lists the runnable task runs to execute. It does no I/O: the runner loads,
calls it, saves the result with a compare-and-set, and then executes the dispatched runs.

Pause resolution (by a person, the timer or a kill) is ``resolve_pause``, used by the engine's
resume/kill and by the timer path here, so every way of deciding a pause behaves the same.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.clock import iso, parse_iso
from engine.errors import ExpressionError, InputValidationError, PausebotError
from engine.expressions import env_variables, render_value
from engine.expressions.functions import FILE_READER
from engine.inputs import InputDefinition, InputType, parse_duration, parse_inputs
from engine.model import Execution, TaskRun
from engine.states import TERMINAL, State, worst
from engine.store.store import LogEntry, NewEvent
from engine.tasks import FlowableTask, Task
from engine.tasks.approval import (
    EXECUTION_ENDINGS,
    ApprovalTask,
    Decision,
    behavior_state,
)
from engine.tasks.base import TaskResult
from engine.tasks.for_each import IteratingTask
from engine.tasks.for_each_item import MAX_BATCHES, ForEachItemTask, split_lines
from engine.tasks.if_branch import FALSY
from engine.tasks.labels import LabelsTask
from engine.tasks.pause import PauseTask
from engine.tasks.sleep import SleepTask
from engine.tasks.subflow import SUBFLOW_TRIGGER, SubflowTask, parent_of
from engine.tasks.wait_for import WaitForTask

if TYPE_CHECKING:
    from engine.flows import Flow

ContextHook = Callable[[Execution, TaskRun | None], dict[str, Any]]

WAITING = None  # a block or run that has not finished yet

BEHAVIOR_TARGETS = {
    "RESUME": State.SUCCESS,
    "WARN": State.WARNING,
    "FAIL": State.FAILED,
    "CANCEL": State.CANCELLED,
}


@dataclass
class Step:
    """What one decision changed and what the runner must do next."""

    execution: Execution
    changed: bool = False
    dispatch: list[TaskRun] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)
    wake_at: datetime | None = None
    children: list[Execution] = field(default_factory=list)  # subflow executions to insert
    files: list[tuple[str, bytes]] = field(default_factory=list)  # storage files to write


@dataclass
class ChildRequest:
    """What a Subflow asks for: the engine validates it and builds the child execution."""

    namespace: str
    flow_id: str
    revision: int | None
    inputs: dict[str, Any]
    labels: dict[str, str]
    trigger: dict[str, Any]


@dataclass
class Settings:
    public_url: str = "http://localhost:8080"
    context_hooks: list[ContextHook] = field(default_factory=list)
    # Retention (engine.Engine.housekeeping): delivered outbox events and their deliveries are
    # pruned after ``outbox_retention``; finished executions and their logs after
    # ``execution_retention`` (None: kept until purged by PurgeExecutions or `pausebot purge`).
    outbox_retention: timedelta | None = timedelta(days=7)
    execution_retention: timedelta | None = None
    # Set by the engine: builds a child execution (reads the child flow, validates inputs) and
    # reads a child back (its execution and flow); both read-only, the decision stays pure.
    new_child: Callable[[ChildRequest], Execution] | None = None
    read_child: Callable[[str], tuple[Execution, Flow] | None] | None = None
    # ForEachItem's file access (namespace, uri) -> bytes and (uri, bytes) -> uri.
    read_file: Callable[[str, str], bytes] | None = None


# -- the expression context -------------------------------------------------------------


def expression_context(
    execution: Execution,
    flow: Flow,
    task: Task | None = None,
    run: TaskRun | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    settings = settings or Settings()
    labels: dict[str, Any] = {**flow.labels, **execution.label_map()}
    for key, value in list(labels.items()):  # labels.system.correlationId, as in Kestra
        head, dot, rest = key.partition(".")
        if dot and rest and not isinstance(labels.get(head), str):
            labels.setdefault(head, {})[rest] = value
    context: dict[str, Any] = {
        "flow": {
            "id": flow.id,
            "namespace": flow.namespace,
            "revision": execution.flowRevision,
            "tenantId": None,
            "description": flow.description,
        },
        "execution": {
            "id": execution.id,
            "startDate": execution.state.start_date,
            "state": execution.state.current.value,
            "originalId": execution.id,
            "url": execution_url(settings.public_url, execution),
        },
        "inputs": execution.inputs,
        "outputs": execution.outputs_by_task(),
        "vars": flow.variables,
        "labels": labels,
        "trigger": execution.trigger or {},
        "envs": env_variables(),
        "kestra": {"url": settings.public_url.rstrip("/") + "/", "environment": None},
        "tasks": {r.taskId: {"state": r.state.current.value} for r in execution.taskRunList},
    }
    if task is not None:
        context["task"] = {"id": task.id, "type": task.type, "description": task.description}
    if run is not None:
        context["taskrun"] = {
            "id": run.id,
            "startDate": run.state.start_date,
            "attemptsCount": len(run.attempts),
            "parentId": run.parentTaskRunId,
            "value": run.value,
            "state": run.state.current.value,
        }
        context["taskrun"]["iteration"] = run.iteration
        context.update(iteration_context(execution, run))
    for hook in settings.context_hooks:
        context.update(hook(execution, run))
    return context


def iteration_context(execution: Execution, run: TaskRun) -> dict[str, Any]:
    """Kestra's ``parent`` / ``parents`` of a task run inside flowables (nearest first), so a
    task nested in a loop can reach the loop's ``taskrun.value``."""
    parents = [
        {
            "taskrun": {"id": p.id, "value": p.value, "iteration": p.iteration},
            "task": {"id": p.taskId},
            "outputs": p.outputs,
        }
        for p in execution.ancestors(run)
    ]
    return {"parents": parents, "parent": parents[0]} if parents else {"parents": []}


def execution_url(public_url: str, execution: Execution) -> str:
    base = public_url.rstrip("/")
    return f"{base}/ui/executions/{execution.namespace}/{execution.flowId}/{execution.id}"


# -- pause resolution (shared by people, timers and kills) --------------------------------


def resolve_pause(
    execution: Execution,
    task: PauseTask,
    run: TaskRun,
    *,
    to: State,
    values: dict[str, Any] | None,
    by: dict[str, Any] | None,
    via: str,
    now: datetime,
) -> NewEvent:
    """Records the decision on a PAUSED task run and moves it on. ``to`` is SUCCESS for a
    person's resume, the behavior's target for a timer, KILLING for a kill."""
    assert run.state.current == State.PAUSED
    if task.onResume is not None:
        run.outputs["onResume"] = values or {}
        run.secretOutputs = [
            f"onResume.{d.id}" for d in task.onResume if d.type == InputType.SECRET
        ]
    run.outputs["resumed"] = {"by": by, "on": iso(now), "to": to.value, "via": via}
    run.deadline = None
    run.deadlineTarget = None
    if to == State.KILLING:
        run.move(State.KILLED, now)
    elif task.has_children and to != State.CANCELLED:
        run.move(State.RUNNING, now)  # children (errors/finally/tasks) decide the final state
    else:
        run.move(_allowed(task, to), now)
    return NewEvent(
        "resumed" if to != State.KILLING else "killed",
        execution.id,
        run.id,
        {
            "namespace": execution.namespace,
            "flowId": execution.flowId,
            "taskId": run.taskId,
            "by": by,
            "via": via,
            "on": iso(now),
            "to": to.value,
            "values": values or {},
            "pausedAt": run.state.entered(State.PAUSED),
        },
    )


def restart_if_unpaused(execution: Execution, now: datetime) -> None:
    """After a pause is decided: the execution runs again unless another pause still waits."""
    if (
        execution.state.current == State.PAUSED
        and not execution.paused_task_runs()
        and not execution.pausedManually
    ):
        execution.move(State.RESTARTED, now)
        execution.move(State.RUNNING, now)


def decide_approval_run(
    execution: Execution,
    task: ApprovalTask,
    run: TaskRun,
    *,
    decision: Decision,
    comment: str | None,
    values: dict[str, Any] | None,
    by: dict[str, Any] | None,
    via: str,
    now: datetime,
) -> NewEvent:
    """Records a decision (a reviewer's, or EXPIRED from the timer) on a PAUSED Approval run.
    The run goes back to RUNNING: its branch, then its behaviour, decide its final state."""
    assert run.state.current == State.PAUSED
    run.outputs.update(
        decision=decision.value,
        auto=False,
        by=_actor_name(by),
        on=iso(now),
        comment=comment,
        inputs=values or {},
    )
    # Who decided, in the shape every surface reads for a Pause ("already approved by ...").
    run.outputs["resumed"] = {"by": by, "on": iso(now), "to": decision.value, "via": via}
    run.secretOutputs = [f"inputs.{d.id}" for d in task.inputs or [] if d.type == InputType.SECRET]
    run.deadline = None
    run.deadlineTarget = None
    run.move(State.RUNNING, now)
    return NewEvent(
        "resumed",
        execution.id,
        run.id,
        {
            "namespace": execution.namespace,
            "flowId": execution.flowId,
            "taskId": run.taskId,
            "kind": "approval",
            "decision": decision.value,
            "comment": comment,
            "by": by,
            "via": via,
            "on": iso(now),
            "to": decision.value,
            "values": values or {},
            "pausedAt": run.state.entered(State.PAUSED),
        },
    )


def _actor_name(by: dict[str, Any] | None) -> str | None:
    if not by:
        return None
    return str(by.get("name") or by.get("id") or "") or None


def _allowed(task: Task, state: State) -> State:
    """allowFailure turns a failure into a warning, allowWarning a warning into a success."""
    if state == State.FAILED and task.allowFailure:
        state = State.WARNING
    if state == State.WARNING and task.allowWarning:
        state = State.SUCCESS
    return state


def timer_values(task: PauseTask) -> dict[str, Any] | None:
    """A timer decides with the onResume defaults; inputs without one stay unset."""
    if task.onResume is None:
        return None
    values: dict[str, Any] = {}
    for definition in task.onResume:
        try:
            values.update(parse_inputs([definition], {}))
        except InputValidationError:
            continue
    return values


# -- the decision ---------------------------------------------------------------------------


class _Decider:
    def __init__(self, execution: Execution, flow: Flow, now: datetime, settings: Settings) -> None:
        self.ex = execution
        self.flow = flow
        self.now = now
        self.settings = settings
        self.step = Step(execution)

    # helpers
    def mark(self) -> None:
        self.step.changed = True

    def log(self, run: TaskRun | None, level: str, message: str) -> None:
        self.step.logs.append(
            LogEntry(
                self.ex.id,
                run.id if run else None,
                run.taskId if run else None,
                level,
                message,
                self.now,
            )
        )

    def render(self, task: Task, run: TaskRun | None, value: Any) -> Any:
        try:
            return render_value(
                value, expression_context(self.ex, self.flow, task, run, self.settings)
            )
        except ExpressionError as error:
            raise ExpressionError(error.expression, error.reason, task_id=task.id) from None

    # entry point
    def decide(self, *, orphans: bool) -> Step:
        ex = self.ex
        if ex.state.current in TERMINAL or ex.state.current == State.QUEUED:
            return self.step  # a QUEUED one waits for a concurrency slot (engine/concurrency.py)
        if ex.state.current == State.KILLING:
            kill_everything(ex, self.now)
            self.finish(State.KILLED)
            return self.step
        if ex.state.current in (State.CREATED, State.RESTARTED):
            if ex.state.current == State.RESTARTED:
                ex.move(State.RUNNING, self.now)
            else:
                ex.move(State.RUNNING, self.now)
            self.mark()
        if orphans:
            self.redispatch_orphans()
        self.fire_deadlines()
        for _ in range(10_000):
            before = self.step.changed
            self.step.changed = False
            if not ex.pausedManually:
                self.walk_root()
            progressed = self.step.changed
            self.step.changed = before or progressed
            if not progressed or ex.state.current in TERMINAL:
                break
        if ex.state.current == State.RUNNING and ex.paused_task_runs():
            ex.move(State.PAUSED, self.now)
            self.mark()
        self.step.wake_at = self.next_wake()
        return self.step

    def redispatch_orphans(self) -> None:
        # We hold the lease now, so a RUNNING runnable belongs to a runner that died mid-task.
        for run in self.ex.taskRunList:
            task = self.flow.find_task(run.taskId)
            if run.state.current == State.RUNNING and task is not None and task.kind == "runnable":
                self.log(run, "WARN", "Runner stopped during this task; running it again.")
                run.attempts.append({"state": {"current": "RUNNING", "startDate": iso(self.now)}})
                self.step.dispatch.append(run)
                self.mark()

    def fire_deadlines(self) -> None:
        for run in list(self.ex.paused_task_runs()):
            if run.deadline is None or parse_iso(run.deadline) > self.now:
                continue
            task = self.flow.find_task(run.taskId)
            if isinstance(task, ApprovalTask):
                self.log(run, "INFO", "Approval request expired without a decision.")
                self.step.events.append(
                    decide_approval_run(
                        self.ex,
                        task,
                        run,
                        decision=Decision.EXPIRED,
                        comment=None,
                        values=None,
                        by=None,
                        via="timer",
                        now=self.now,
                    )
                )
                restart_if_unpaused(self.ex, self.now)
                self.mark()
                continue
            if not isinstance(task, PauseTask):
                continue
            target = run.deadlineTarget or State.SUCCESS
            self.log(run, "INFO", f"Pause deadline reached; resolving to {target.value}.")
            event = resolve_pause(
                self.ex,
                task,
                run,
                to=target,
                values=timer_values(task),
                by=None,
                via="timer",
                now=self.now,
            )
            self.step.events.append(event)
            if target != State.CANCELLED:
                restart_if_unpaused(self.ex, self.now)
            self.mark()

    def next_wake(self) -> datetime | None:
        if self.ex.state.current in TERMINAL:
            return None
        if self.step.dispatch:
            return self.now
        moments = []
        for run in self.ex.taskRunList:
            if run.state.current == State.PAUSED and run.deadline:
                moments.append(parse_iso(run.deadline))
            elif run.state.current in (State.RUNNING, State.RETRYING) and run.wakeAt:
                moments.append(parse_iso(run.wakeAt))
        return min(moments) if moments else None

    # the tree walk
    def walk_root(self) -> None:
        ex, flow = self.ex, self.flow
        if ex.ending is not None and ex.finalState is None:
            if not self.settle_ending(ex.ending):
                return
            ex.finalState = ex.ending
            if ex.ending == State.KILLED and ex.state.current != State.KILLING:
                ex.move(State.KILLING, self.now)
            self.mark()
        if ex.finalState is None:
            outcome = self.scoped(None, flow.tasks, False, 0, flow.errors, flow.finally_)
            if outcome is WAITING:
                return
            ex.finalState = outcome
            if outcome in (State.SUCCESS, State.WARNING) and flow.outputs:
                ex.finalState = self.flow_outputs(outcome)
            self.mark()
        if (
            ex.finalState not in (State.KILLED, State.CANCELLED)
            and flow.afterExecution
            and self.walk_block(None, flow.afterExecution) is WAITING
        ):
            return
        self.finish(ex.finalState)

    def flow_outputs(self, state: State) -> State:
        """Kestra's flow ``outputs``, rendered once the tasks have succeeded (the execution's
        ``outputs``, which a parent's Subflow reads); one that cannot be rendered (or a required
        one that renders to nothing, or a value not of its type) fails the execution."""
        context = expression_context(self.ex, self.flow, None, None, self.settings)
        values: dict[str, Any] = {}
        for output in self.flow.outputs:
            try:
                value = render_value(output.value, context)
            except ExpressionError as error:
                self.log(None, "ERROR", f"Flow output '{output.id}': {error}")
                return State.FAILED
            if value is None and output.required:
                self.log(None, "ERROR", f"Flow output '{output.id}' is required but has no value")
                return State.FAILED
            values[output.id] = value
        definitions = [
            InputDefinition(id=o.id, type=o.type, required=o.required) for o in self.flow.outputs
        ]
        try:  # typed like inputs, as Kestra types flow outputs
            self.ex.outputs = parse_inputs(definitions, values)
        except InputValidationError as error:
            self.log(None, "ERROR", f"Flow outputs: {error}")
            return State.FAILED
        return state

    def finish(self, state: State) -> None:
        ex = self.ex
        if ex.state.current in TERMINAL:
            return
        if self.flow.outputs and state in (State.SUCCESS, State.WARNING) and not ex.outputs:
            state = self.flow_outputs(state)  # an ending (Approval SUCCEED) skipped walk_root's
        if ex.state.current == State.PAUSED and state != State.CANCELLED and state != State.FAILED:
            ex.move(State.RESTARTED, self.now)
            ex.move(State.RUNNING, self.now)
        ex.finalState = state
        ex.move(state, self.now)
        self.mark()
        self.step.events.append(
            NewEvent(
                "finished",
                ex.id,
                None,
                {"namespace": ex.namespace, "flowId": ex.flowId, "state": state.value},
            )
        )

    def scoped(
        self,
        parent: str | None,
        tasks: list[Task],
        parallel: bool,
        concurrency: int,
        errors: list[Task],
        finally_: list[Task],
        own: State | None = None,
    ) -> State | None:
        """A block with its ``errors`` and ``finally`` children: the shape shared by the flow,
        every flowable task and the Pause."""
        if own is None:
            outcome = self.walk_block(parent, tasks, parallel, concurrency)
            if outcome is WAITING:
                return WAITING
        else:
            outcome = own
        if outcome in (State.CANCELLED, State.KILLED):
            return outcome
        if outcome == State.FAILED and errors and self.walk_block(parent, errors) is WAITING:
            return WAITING
        if finally_:
            after = self.walk_block(parent, finally_)
            if after is WAITING:
                return WAITING
            if after == State.FAILED:
                outcome = State.FAILED
        return outcome

    def walk_block(
        self,
        parent: str | None,
        tasks: list[Task],
        parallel: bool = False,
        concurrency: int = 0,
        iteration: tuple[int, str] | None = None,
    ) -> State | None:
        finished: list[State] = []
        pending = 0
        for task in tasks:
            if task.disabled:
                continue
            run = self.latest_run(task.id, parent, iteration)
            if run is None:
                if parallel and concurrency and pending >= concurrency:
                    return WAITING
                run = self.create_run(task, parent, iteration)
            outcome = self.walk_run(task, run)
            if self.ex.ending is not None and self.ex.finalState is None:
                return WAITING  # an Approval ended the execution: start nothing more
            if outcome is WAITING:
                if not parallel:
                    return WAITING
                pending += 1
                continue
            finished.append(outcome)
            if not parallel and outcome in (State.FAILED, State.KILLED, State.CANCELLED):
                return outcome
        if pending:
            return WAITING
        return worst(finished)

    def latest_run(
        self, task_id: str, parent: str | None, iteration: tuple[int, str] | None = None
    ) -> TaskRun | None:
        runs = self.ex.runs_of(task_id, parent)
        if iteration is not None:
            runs = [r for r in runs if r.iteration == iteration[0]]
        return runs[-1] if runs else None

    def create_run(
        self, task: Task, parent: str | None, iteration: tuple[int, str] | None = None
    ) -> TaskRun:
        if iteration is not None:
            index, value = iteration
        else:  # inside a loop, nested children keep the loop's value (as in Kestra)
            index, value = None, self.parent_value(parent)
        run = TaskRun(
            executionId=self.ex.id,
            namespace=self.ex.namespace,
            flowId=self.ex.flowId,
            taskId=task.id,
            parentTaskRunId=parent,
            value=value,
            iteration=index,
        )
        run.move(State.CREATED, self.now)
        self.ex.taskRunList.append(run)
        self.mark()
        return run

    def parent_value(self, parent: str | None) -> str | None:
        if parent is None:
            return None
        run = self.ex.task_run(parent)
        return run.value if run is not None else None

    def walk_iterations(self, task: IteratingTask, run: TaskRun) -> State | None:
        """ForEach: one group of ``tasks`` per value, ``concurrency_limit()`` groups at a time
        (0 = all), started in order. A group that fails stops new groups from starting."""
        if run.iterationValues is None:
            run.iterationValues = task.resolve_values(lambda value: self.render(task, run, value))
            self.mark()
        limit = task.concurrency_limit()
        started = {r.iteration for r in self.ex.taskRunList if r.parentTaskRunId == run.id}
        finished: list[State] = []
        active = 0
        stopped = False
        for index, value in enumerate(run.iterationValues):
            if index not in started and (stopped or (limit and active >= limit)):
                continue
            outcome = self.walk_block(run.id, task.tasks, iteration=(index, value))
            if outcome is WAITING:
                active += 1
                continue
            finished.append(outcome)
            if outcome in (State.FAILED, State.KILLED, State.CANCELLED):
                stopped = True
        if active or (not stopped and len(finished) < len(run.iterationValues)):
            return WAITING
        own = worst(finished) if finished else State.SUCCESS
        outcome = self.scoped(run.id, [], False, 0, task.errors, task.finally_, own=own)
        if outcome is WAITING:
            return WAITING
        return self.complete(task, run, outcome)

    def walk_subflow(self, task: SubflowTask, run: TaskRun) -> State | None:
        """Starts the child once (recording its id), then, with ``wait``, waits for its end."""
        child_id = run.outputs.get("executionId")
        if child_id is None:
            if self.settings.new_child is None:
                raise PausebotError("Subflow needs the engine (no subflow support here)")
            labels = {}
            if self.render_flag(task, run, task.inheritLabels):
                labels.update(
                    {k: v for k, v in self.ex.label_map().items() if not k.startswith("system.")}
                )
            labels.update(
                {str(k): str(v) for k, v in self.render(task, run, task.labels or {}).items()}
            )
            labels["system.correlationId"] = self.ex.label_map().get(
                "system.correlationId", self.ex.id
            )
            child = self.settings.new_child(
                ChildRequest(
                    namespace=str(self.render(task, run, task.namespace)),
                    flow_id=str(self.render(task, run, task.flowId)),
                    revision=task.revision,
                    inputs=self.render(task, run, task.inputs or {}),
                    labels=labels,
                    trigger={
                        "id": task.id,
                        "type": SUBFLOW_TRIGGER,
                        "variables": {
                            "executionId": self.ex.id,
                            "namespace": self.ex.namespace,
                            "flowId": self.ex.flowId,
                            "flowRevision": self.ex.flowRevision,
                            "taskRunId": run.id,
                            "taskId": task.id,
                            "wait": task.wait,
                        },
                    },
                )
            )
            self.step.children.append(child)
            run.outputs = {"executionId": child.id}
            self.log(
                run,
                "INFO",
                f"Started subflow {child.namespace}.{child.flowId}: execution {child.id}.",
            )
            self.mark()
            if not task.wait:
                return self.complete(task, run, State.SUCCESS)
            return WAITING
        if not task.wait:
            return self.complete(task, run, State.SUCCESS)
        if any(child.id == child_id for child in self.step.children):
            return WAITING  # created in this very step, stored with it
        found = self.settings.read_child(child_id) if self.settings.read_child else None
        if found is None:
            self.log(run, "ERROR", f"Subflow execution {child_id} no longer exists.")
            return self.complete(task, run, State.FAILED)
        child, child_flow = found
        if child.state.current not in TERMINAL:
            return WAITING
        run.outputs["state"] = child.state.current.value
        outputs = dict(child.outputs)
        if not child_flow.outputs and task.outputs:
            try:
                outputs = render_value(task.outputs, expression_context(child, child_flow))
            except ExpressionError as error:
                self.log(run, "ERROR", f"Failed to extract outputs with the error: '{error}'")
                return self.complete(task, run, State.FAILED)
        if outputs:
            run.outputs["outputs"] = outputs
        state = task.result_state(child.state.current)
        if state.is_failed or state == State.WARNING:
            self.log(
                run,
                "ERROR" if state.is_failed else "WARN",
                f"Subflow execution {child.id} ({child.namespace}.{child.flowId}) ends in "
                f"{child.state.current.value} state.",
            )
        self.mark()
        return self.complete(task, run, state)

    def walk_for_each_item(self, task: ForEachItemTask, run: TaskRun) -> State | None:
        """ForEachItem: split once, start one child per batch in this step, then (``wait``)
        wait for all of them and record Kestra's split/items/merge outputs."""
        if "executions" not in run.outputs:
            if self.settings.read_file is None:
                raise PausebotError("ForEachItem needs the engine's file storage")
            if self.settings.new_child is None:
                raise PausebotError("ForEachItem needs the engine (no subflow support here)")
            uri = str(self.render(task, run, task.items))
            data = self.settings.read_file(self.ex.namespace, uri)
            rows = self.render_int(task, run, task.batch.rows, "batch.rows")
            partitions = self.render_int(task, run, task.batch.partitions, "batch.partitions")
            batches = split_lines(data, task.batch.separator, rows, partitions)
            if len(batches) > MAX_BATCHES:
                raise PausebotError(f"ForEachItem: {len(batches)} batches, more than {MAX_BATCHES}")
            base = uri_base(self.ex, task, run)
            splits = [self.write_file(f"{base}/batch-{i}.txt", b) for i, b in enumerate(batches, 1)]
            labels = self.child_labels(task, run, task.labels, task.inheritLabels)
            ids = []
            for iteration, split in enumerate(splits, start=1):
                context = expression_context(self.ex, self.flow, task, run, self.settings)
                context["taskrun"] = {
                    **context.get("taskrun", {}),
                    "items": split,
                    "iteration": iteration,
                }
                context[FILE_READER] = _pending_first(
                    dict(self.step.files), context.get(FILE_READER)
                )
                inputs = render_value(task.inputs or {}, context)
                child = self.settings.new_child(
                    ChildRequest(
                        namespace=str(self.render(task, run, task.namespace)),
                        flow_id=str(self.render(task, run, task.flowId)),
                        revision=task.revision,
                        inputs=inputs,
                        labels=labels,
                        trigger=self.child_trigger(task, run, task.wait, iteration=iteration),
                    )
                )
                self.step.children.append(child)
                ids.append(child.id)
            run.outputs = {"executions": ids}
            self.side_run(task, run, "split", {"splits": splits})
            self.log(run, "INFO", f"Started {len(ids)} subflow executions, one per batch.")
            self.mark()
            if not task.wait:
                self.side_run(task, run, "items", {"numberOfBatches": len(ids)})
                return self.complete(task, run, State.SUCCESS)
            return WAITING
        if not task.wait:
            return self.complete(task, run, State.SUCCESS)
        pending = {child.id for child in self.step.children}
        ids = list(run.outputs["executions"])
        if any(i in pending for i in ids):
            return WAITING
        children = []
        for child_id in ids:
            found = self.settings.read_child(child_id) if self.settings.read_child else None
            if found is None:
                self.log(run, "ERROR", f"Subflow execution {child_id} no longer exists.")
                return self.complete(task, run, State.FAILED)
            if found[0].state.current not in TERMINAL:
                return WAITING
            children.append(found[0])
        iterations: dict[str, int] = {}
        for child in children:
            iterations[child.state.current.value] = iterations.get(child.state.current.value, 0) + 1
        self.side_run(task, run, "items", {"numberOfBatches": len(ids), "iterations": iterations})
        merged = b"".join(
            (json.dumps(child.outputs, ensure_ascii=False, default=str) + "\n").encode()
            for child in children
            if child.outputs
        )
        merge_outputs: dict[str, Any] = {}
        if merged:
            merge_outputs["subflowOutputs"] = self.write_file(
                f"{uri_base(self.ex, task, run)}/subflow-outputs.jsonl", merged
            )
        self.side_run(task, run, "merge", merge_outputs)
        failed = [c for c in children if c.state.current.is_failed]
        state = State.SUCCESS
        if failed and task.transmitFailed:
            state = State.FAILED
            self.log(run, "ERROR", f"{len(failed)} of {len(children)} subflow executions failed.")
        elif any(c.state.current == State.WARNING for c in children):
            state = State.WARNING
        self.mark()
        return self.complete(task, run, state)

    def write_file(self, uri: str, data: bytes) -> str:
        """A file the engine writes in this step's transaction (before the children it feeds)."""
        self.step.files.append((uri, data))
        return uri

    def render_int(
        self, task: Task, run: TaskRun, value: int | str | None, field: str
    ) -> int | None:
        if value is None or isinstance(value, int):
            return value
        text = str(self.render(task, run, value)).strip()
        if not text.isdigit() or int(text) < 1:
            raise ExpressionError(value, f"{field} must be a positive integer, got {text!r}")
        return int(text)

    def side_run(self, task: Task, run: TaskRun, suffix: str, outputs: dict[str, Any]) -> None:
        """Kestra's ``<id>_split`` / ``<id>_items`` / ``<id>_merge`` task runs (their outputs)."""
        task_id = f"{task.id}_{suffix}"
        existing = [r for r in self.ex.runs_of(task_id, run.id)]
        side = existing[0] if existing else None
        if side is None:
            side = TaskRun(
                executionId=self.ex.id,
                namespace=self.ex.namespace,
                flowId=self.ex.flowId,
                taskId=task_id,
                parentTaskRunId=run.id,
            )
            side.move(State.CREATED, self.now)
            side.move(State.RUNNING, self.now)
            side.move(State.SUCCESS, self.now)
            self.ex.taskRunList.append(side)
        side.outputs = outputs

    def child_labels(
        self, task: Task, run: TaskRun, labels: dict[str, str] | None, inherit: bool | str
    ) -> dict[str, str]:
        result: dict[str, str] = {}
        if self.render_flag(task, run, inherit):
            result.update(
                {k: v for k, v in self.ex.label_map().items() if not k.startswith("system.")}
            )
        result.update({str(k): str(v) for k, v in self.render(task, run, labels or {}).items()})
        result["system.correlationId"] = self.ex.label_map().get("system.correlationId", self.ex.id)
        return result

    def child_trigger(self, task: Task, run: TaskRun, wait: bool, **extra: Any) -> dict[str, Any]:
        return {
            "id": task.id,
            "type": SUBFLOW_TRIGGER,
            "variables": {
                "executionId": self.ex.id,
                "namespace": self.ex.namespace,
                "flowId": self.ex.flowId,
                "flowRevision": self.ex.flowRevision,
                "taskRunId": run.id,
                "taskId": task.id,
                "wait": wait,
                **extra,
            },
        }

    def walk_wait_for(self, task: WaitForTask, run: TaskRun) -> State | None:
        """WaitFor: one round of ``tasks`` at a time; after a successful round, stop when the
        condition holds or a maximum is reached, else wait ``interval`` and start a new round."""
        if "iterationCount" not in run.outputs:
            run.outputs["iterationCount"] = 1
            self.mark()
        if run.wakeAt is not None:
            if parse_iso(run.wakeAt) > self.now:
                return WAITING
            run.wakeAt = None
            self.drop_children(run)  # the new round replaces the previous one, as in Kestra
            run.outputs["iterationCount"] += 1
            self.mark()
        outcome = self.walk_block(run.id, task.tasks)
        if outcome is WAITING:
            return WAITING
        if outcome in (State.SUCCESS, State.WARNING):
            count = run.outputs["iterationCount"]
            frequency = task.checkFrequency
            started = run.state.start_date
            if self.render_condition(task, run, task.condition):
                pass
            elif (frequency.maxIterations is not None and count >= frequency.maxIterations) or (
                frequency.maxDuration
                and started
                and parse_iso(started) + parse_duration(frequency.maxDuration) <= self.now
            ):
                reached = (
                    "iterations"
                    if (frequency.maxIterations is not None and count >= frequency.maxIterations)
                    else "duration"
                )
                self.log(run, "WARN", f"Max {reached} reached.")
                if task.failOnMaxReached:
                    run.outputs["iterationCount"] = count + 1
                    outcome = State.FAILED
            else:
                run.wakeAt = iso(self.now + parse_duration(frequency.interval))
                self.mark()
                return WAITING
        outcome = self.scoped(run.id, [], False, 0, task.errors, task.finally_, own=outcome)
        if outcome is WAITING:
            return WAITING
        return self.complete(task, run, outcome)

    def render_condition(self, task: Task, run: TaskRun, condition: str | bool) -> bool:
        if isinstance(condition, bool):
            return condition
        return str(self.render(task, run, condition)).strip() not in FALSY

    def drop_children(self, run: TaskRun) -> None:
        """Removes the task runs under ``run`` (a finished WaitFor round)."""
        doomed = {run.id}
        for candidate in self.ex.taskRunList:  # parents come before their children
            if candidate.parentTaskRunId in doomed:
                doomed.add(candidate.id)
        doomed.discard(run.id)
        self.ex.taskRunList = [r for r in self.ex.taskRunList if r.id not in doomed]

    def walk_run(self, task: Task, run: TaskRun) -> State | None:
        try:
            return self._walk_run(task, run)
        except PausebotError as error:
            # An expression or definition problem fails this task, not the whole engine.
            self.log(run, "ERROR", str(error))
            if run.state.current == State.CREATED:  # e.g. its runIf failed to render
                run.move(State.RUNNING, self.now)
            return self.complete(task, run, State.FAILED)

    def _walk_run(self, task: Task, run: TaskRun) -> State | None:
        current = run.state.current
        if current in TERMINAL:
            return current
        if current == State.CREATED:
            if task.runIf is not None and str(self.render(task, run, task.runIf)).strip() in FALSY:
                run.move(State.SKIPPED, self.now)
                self.mark()
                return State.SKIPPED
            if task.kind == "runnable":
                self.dispatch(run)
                return WAITING
            run.move(State.RUNNING, self.now)
            self.mark()
        if isinstance(task, PauseTask):
            return self.walk_pause(task, run)
        if isinstance(task, ApprovalTask):
            return self.walk_approval(task, run)
        if isinstance(task, SleepTask):
            return self.walk_sleep(task, run)
        if isinstance(task, SubflowTask):
            return self.walk_subflow(task, run)
        if isinstance(task, ForEachItemTask):
            return self.walk_for_each_item(task, run)
        if isinstance(task, LabelsTask):
            merged = {**self.ex.label_map(), **task.resolve(lambda v: self.render(task, run, v))}
            self.ex.labels = [{"key": k, "value": v} for k, v in merged.items()]
            return self.complete(task, run, State.SUCCESS)
        if task.kind == "runnable":
            if (
                run.state.current == State.RETRYING
                and run.wakeAt
                and parse_iso(run.wakeAt) <= self.now
            ):
                run.wakeAt = None
                self.dispatch(run)
            return WAITING
        if isinstance(task, IteratingTask):
            return self.walk_iterations(task, run)
        if isinstance(task, WaitForTask):
            return self.walk_wait_for(task, run)
        assert isinstance(task, FlowableTask)
        block = task.main_block(run, lambda text: self.render(task, run, text))
        outcome = self.scoped(
            run.id, block.tasks, block.parallel, block.concurrency, task.errors, task.finally_
        )
        if outcome is WAITING:
            return WAITING
        return self.complete(task, run, outcome)

    def dispatch(self, run: TaskRun) -> None:
        run.move(State.RUNNING, self.now)
        run.attempts.append({"state": {"current": "RUNNING", "startDate": iso(self.now)}})
        self.step.dispatch.append(run)
        self.mark()

    def complete(self, task: Task, run: TaskRun, state: State) -> State:
        final = _allowed(task, state)
        if run.state.current != final:
            run.move(final, self.now)
            self.mark()
        return final

    def walk_sleep(self, task: SleepTask, run: TaskRun) -> State | None:
        if run.wakeAt is None:
            duration = parse_duration(str(self.render(task, run, task.duration)))
            run.wakeAt = iso(self.now + duration)
            self.mark()
        if parse_iso(run.wakeAt) <= self.now:  # type: ignore[arg-type]
            run.wakeAt = None
            return self.complete(task, run, State.SUCCESS)
        return WAITING

    def walk_pause(self, task: PauseTask, run: TaskRun) -> State | None:
        if run.state.current == State.RUNNING and run.state.entered(State.PAUSED) is None:
            self.start_pause(task, run)
        if run.state.current == State.PAUSED:
            if task.onPause is not None:
                self.walk_block(run.id, [task.onPause])
            return WAITING
        resumed = run.outputs.get("resumed") or {}
        to = State(resumed.get("to", State.SUCCESS.value))
        own: State = State.KILLED if to == State.KILLING else to
        if own == State.SUCCESS and task.tasks:
            outcome = self.walk_block(run.id, task.tasks)
            if outcome is WAITING:
                return WAITING
            own = outcome
        outcome = self.scoped(run.id, [], False, 0, task.errors, task.finally_, own=own)
        if outcome is WAITING:
            return WAITING
        return self.complete(task, run, outcome)

    def start_pause(self, task: PauseTask, run: TaskRun) -> None:
        duration_text = self.render(task, run, task.duration) if task.duration else None
        timeout_text = self.render(task, run, task.timeout) if task.timeout else None
        if duration_text:
            behavior = str(self.render(task, run, task.behavior)).strip().upper()
            if behavior not in BEHAVIOR_TARGETS:
                raise ExpressionError(
                    task.behavior,
                    f"behavior must be one of RESUME, WARN, FAIL, CANCEL, got {behavior!r}",
                )
            run.deadline = iso(self.now + parse_duration(str(duration_text)))
            run.deadlineTarget = BEHAVIOR_TARGETS[behavior]
        elif timeout_text:
            run.deadline = iso(self.now + parse_duration(str(timeout_text)))
            run.deadlineTarget = State.FAILED
        if task.description:
            run.description = str(self.render(task, run, task.description))
        run.move(State.PAUSED, self.now)
        self.mark()
        self.log(
            run,
            "INFO",
            "Execution paused" + (f" until {run.deadline}" if run.deadline else "") + ".",
        )
        self.announce_wait(
            task,
            run,
            deadlineTarget=run.deadlineTarget.value if run.deadlineTarget else None,
            value=run.value,  # the ForEach value this pause belongs to, if any
        )

    def announce_wait(self, task: Task, run: TaskRun, **details: Any) -> None:
        """The ``paused`` outbox event of a task run now waiting for a decision."""
        payload: dict[str, Any] = {
            "namespace": self.ex.namespace,
            "flowId": self.ex.flowId,
            "taskId": task.id,
            "description": run.description,
            "deadline": run.deadline,
            "manual": False,
        }
        parent = parent_of(self.ex.trigger)
        if parent is not None:  # the approval message says which parent execution it serves
            payload["parent"] = {
                key: parent.get(key) for key in ("executionId", "namespace", "flowId", "taskId")
            }
        self.step.events.append(NewEvent("paused", self.ex.id, run.id, payload | details))

    # -- Approval --------------------------------------------------------------------------
    def walk_approval(self, task: ApprovalTask, run: TaskRun) -> State | None:
        decided = run.outputs.get("decision")
        if decided is None and run.state.current == State.RUNNING:
            if self.render_flag(task, run, task.autoApprove):
                run.outputs.update(
                    decision=Decision.APPROVED.value,
                    auto=True,
                    by=None,
                    on=iso(self.now),
                    comment=None,
                    inputs={},
                    due=None,
                    url=execution_url(self.settings.public_url, self.ex),
                )
                self.log(run, "INFO", "Approved automatically (autoApprove).")
                self.mark()
                decided = Decision.APPROVED.value
            elif run.state.entered(State.PAUSED) is None:
                waited = self.walk_block(run.id, list(task.onWait))
                if waited is WAITING:
                    return WAITING
                if waited == State.FAILED and task.allowFailure:
                    self.log(run, "WARN", "onWait failed; asking for a decision anyway.")
                elif waited in (State.FAILED, State.KILLED, State.CANCELLED):
                    # onWait failed: nobody was asked, so nothing is decided; errors and
                    # finally run and the task fails.
                    outcome = self.scoped(
                        run.id, [], False, 0, task.errors, task.finally_, own=waited
                    )
                    if outcome is WAITING:
                        return WAITING
                    return self.complete(task, run, outcome)
                self.start_approval(task, run)
        if run.state.current == State.PAUSED:
            return WAITING
        decision = Decision(decided)
        branch = self.scoped(run.id, task.branch(decision), False, 0, task.errors, task.finally_)
        if branch is WAITING:
            return WAITING
        if branch.is_failed:
            return self.complete(task, run, branch)  # never hidden by a behaviour
        behavior = str(self.render(task, run, task.behavior_for(decision))).strip().upper()
        if behavior not in EXECUTION_ENDINGS and behavior not in ("CONTINUE", "WARN", "FAIL"):
            raise ExpressionError(
                task.behavior_for(decision),
                "the behavior must be one of CONTINUE, WARN, FAIL, SUCCEED, CANCEL, KILL, "
                f"got {behavior!r}",
            )
        final = behavior_state(behavior, branch)
        if run.state.current != final:
            run.move(final, self.now)
            self.mark()
        ending = EXECUTION_ENDINGS.get(behavior)
        if ending is not None and self.ex.ending is None:
            self.ex.ending = ending
            self.log(
                run,
                "WARN" if ending != State.SUCCESS else "INFO",
                f"{decision.value.capitalize()}: {task.behavior_for(decision)} ends the "
                f"execution as {ending.value}.",
            )
            self.mark()
        return final

    def render_flag(self, task: Task, run: TaskRun, value: bool | str) -> bool:
        if isinstance(value, bool):
            return value
        return str(self.render(task, run, value)).strip().lower() == "true"

    def start_approval(self, task: ApprovalTask, run: TaskRun) -> None:
        timeout_text = self.render(task, run, task.timeout) if task.timeout else None
        if timeout_text:
            run.deadline = iso(self.now + parse_duration(str(timeout_text)))
        run.outputs.update(due=run.deadline, url=execution_url(self.settings.public_url, self.ex))
        if task.description:
            run.description = str(self.render(task, run, task.description))
        run.move(State.PAUSED, self.now)
        self.mark()
        self.log(
            run,
            "INFO",
            "Waiting for an approval decision"
            + (f" until {run.deadline}" if run.deadline else "")
            + ".",
        )
        self.announce_wait(
            task, run, kind="approval", deadlineTarget=None, expireBehavior=task.expireBehavior
        )

    def settle_ending(self, ending: State) -> bool:
        """Brings every other task run to rest once an Approval ended the execution. KILL
        kills them now; SUCCEED and CANCEL let running tasks finish and start nothing new.
        True once nothing is left running."""
        ex = self.ex
        if ending == State.KILLED:
            for run in ex.paused_task_runs():
                self.cancel_waiting(run, State.KILLING)
            kill_everything(ex, self.now)
            self.mark()
            return True
        waiting = False
        for run in ex.taskRunList:
            current = run.state.current
            if current in TERMINAL:
                continue
            task = self.flow.find_task(run.taskId)
            if current == State.PAUSED:
                self.cancel_waiting(run, State.CANCELLED)
            elif current in (State.CREATED, State.RETRYING):
                run.move(State.CANCELLED, self.now)
                self.mark()
            elif task is not None and task.kind == "runnable":
                waiting = True  # a task in flight finishes; its result is still recorded
        if waiting:
            return False
        for run in reversed(ex.taskRunList):  # children before their parents
            if run.state.current not in TERMINAL:
                run.move(ending, self.now)
                self.mark()
        return True

    def cancel_waiting(self, run: TaskRun, to: State) -> None:
        """A sibling pause or approval that will never be decided: resolve it so every
        surface stops asking."""
        task = self.flow.find_task(run.taskId)
        if isinstance(task, PauseTask):
            self.step.events.append(
                resolve_pause(
                    self.ex, task, run, to=to, values=None, by=None, via="engine", now=self.now
                )
            )
            if run.state.current not in TERMINAL:
                run.move(State.KILLED if to == State.KILLING else to, self.now)
        else:
            self.step.events.append(
                close_approval(self.ex, run, to=to, by=None, via="engine", now=self.now)
            )
        self.mark()


def close_approval(
    execution: Execution,
    run: TaskRun,
    *,
    to: State,
    by: dict[str, Any] | None,
    via: str,
    now: datetime,
) -> NewEvent:
    """Ends a PAUSED Approval run without a decision (a kill, or the execution ending)."""
    assert run.state.current == State.PAUSED
    run.outputs["resumed"] = {"by": by, "on": iso(now), "to": to.value, "via": via}
    run.deadline = None
    run.move(State.KILLED if to == State.KILLING else to, now)
    return NewEvent(
        "killed" if to == State.KILLING else "resumed",
        execution.id,
        run.id,
        {
            "namespace": execution.namespace,
            "flowId": execution.flowId,
            "taskId": run.taskId,
            "kind": "approval",
            "by": by,
            "via": via,
            "on": iso(now),
            "to": to.value,
            "values": {},
        },
    )


def _pending_first(pending: dict[str, bytes], reader: Any) -> Callable[[str, str], Any]:
    """read()/fileSize() that also see the files this step is about to write."""

    def access(what: str, uri: str) -> Any:
        if uri in pending:
            data = pending[uri]
            return len(data) if what == "size" else data.decode("utf-8", errors="replace")
        if reader is None:
            raise PausebotError("read() is not available here (no file storage)")
        return reader(what, uri)

    return access


def uri_base(execution: Execution, task: Task, run: TaskRun) -> str:
    namespace = execution.namespace.replace(".", "/")
    return (
        f"kestra:///{namespace}/{execution.flowId}/executions/{execution.id}"
        f"/tasks/{task.id}/{run.id}"
    )


def kill_everything(execution: Execution, now: datetime) -> None:
    for run in execution.taskRunList:
        if run.state.current not in TERMINAL:
            run.move(State.KILLED, now)


def decide(
    execution: Execution,
    flow: Flow,
    now: datetime,
    settings: Settings | None = None,
    *,
    orphans: bool = False,
) -> Step:
    """One decision step. Mutates ``execution`` (the caller's working copy) and returns the Step."""
    return _Decider(execution, flow, now, settings or Settings()).decide(orphans=orphans)


# -- applying what a runnable task produced -----------------------------------------------


def apply_result(
    execution: Execution,
    flow: Flow,
    run_id: str,
    result: TaskResult | None,
    error: str | None,
    now: datetime,
) -> list[LogEntry]:
    """Records a runnable's outcome unless the run was decided meanwhile (e.g. killed)."""
    run = execution.task_run(run_id)
    if run is None or run.state.current != State.RUNNING:
        return []
    task = flow.find_task(run.taskId)
    assert task is not None
    logs = [
        LogEntry(execution.id, run.id, run.taskId, line.level, line.message, now)
        for line in (result.logs if result else [])
    ]
    if run.attempts:
        run.attempts[-1]["state"]["current"] = (
            "FAILED" if error else (result.state if result else "SUCCESS")
        )
        run.attempts[-1]["state"]["endDate"] = iso(now)
    if error is not None:
        logs.append(LogEntry(execution.id, run.id, run.taskId, "ERROR", error, now))
        retry_at = _next_retry(task, run, now)
        if retry_at is not None:
            run.wakeAt = iso(retry_at)
            run.move(State.RETRYING, now)
            logs.append(
                LogEntry(
                    execution.id, run.id, run.taskId, "WARN", f"Retrying at {iso(retry_at)}.", now
                )
            )
            return logs
        run.move(_allowed(task, State.FAILED), now)
        return logs
    assert result is not None
    run.outputs = result.outputs
    state = State(result.state)
    if (
        len(run.attempts) > 1
        and task.retry
        and task.retry.warningOnRetry
        and state == State.SUCCESS
    ):
        state = State.WARNING
    run.move(_allowed(task, state), now)
    return logs


def _next_retry(task: Task, run: TaskRun, now: datetime) -> datetime | None:
    policy = task.retry
    if policy is None:
        return None
    attempts = len(run.attempts)
    if policy.maxAttempt is not None and attempts >= policy.maxAttempt:
        return None
    started = run.state.start_date
    if (
        policy.maxDuration
        and started
        and now - parse_iso(started) >= parse_duration(policy.maxDuration)
    ):
        return None
    if policy.maxAttempt is None and not policy.maxDuration:
        return None
    if policy.type == "random":
        low = parse_duration(policy.minInterval or "PT1S").total_seconds()
        high = parse_duration(policy.maxInterval or "PT5S").total_seconds()
        delay = timedelta(seconds=random.uniform(low, high))
    else:
        delay = parse_duration(policy.interval or "PT1S")
        if policy.type == "exponential":
            delay *= (policy.delayFactor or 2.0) ** (attempts - 1)
            if policy.maxInterval:
                delay = min(delay, parse_duration(policy.maxInterval))
    return now + delay
