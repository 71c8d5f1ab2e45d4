"""The HTTP service: one FastAPI app around one Engine.

``create_app`` does everything that can fail because of configuration before the server
listens, so ``pausebot serve`` can report it as one message: it opens the database (applying
migrations), deploys every flow file of ``PAUSEBOT_FLOWS_DIR`` (refusing to start, and deploying
nothing, when any file is invalid), creates the link signer and the Slack bot. The lifespan then
only starts and stops what runs in the background: the runner (timers included), Slack's
outbox notifier and, with ``--socket-mode``, Slack's Socket Mode connection. On shutdown
(SIGTERM) Slack stops first, then the runner drains the executions it is advancing.

    /api/v1/...        the Kestra-compatible API (bot/api); also under /api/v1/main/...
                       and /api/v1/approvals (approval requests; their callbacks: bot/callbacks)
    /ui/..., /resume/  the web UI and the pages of signed resume links (bot/ui)
    /slack/events      Slack (bot/slack), when configured
    /healthz /metrics  liveness with database reachability; Prometheus metrics
    /docs              OpenAPI
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot.api import api_router
from bot.api.approval_waits import ApprovalWaits
from bot.api.bodies import BodySizeLimit
from bot.api.errors import install_error_handlers
from bot.api.links import make_link_signer, pause_links_hook
from bot.callbacks import CallbackDispatcher
from bot.config import Settings, database_url_problem, load_settings
from bot.logs import install_access_log_redaction
from bot.metrics import Metrics
from bot.slack import build_slack
from bot.ui.routes import router as ui_router
from engine.approvals import ApprovalRequests
from engine.engine import DeployedFlow, Engine
from engine.errors import FlowValidationError, SchemaError
from engine.executor import Settings as EngineSettings
from engine.runner import Runner

log = logging.getLogger(__name__)

TENANT = "main"  # Kestra 1.x puts a tenant after /api/v1/; its open-source default is "main"


class StartupError(Exception):
    """Why the service cannot start, as one message for the operator."""


def _version() -> str:
    try:
        return version("pausebot")
    except PackageNotFoundError:
        return "0.0.0"


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparsable database URL)"


def open_engine(settings: Settings) -> Engine:
    """The engine on ``PAUSEBOT_DATABASE_URL``, migrations applied."""
    url = settings.resolved_database_url()
    problem = database_url_problem(url)
    if problem is not None:
        raise StartupError(problem)
    try:
        engine_settings = EngineSettings(
            public_url=settings.public_url,
            outbox_retention=settings.retention("outbox"),
            execution_retention=settings.retention("execution"),
        )
        return Engine(url, settings=engine_settings)
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise StartupError(f"cannot use the database {_safe_url(url)}: {reason}") from error
    except SchemaError as error:  # a newer pausebot's database: refused, never downgraded
        raise StartupError(str(error)) from error


def flow_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def deploy_flows_dir(engine: Engine, directory: Path | None) -> list[DeployedFlow]:
    """Deploys every ``*.yml``/``*.yaml`` under ``directory``, all or nothing: a bad file stops
    the start-up with every problem listed, rather than serving a half-deployed set that looks
    healthy. Flows deleted from the directory stay deployed (delete them with the API)."""
    if directory is None:
        return []
    if not directory.is_dir():
        raise StartupError(f"PAUSEBOT_FLOWS_DIR {directory} is not a directory")
    sources: list[tuple[Path, str]] = []
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for path in flow_files(directory):
        try:
            source = path.read_text(encoding="utf-8-sig")
            flow = engine.validate_flow(source, str(path))
        except FlowValidationError as error:
            problems.append(str(error))
            continue
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{path}: cannot read it ({error})")
            continue
        if flow.uid in seen:
            problems.append(f"{path}: defines {flow.uid}, already defined by {seen[flow.uid]}")
            continue
        seen[flow.uid] = path
        sources.append((path, source))
    if problems:
        raise StartupError(
            f"{len(problems)} problem{'' if len(problems) == 1 else 's'} in the flows of "
            f"{directory}; nothing was deployed:\n" + "\n".join(problems)
        )
    deployed = []
    for path, source in sources:
        result = engine.deploy_flow(source, str(path))
        what = "deployed" if result.created else "unchanged"
        log.info("%s: %s revision %d (%s)", path, result.flow.uid, result.revision, what)
        deployed.append(result)
    return deployed


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    start_runner: bool = True,
    socket_mode: bool = False,
) -> FastAPI:
    """The service. Pass ``engine`` to run on one you built (a test's manual clock); its public
    URL is set from ``settings`` and it is left open on shutdown. Raises ``StartupError``."""
    settings = settings if settings is not None else load_settings()
    install_access_log_redaction()  # however the app is served: `pausebot serve`, uvicorn, tests
    owns_engine = engine is None
    if engine is None:
        engine = open_engine(settings)
    else:
        engine.settings.public_url = settings.public_url
    try:
        deploy_flows_dir(engine, settings.resolved_flows_dir())
        signer = make_link_signer(settings)
        slack: Any = build_slack(settings, engine)
        if socket_mode and (slack is None or settings.slack_app_token is None):
            raise StartupError(
                "--socket-mode needs Slack: set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, "
                "PAUSEBOT_SLACK_CHANNEL and SLACK_APP_TOKEN (an xapp- token)"
            )
    except BaseException:
        if owns_engine:
            engine.close()
        raise
    engine.settings.context_hooks.append(pause_links_hook(engine, signer))
    metrics = Metrics(engine)
    runner = Runner(engine, workers=settings.runner_workers) if start_runner else None
    approvals = ApprovalRequests(engine)
    callback_secret = settings.callback_secret
    callbacks = CallbackDispatcher(
        engine,
        callback_secret.get_secret_value().encode() if callback_secret else None,
        approvals=approvals,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runner is not None:
            runner.start()
        socket_task: asyncio.Task[Any] | None = None
        await callbacks.start()
        try:
            if slack is not None:
                await slack.start()
                if socket_mode:
                    socket_task = asyncio.create_task(slack.run_socket_mode())
                    socket_task.add_done_callback(_report_socket_mode_end)
            yield
        finally:
            if socket_task is not None:
                socket_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await socket_task
            if slack is not None:
                await slack.stop()
            await callbacks.stop()
            if runner is not None:
                await run_in_threadpool(runner.stop)  # drains in-flight executions
            if owns_engine:
                engine.close()

    app = FastAPI(
        title="pausebot",
        version=_version(),
        summary="Human approvals inside automated workflows (Kestra-compatible API).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.runner = runner
    app.state.links = signer
    app.state.metrics = metrics
    app.state.slack = slack
    app.state.approvals = approvals
    app.state.approval_waits = ApprovalWaits(engine)
    app.state.callbacks = callbacks
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    app.include_router(api_router(), prefix="/api/v1")
    app.include_router(api_router(), prefix=f"/api/v1/{TENANT}", include_in_schema=False)
    app.include_router(ui_router)
    if slack is not None:
        app.include_router(slack.router)

    @app.get("/healthz", tags=["service"], summary="Liveness and database reachability")
    def healthz(request: Request) -> JSONResponse:
        if request.app.state.engine.ping():
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics")
    def prometheus_metrics(request: Request) -> PlainTextResponse:
        text = request.app.state.metrics.render()
        slack = request.app.state.slack
        if slack is not None:
            text += slack.metrics.render()
        return PlainTextResponse(
            text,
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    return app


def _report_socket_mode_end(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("Slack Socket Mode stopped: %s", error, exc_info=error)
