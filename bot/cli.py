"""The ``pausebot`` command: flows, executions and the service, on the embedded default
(a SQLite file) or whatever ``PAUSEBOT_DATABASE_URL`` names.

Errors go to stderr as one readable message and a non-zero exit (the table is in README.md,
"Exit codes"): 1 refused, 2 bad usage or invalid input, 3 unknown id, 4 state conflict,
5 the execution ended FAILED, KILLED or CANCELLED, 6 the database cannot be used as it is;
``approvals request/get --wait``: 7 denied, 8 expired, 9 cancelled, 10 still pending.

Read-only commands open the database with ``migrate=False``: they never create or migrate it.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from engine.errors import (
    ConflictError,
    FlowValidationError,
    InputValidationError,
    NotFoundError,
    PausebotError,
    SchemaError,
)
from engine.model import Execution
from engine.states import TERMINAL, State

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 1, 2, 3, 4
EXIT_EXECUTION_FAILED, EXIT_DATABASE = 5, 6


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turns every expected failure into one message on stderr; never a traceback."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    try:
        yield
    except FlowValidationError as error:
        _fail(str(error), EXIT_USAGE)
    except InputValidationError as error:
        lines = "\n".join(f"  - {e.field}: {e.message}" for e in error.errors)
        _fail(f"invalid input values:\n{lines}", EXIT_USAGE)
    except NotFoundError as error:
        _fail(str(error), EXIT_NOT_FOUND)
    except ConflictError as error:
        _fail(str(error), EXIT_CONFLICT)
    except SchemaError as error:
        _fail(str(error), EXIT_DATABASE)
    except PausebotError as error:
        _fail(str(error))
    except OperationalError as error:
        _fail(f"cannot use the database: {error.orig}", EXIT_DATABASE)
    except SQLAlchemyError as error:
        _fail(f"database error: {error}")


def _actor() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "cli"
    return {"id": user, "name": user}


class _State:
    def __init__(self, database: str | None, database_from: str = "PAUSEBOT_DATABASE_URL") -> None:
        self.database = database
        self.database_from = database_from  # where the URL came from, for error messages
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        """The engine for commands that change state: creates and migrates the schema."""
        return self._open(migrate=True)

    @property
    def reader(self) -> Any:
        """The engine for read-only commands: never writes the schema; a database that is
        missing, empty, foreign or at another revision is an error (exit 6)."""
        return self._open(migrate=False)

    def _open(self, *, migrate: bool) -> Any:
        if self._engine is None:
            from bot.config import database_url_problem, public_url_default
            from engine.engine import Engine
            from engine.executor import Settings

            settings = Settings(public_url=public_url_default())
            url = self.url
            problem = database_url_problem(url, self.database_from)
            if problem is not None:
                _fail(problem, EXIT_USAGE)
            with _errors():
                self._engine = Engine(url, settings=settings, migrate=migrate)
        return self._engine

    @property
    def url(self) -> str:
        from engine.engine import default_database_url

        return self.database or default_database_url()


pass_state = click.make_pass_decorator(_State)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _parse_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"-i expects key=value, got {pair!r}", EXIT_USAGE)
        values[key.strip()] = value
    return values


def _flow_definition(state: Any, ref: str) -> Any:
    """The flow FLOW names (a YAML file, or NAMESPACE.ID deployed), without deploying it."""
    if Path(ref).is_file() or ref.endswith((".yml", ".yaml")):
        from engine.flows import parse_flow

        return parse_flow(_read(ref), ref)
    namespace, dot, flow_id = ref.rpartition(".")
    if not dot or not namespace:
        _fail(f"{ref!r} is neither a flow file nor NAMESPACE.FLOW_ID", EXIT_USAGE)
    return state.engine.get_flow(namespace, flow_id).flow


def _read_file_inputs(definitions: Any, values: dict[str, Any]) -> None:
    """FILE inputs are given as paths (``-i doc=@plan.txt`` or ``-i doc=plan.txt``): read them
    here, so a missing or unreadable file is an error naming the input, before anything starts."""
    from engine.errors import FieldError
    from engine.inputs import InputType
    from engine.storage import SCHEME, UploadedFile

    problems: list[FieldError] = []
    for definition in definitions:
        value = values.get(definition.id)
        if definition.type != InputType.FILE or not isinstance(value, str):
            continue
        if value.startswith(SCHEME):
            continue
        path = Path(value.removeprefix("@")).expanduser()
        try:
            values[definition.id] = UploadedFile(path.name, path.read_bytes())
        except OSError as error:
            problems.append(
                FieldError(definition.id, f"cannot read the file {str(path)!r}: {error.strerror}")
            )
    if problems:
        raise InputValidationError(problems)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    envvar="PAUSEBOT_DATABASE_URL",
    metavar="URL",
    help="Database URL (default: a SQLite file in the user data directory).",
)
@click.version_option(package_name="pausebot")
@click.pass_context
def cli(ctx: click.Context, database: str | None) -> None:
    """pausebot: human approvals inside automated workflows."""
    source = ctx.get_parameter_source("database")
    ctx.obj = _State(
        database,
        "--database"
        if source == click.core.ParameterSource.COMMANDLINE
        else "PAUSEBOT_DATABASE_URL",
    )
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# -- flows -------------------------------------------------------------------------------


@cli.group()
def flows() -> None:
    """Validate, deploy and list flows."""


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        _fail(f"cannot read {path}: {error.strerror}", EXIT_USAGE)


@flows.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def flows_validate(files: tuple[str, ...]) -> None:
    """Check flow files without deploying them."""
    from engine.flows import parse_flow

    bad = 0
    for path in files:
        try:
            flow = parse_flow(_read(path), path)
        except FlowValidationError as error:
            bad += 1
            click.echo(str(error), err=True)
            continue
        click.echo(
            f"{path}: ok ({flow.namespace}.{flow.id}, {_count(sum(1 for _ in flow.all_tasks()), 'task')})"
        )
        _echo_warnings(path, flow.warnings)
    if bad:
        sys.exit(EXIT_USAGE)


@flows.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@pass_state
def flows_deploy(state: _State, files: tuple[str, ...]) -> None:
    """Create or update flows (a changed flow gets a new revision)."""
    with _errors():
        for path in files:
            deployed = state.engine.deploy_flow(_read(path), path)
            what = "deployed" if deployed.created else "unchanged"
            click.echo(
                f"{deployed.flow.namespace}.{deployed.flow.id}: revision {deployed.revision} ({what})"
            )
            _echo_warnings(path, deployed.flow.warnings)


def _echo_warnings(path: str, warnings: list[Any]) -> None:
    """Properties accepted but not enforced, one line each on stderr (they do not fail)."""
    for warning in warnings:
        click.echo(f"{path}: warning: {warning}", err=True)


@flows.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def flows_list(state: _State, as_json: bool) -> None:
    """List deployed flows."""
    with _errors():
        deployed = state.reader.list_flows()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"namespace": d.flow.namespace, "id": d.flow.id, "revision": d.revision}
                    for d in deployed
                ],
                indent=2,
            )
        )
        return
    if not deployed:
        click.echo("no flows deployed")
    for d in deployed:
        click.echo(f"{d.flow.namespace}.{d.flow.id}  revision {d.revision}")


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


@cli.command("work")
@click.option("--once", is_flag=True, help="Advance what is due now, then exit.")
@pass_state
def work(state: _State, once: bool) -> None:
    """Run the runner without the HTTP service: fires pause deadlines, advances executions."""
    from engine.runner import Runner

    with _errors():
        engine = state.engine
        if once:
            count = 0
            for execution_id in engine.due_executions():
                engine.advance(execution_id, "cli-once")
                count += 1
            click.echo(f"advanced {_count(count, 'execution')}")
            return
        runner = Runner(engine)
        runner.start()
        click.echo("runner started; Ctrl-C to stop", err=True)
        try:
            import threading

            threading.Event().wait()
        except KeyboardInterrupt:
            runner.stop()


# -- the database ------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The database schema: check it, create it or migrate it."""


@db.command("status")
@pass_state
def db_status(state: _State) -> None:
    """Say whether the database holds this pausebot's schema (never changes it; exit 6 if not)."""
    with _errors():
        state.reader  # noqa: B018 - opening it checks the schema revision
    click.echo(f"{_safe(state.url)}: pausebot schema up to date")


@db.command("upgrade")
@pass_state
def db_upgrade(state: _State) -> None:
    """Create pausebot's tables or migrate them to this version (never downgrades)."""
    with _errors():
        state.engine  # noqa: B018 - opening it migrates
    click.echo(f"{_safe(state.url)}: pausebot schema up to date")


def _safe(url: str) -> str:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "the database"


# -- the service -------------------------------------------------------------------------


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--socket-mode",
    is_flag=True,
    help="Also connect to Slack over Socket Mode (needs SLACK_APP_TOKEN).",
)
@pass_state
def serve(state: _State, host: str, port: int, socket_mode: bool) -> None:
    """Run the HTTP service: the API, the web UI, signed links, Slack and the runner.

    Applies migrations and deploys the flows of PAUSEBOT_FLOWS_DIR first; stops on SIGTERM or
    Ctrl-C after letting in-flight work reach a safe point.
    """
    import logging
    import signal

    import uvicorn

    from bot.config import (
        ConfigError,
        database_url_problem,
        load_settings,
        public_url_warnings,
        served_url,
    )
    from bot.logs import install_access_log_redaction
    from bot.server import StartupError, create_app

    try:
        settings = load_settings(**({"database_url": state.database} if state.database else {}))
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    port = port or _free_port(host)
    served = served_url(host, port)
    if "PAUSEBOT_PUBLIC_URL" not in os.environ:
        settings.public_url = served  # every link points at the port actually served
    for warning in public_url_warnings(settings, served):
        click.echo(click.style("warning: ", fg="yellow", bold=True) + warning, err=True)
    problem = database_url_problem(settings.resolved_database_url(), state.database_from)
    if problem is not None:
        _fail(problem, EXIT_USAGE)
    if socket_mode and (not settings.slack_enabled or settings.slack_app_token is None):
        _fail(
            "--socket-mode needs Slack: set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, "
            "PAUSEBOT_SLACK_CHANNEL and SLACK_APP_TOKEN",
            EXIT_USAGE,
        )
    for name in ("bot", "engine"):
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        app = create_app(settings, socket_mode=socket_mode)
    except (StartupError, ConfigError) as error:
        _fail(str(error), EXIT_USAGE)
    # The access log stays on (method, path, status of every request), without the credentials
    # some paths carry: resume link tokens, webhook keys. create_app installs the filter too;
    # again here, after uvicorn.Config has configured logging.
    config = uvicorn.Config(
        app, host=host, port=port, timeout_graceful_shutdown=10, log_level="info"
    )
    install_access_log_redaction()
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down cleanly; with Python's
    # default handlers that turns a graceful SIGTERM into status 143 and Ctrl-C into a traceback.
    for handled in (signal.SIGTERM, signal.SIGINT):
        signal.signal(handled, lambda *_: None)
    click.echo(_welcome(settings, served), err=True)
    server.run()
    if not server.started:
        sys.exit(EXIT_FAILED)  # uvicorn has said why (port in use, start-up failure)


def _free_port(host: str) -> int:
    """For ``--port 0``: a free port chosen now, so the links can carry its number (uvicorn
    binds it a moment later; another process taking it in between fails the start clearly)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _welcome(settings: Any, served: str) -> str:
    """What a newcomer needs once the service is up: where the UI is and how to sign in."""
    lines = [f"pausebot is serving {served}", f"  web UI: {settings.public_url}/ui/executions"]
    if settings.api_token is None:
        lines.append(
            "  the API and the web UI are closed: set PAUSEBOT_API_TOKEN to open them "
            "(sign in to the UI with it)"
        )
    else:
        lines.append("  sign in to the web UI with your name and PAUSEBOT_API_TOKEN")
    if not settings.slack_enabled:
        lines.append("  Slack is not configured (see docs/slack.md)")
    return "\n".join(lines)


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


# -- the Slack app manifest (bot/slack) ---------------------------------------------------


@cli.command("manifest")
@click.option(
    "--url",
    metavar="URL",
    help="The service's public URL, e.g. https://pausebot.example.com "
    "(default: PAUSEBOT_PUBLIC_URL).",
)
@click.option("--socket-mode", is_flag=True, help="For Socket Mode: no request URLs needed.")
def manifest(url: str | None, socket_mode: bool) -> None:
    """Print the Slack app manifest (request URLs point at URL/slack/events)."""
    from bot.slack.manifest import ManifestError, render_manifest

    if url is not None and socket_mode:
        _fail(
            "--url and --socket-mode exclude each other: in Socket Mode Slack needs no request "
            "URL; choose one",
            EXIT_USAGE,
        )
    if url is None and not socket_mode:
        url = os.environ.get("PAUSEBOT_PUBLIC_URL") or None
    try:
        click.echo(render_manifest(url, socket_mode=socket_mode), nl=False)
    except ManifestError as error:
        _fail(str(error), EXIT_USAGE)


# -- approval requests on a running service, and the MCP server (bot/cli_approvals.py) --------


def _register_approvals() -> None:
    from bot.cli_approvals import approvals

    cli.add_command(approvals)


_register_approvals()


@cli.command("mcp")
@click.option(
    "--transport",
    type=click.Choice(["stdio", "streamable-http"]),
    default="stdio",
    show_default=True,
)
@click.option("--host", default="127.0.0.1", show_default=True, help="For streamable-http.")
@click.option("--port", default=8765, show_default=True, help="For streamable-http (path /mcp).")
def mcp(transport: str, host: str, port: int) -> None:
    """Serve the MCP tools request_approval, get_approval, list_pending (for AI agents), as a
    client of the service at $PAUSEBOT_URL with $PAUSEBOT_API_TOKEN."""
    from bot.mcp_server import run

    run(transport, host, port)


def main() -> None:
    cli(prog_name="pausebot")


if __name__ == "__main__":
    main()
