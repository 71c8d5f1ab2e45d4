"""The service and its surroundings: `serve`, `work`, `db status|upgrade`, `manifest`, `mcp`."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from bot.cli.base import (
    EXIT_FAILED,
    EXIT_USAGE,
    _count,
    _errors,
    _fail,
    _State,
    cli,
    pass_state,
)


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


# -- the MCP server (approval requests: bot/cli/approvals.py) ------------------------------


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
