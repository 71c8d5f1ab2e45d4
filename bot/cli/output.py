"""How the CLI shows an execution: its state, task runs, every task run waiting for a decision
(with the ids and `-i` values a resume needs), who killed it."""

from __future__ import annotations

import json
from typing import Any

import click

from bot.cli.base import (
    _State,
)
from engine.model import Execution
from engine.states import TERMINAL, State

# -- output ------------------------------------------------------------------------------


def _show(state: _State, execution: Execution, as_json: bool) -> None:
    engine = state.reader  # the engine the command opened (no migration when it read only)
    if as_json:
        click.echo(json.dumps(execution.to_api(url=engine.url_of(execution)), indent=2))
        return
    color = {
        "SUCCESS": "green",
        "PAUSED": "yellow",
        "FAILED": "red",
        "KILLED": "red",
        "WARNING": "yellow",
    }
    current = execution.state.current.value
    click.echo(
        f"execution {execution.id}  {execution.namespace}.{execution.flowId} (revision {execution.flowRevision})"
    )
    click.echo("state     " + click.style(current, fg=color.get(current), bold=True))
    for run in execution.taskRunList:
        indent = "  " * (1 + _depth(execution, run))
        click.echo(f"{indent}{run.taskId:<24} {run.state.current.value}")
    if execution.state.current == State.PAUSED:
        waiting = engine.waiting_tasks(execution)
        if len(waiting) > 1:
            click.echo(f"{len(waiting)} task runs are waiting; resume each with --task-run:")
        for item in waiting:
            _show_waiting(execution, item, several=len(waiting) > 1)
    elif execution.state.current == State.KILLED:
        _show_killed(execution)
        click.echo(f"logs: pausebot logs {execution.id}")
    elif execution.state.current in TERMINAL:
        click.echo(f"logs: pausebot logs {execution.id}")


def _show_waiting(execution: Execution, item: Any, *, several: bool) -> None:
    """One waiting task run: what it asks, its id, its inputs and the command that decides it."""
    from engine.inputs import form_value

    if item.task_run_id is None:
        click.echo("paused by hand; resume with: pausebot resume " + execution.id)
        return
    about = f": {item.description}" if item.description else ""
    click.echo(f"waiting at '{item.task_id}' (task run {item.task_run_id}){about}")
    if item.deadline:
        click.echo(f"  deadline {item.deadline} (then {item.on_deadline or 'SUCCESS'})")
    for definition in item.inputs:
        req = "required" if definition.required and definition.default_value is None else "optional"
        default = (
            f", default {form_value(definition, definition.default_value)}"
            if definition.default_value is not None
            else ""
        )
        click.echo(
            f"  -i {definition.id}=<{definition.type.value}>  {definition.label} ({req}{default})"
        )
    target = f" --task-run {item.task_run_id}" if several else ""
    if item.kind == "approval":
        click.echo(
            f"decide in the web UI, Slack or the API's review endpoint: {item.url}"
            if item.url
            else "decide through the API's review endpoint"
        )
        return
    click.echo(
        f"resume with: pausebot resume {execution.id}{target}"
        + "".join(f" -i {d.id}=..." for d in item.inputs[:2])
    )


def _show_killed(execution: Execution) -> None:
    """Who killed it, when, through what and why: the audit trail a KILLED execution keeps."""
    by = execution.killedBy or {}
    who = by.get("name") or by.get("id") or "someone"
    when = execution.state.entered(State.KILLED) or execution.state.entered(State.KILLING)
    via = f" via {execution.killedVia}" if execution.killedVia else ""
    click.echo(f"killed by {who}" + (f" at {when}" if when else "") + via)
    click.echo(f"  reason: {execution.killReason}" if execution.killReason else "  no reason given")


def _depth(execution: Execution, run: Any) -> int:
    depth = 0
    parent = run.parentTaskRunId
    while parent:
        depth += 1
        parent_run = execution.task_run(parent)
        parent = parent_run.parentTaskRunId if parent_run else None
    return depth
