"""Commands on executions: run, resume, review, pause, kill, purge, `executions list|show`, logs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bot.cli.base import (
    EXIT_EXECUTION_FAILED,
    EXIT_USAGE,
    _actor,
    _errors,
    _fail,
    _flow_definition,
    _parse_pairs,
    _read,
    _read_file_inputs,
    _State,
    cli,
    pass_state,
)
from bot.cli.output import _show
from engine.model import Execution
from engine.states import TERMINAL, State

# -- executions --------------------------------------------------------------------------


def _flow_ref(state: _State, ref: str, inputs: dict[str, Any] | None = None) -> tuple[str, str]:
    """A file path deploys the file first, once its inputs are known to be valid (a refused run
    leaves no new revision behind); ``namespace.id`` names a deployed flow."""
    if Path(ref).is_file() or ref.endswith((".yml", ".yaml")):
        from engine.flows import parse_flow

        source = _read(ref)
        if inputs is not None:
            state.engine.parse_start_inputs(parse_flow(source, ref), inputs)
        deployed = state.engine.deploy_flow(source, ref)
        return deployed.flow.namespace, deployed.flow.id
    namespace, dot, flow_id = ref.rpartition(".")
    if not dot or not namespace:
        _fail(f"{ref!r} is neither a flow file nor NAMESPACE.FLOW_ID", EXIT_USAGE)
    return namespace, flow_id


@cli.command("run")
@click.argument("flow")
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="KEY=VALUE",
    help="An input value (repeatable).",
)
@click.option(
    "-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as the API's JSON.")
@click.option("--no-wait", is_flag=True, help="Create the execution and return without running it.")
@pass_state
def run(
    state: _State,
    flow: str,
    inputs: tuple[str, ...],
    labels: tuple[str, ...],
    as_json: bool,
    no_wait: bool,
) -> None:
    """Start FLOW (a YAML file or NAMESPACE.ID) and run it until it pauses or ends."""
    with _errors():
        engine = state.engine
        values = _parse_pairs(inputs)
        _read_file_inputs(_flow_definition(state, flow).inputs, values)
        namespace, flow_id = _flow_ref(state, flow, values)
        execution = engine.start_execution(
            namespace,
            flow_id,
            values,
            labels=_parse_pairs(labels),
            by=_actor(),
            via="cli",
        )
        if not no_wait:
            execution = _drive(engine, execution.id, as_json)
    _show(state, execution, as_json)
    _exit_for(execution)


def _drive(engine: Any, execution_id: str, quiet: bool) -> Execution:
    progress: Callable[[str], None] = (
        (lambda _: None) if quiet else (lambda m: click.echo(m, err=True))
    )
    progress(f"running {execution_id} ...")
    return engine.run_until_blocked(execution_id)


def _exit_for(execution: Execution) -> None:
    if execution.state.current in (State.FAILED, State.KILLED, State.CANCELLED):
        sys.exit(EXIT_EXECUTION_FAILED)


@cli.command("resume")
@click.argument("execution_id")
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="KEY=VALUE",
    help="An onResume value (repeatable).",
)
@click.option(
    "--task-run",
    metavar="ID",
    help="The paused task run to resume (needed when several wait; `executions show` lists them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as the API's JSON.")
@click.option("--no-wait", is_flag=True, help="Record the decision and return without running on.")
@pass_state
def resume(
    state: _State,
    execution_id: str,
    inputs: tuple[str, ...],
    task_run: str | None,
    as_json: bool,
    no_wait: bool,
) -> None:
    """Resume a paused execution with typed onResume values, then run it on."""
    with _errors():
        engine = state.engine
        if task_run is None:
            _refuse_ambiguous_resume(engine, execution_id)
        execution = engine.resume_execution(
            execution_id, _parse_pairs(inputs), by=_actor(), via="cli", task_run_id=task_run
        )
        if not no_wait:
            execution = _drive(engine, execution.id, as_json)
    _show(state, execution, as_json)
    _exit_for(execution)


def _refuse_ambiguous_resume(engine: Any, execution_id: str) -> None:
    """With several pauses waiting, a resume without --task-run would pick one silently."""
    execution = engine.get_execution(execution_id)
    waiting = [w for w in engine.waiting_tasks(execution) if w.kind == "pause"]
    if len(waiting) < 2:
        return
    lines = "\n".join(
        f"  --task-run {w.task_run_id}  {w.task_id}"
        + (f": {w.description}" if w.description else "")
        for w in waiting
    )
    _fail(
        f"execution {execution_id} has {len(waiting)} pauses waiting; choose one:\n{lines}",
        EXIT_USAGE,
    )


@cli.command("review")
@click.argument("execution_id")
@click.argument("decision", type=click.Choice(["approve", "deny"], case_sensitive=False))
@click.option("-c", "--comment", help="The reviewer's comment (commentRequired may ask for it).")
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A value of the Approval's review inputs (repeatable).",
)
@click.option(
    "--task-run", metavar="ID", help="Review this Approval task run (default: the first paused)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as the API's JSON.")
@click.option("--no-wait", is_flag=True, help="Record the decision and return without running on.")
@pass_state
def review(
    state: _State,
    execution_id: str,
    decision: str,
    comment: str | None,
    inputs: tuple[str, ...],
    task_run: str | None,
    as_json: bool,
    no_wait: bool,
) -> None:
    """Approve or deny a paused Approval task, then run the execution on."""
    with _errors():
        engine = state.engine
        execution = engine.review_execution(
            execution_id,
            task_run,
            decision.upper(),
            comment=comment,
            values=_parse_pairs(inputs),
            by=_actor(),
            via="cli",
        )
        if not no_wait:
            execution = _drive(engine, execution.id, as_json)
    _show(state, execution, as_json)
    _exit_for(execution)


@cli.command("pause")
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def pause(state: _State, execution_id: str, as_json: bool) -> None:
    """Pause a running execution (running tasks finish; nothing new starts)."""
    with _errors():
        execution = state.engine.pause_execution(execution_id, by=_actor(), via="cli")
    _show(state, execution, as_json)


@cli.command("kill")
@click.argument("execution_id")
@click.option("--reason", help="Why, for the audit trail.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def kill(state: _State, execution_id: str, reason: str | None, as_json: bool) -> None:
    """Kill a running or paused execution."""
    with _errors():
        execution = state.engine.kill_execution(execution_id, by=_actor(), via="cli", reason=reason)
    _show(state, execution, as_json)


@cli.command("purge")
@click.option("--end-date", help="Purge what ended (last changed) before this ISO-8601 date.")
@click.option("--older-than", help="Or: before now minus this ISO-8601 duration (P30D, PT12H).")
@click.option("--start-date", help="Only executions started at or after this ISO-8601 date.")
@click.option("--namespace", help="A namespace (and its children, without --flow).")
@click.option("--flow", "flow_id", help="One flow (needs --namespace).")
@click.option(
    "--state",
    "states",
    multiple=True,
    help="States to purge (repeatable); default the finished ones: "
    + ", ".join(sorted(s.value for s in TERMINAL)),
)
@click.option("--keep-executions", is_flag=True, help="Delete only the logs.")
@click.option("--keep-logs", is_flag=True, help="Keep the logs (delete only the executions).")
@click.option(
    "--outbox", is_flag=True, help="Also prune settled outbox events from before the date."
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def purge(
    state: _State,
    end_date: str | None,
    older_than: str | None,
    start_date: str | None,
    namespace: str | None,
    flow_id: str | None,
    states: tuple[str, ...],
    keep_executions: bool,
    keep_logs: bool,
    outbox: bool,
    as_json: bool,
) -> None:
    """Delete old executions and their logs (Kestra's PurgeExecutions), and settled outbox
    events; what still runs or waits is kept unless --state names it."""
    from datetime import UTC, datetime

    from engine.clock import parse_iso
    from engine.inputs import parse_duration

    if (end_date is None) == (older_than is None):
        _fail("give exactly one of --end-date and --older-than", EXIT_USAGE)
    if flow_id and not namespace:
        _fail("--flow needs --namespace", EXIT_USAGE)
    try:
        if end_date is not None:
            end = parse_iso(end_date.replace("Z", "+00:00"))
        else:
            end = datetime.now(UTC) - parse_duration(older_than or "")
        start = parse_iso(start_date.replace("Z", "+00:00")) if start_date else None
    except ValueError as error:
        _fail(f"invalid date or duration: {error}", EXIT_USAGE)
    known = {s.value for s in State}
    unknown = [s for s in states if s.upper() not in known]
    if unknown:
        _fail(f"unknown state(s): {', '.join(unknown)}", EXIT_USAGE)
    chosen = [s.upper() for s in states] or sorted(s.value for s in TERMINAL)
    with _errors():
        engine = state.engine
        outcome = engine.purge_executions(
            end_date=end,
            start_date=start,
            namespace=namespace,
            flow_id=flow_id,
            states=chosen,
            purge_execution=not keep_executions,
            purge_log=not keep_logs,
        )
        events = deliveries = 0
        if outbox:
            events, deliveries = engine.prune_outbox(end)
    result = {
        "executionsCount": outcome.executions,
        "logsCount": outcome.logs,
        "outboxEventsCount": events,
        "outboxDeliveriesCount": deliveries,
    }
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"Purged {outcome.executions} execution(s) and {outcome.logs} log line(s)"
            + (f", {events} outbox event(s) and {deliveries} deliveries" if outbox else "")
            + "."
        )


@cli.group()
def executions() -> None:
    """List and inspect executions."""


executions.add_command(review, "review")  # also `pausebot executions review`


@executions.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in State], case_sensitive=False),
    help="Only these states (repeatable).",
)
@click.option("--namespace")
@click.option("--flow", "flow_id")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def executions_list(
    state: _State,
    states: tuple[str, ...],
    namespace: str | None,
    flow_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List executions, newest first."""
    with _errors():
        found, total = state.reader.search_executions(
            states=states, namespace=namespace, flow_id=flow_id, size=limit
        )
    if as_json:
        click.echo(
            json.dumps(
                {"results": [e.to_api(url=state.reader.url_of(e)) for e in found], "total": total},
                indent=2,
            )
        )
        return
    if not found:
        click.echo("no executions")
        return
    for e in found:
        click.echo(
            f"{e.id}  {e.state.current.value:<9}  {e.namespace}.{e.flowId}  started {e.state.start_date}"
        )
    if total > len(found):
        click.echo(f"... {total - len(found)} more (use --limit)")


@executions.command("show")
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def executions_show(state: _State, execution_id: str, as_json: bool) -> None:
    """Show one execution: state, task runs, what a resume needs."""
    with _errors():
        execution = state.reader.get_execution(execution_id)
    _show(state, execution, as_json)


@cli.command("logs")
@click.argument("execution_id")
@click.option(
    "--level", type=click.Choice(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], case_sensitive=False)
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def logs(state: _State, execution_id: str, level: str | None, as_json: bool) -> None:
    """Print an execution's logs."""
    with _errors():
        entries = state.reader.logs(execution_id, min_level=level)
    if as_json:
        click.echo(json.dumps([e.to_api() for e in entries], indent=2))
        return
    for e in entries:
        where = f" [{e.task_id}]" if e.task_id else ""
        click.echo(f"{e.timestamp.isoformat(timespec='seconds')} {e.level:<5}{where} {e.message}")
