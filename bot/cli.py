"""The ``pausebot`` command: flows, executions and the service, on the embedded default
(a SQLite file) or whatever ``PAUSEBOT_DATABASE_URL`` names.

Errors go to stderr as one readable message and a non-zero exit (the table is in README.md,
"Exit codes"): 1 refused, 2 bad usage or invalid input, 3 unknown id, 4 state conflict,
5 the execution ended FAILED, KILLED or CANCELLED, 6 the database cannot be used as it is.

Read-only commands open the database with ``migrate=False``: they never create or migrate it.
"""

from __future__ import annotations

import getpass
import json
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


def _parse_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"-i expects key=value, got {pair!r}", EXIT_USAGE)
        values[key.strip()] = value
    return values


def _read_file_inputs(engine: Any, namespace: str, flow_id: str, values: dict[str, Any]) -> None:
    """FILE inputs are given as paths (``-i doc=@plan.txt`` or ``-i doc=plan.txt``): read them
    here, so a missing or unreadable file is an error naming the input, before anything starts."""
    from engine.errors import FieldError
    from engine.inputs import InputType
    from engine.storage import SCHEME, UploadedFile

    problems: list[FieldError] = []
    for definition in engine.get_flow(namespace, flow_id).flow.inputs:
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
            f"{path}: ok ({flow.namespace}.{flow.id}, {sum(1 for _ in flow.all_tasks())} tasks)"
        )
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


def _flow_ref(state: _State, ref: str) -> tuple[str, str]:
    """A file path deploys the file first; ``namespace.id`` names a deployed flow."""
    if Path(ref).is_file() or ref.endswith((".yml", ".yaml")):
        deployed = state.engine.deploy_flow(_read(ref), ref)
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
        namespace, flow_id = _flow_ref(state, flow)
        values = _parse_pairs(inputs)
        _read_file_inputs(engine, namespace, flow_id, values)
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
    "--task-run", metavar="ID", help="Resume this paused task run (default: the first paused one)."
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
        execution = engine.resume_execution(
            execution_id, _parse_pairs(inputs), by=_actor(), via="cli", task_run_id=task_run
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


@cli.group()
def executions() -> None:
    """List and inspect executions."""


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
            click.echo(f"advanced {count} execution(s)")
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

    from bot.config import ConfigError, database_url_problem, load_settings
    from bot.logs import install_access_log_redaction
    from bot.server import StartupError, create_app

    try:
        settings = load_settings(**({"database_url": state.database} if state.database else {}))
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
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
    server.run()
    if not server.started:
        sys.exit(EXIT_FAILED)  # uvicorn has said why (port in use, start-up failure)


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
        paused = engine.paused_task(execution)
        if paused is None:
            click.echo("paused by hand; resume with: pausebot resume " + execution.id)
        else:
            from engine.inputs import form_value

            task, run = paused
            click.echo(
                f"waiting at '{task.id}'" + (f": {run.description}" if run.description else "")
            )
            if run.deadline:
                click.echo(
                    f"  deadline {run.deadline} (then {run.deadlineTarget.value if run.deadlineTarget else 'SUCCESS'})"
                )
            for definition in task.onResume or []:
                req = (
                    "required"
                    if definition.required and definition.default_value is None
                    else "optional"
                )
                default = (
                    f", default {form_value(definition, definition.default_value)}"
                    if definition.default_value is not None
                    else ""
                )
                click.echo(
                    f"  -i {definition.id}=<{definition.type.value}>  {definition.label} ({req}{default})"
                )
            click.echo(
                f"resume with: pausebot resume {execution.id}"
                + "".join(f" -i {d.id}=..." for d in (task.onResume or [])[:2])
            )
    elif execution.state.current in TERMINAL:
        click.echo(f"logs: pausebot logs {execution.id}")


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
    "--url", metavar="URL", help="The service's public URL, e.g. https://pausebot.example.com."
)
@click.option("--socket-mode", is_flag=True, help="For Socket Mode: no request URLs needed.")
def manifest(url: str | None, socket_mode: bool) -> None:
    """Print the Slack app manifest (request URLs point at URL/slack/events)."""
    from bot.slack.manifest import ManifestError, render_manifest

    try:
        click.echo(render_manifest(url, socket_mode=socket_mode), nl=False)
    except ManifestError as error:
        _fail(str(error), EXIT_USAGE)


def main() -> None:
    cli(prog_name="pausebot")


if __name__ == "__main__":
    main()
