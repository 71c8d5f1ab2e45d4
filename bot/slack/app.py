"""The Bolt AsyncApp, its listeners, the FastAPI route and the Socket Mode runner.

Every Web API call (Bolt's per-request clients, the notifier, Socket Mode's
``apps.connections.open``) goes to ``SLACK_API_URL``; ``respond()`` goes to the payload's
``response_url``. Listeners acknowledge first and work after (Bolt's default
``process_before_response=False`` keeps running them once the HTTP answer is sent).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import BoltResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware_error_handler import (
    AsyncDefaultMiddlewareErrorHandler,
)
from slack_bolt.request.async_internals import build_async_context
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.api.bodies import JsonBodyError, MalformedBody, check_json, parse_urlencoded
from bot.config import Settings
from bot.slack.authorization import Directory, Gatekeeper
from bot.slack.blocks import (
    APPROVE_ACTION,
    ATTACH_ACTION,
    DECIDE_CALLBACK,
    OPEN_ACTION,
    PAGE_ACTION,
    REASON_CALLBACK,
    REJECT_ACTION,
)
from bot.slack.decisions import Decider
from bot.slack.home import HomeTab
from bot.slack.inbox import paused_page
from bot.slack.lists import LIST_ACTION, parse_choice
from bot.slack.messages import CHOOSE_ACTION, FULL_ACTION
from bot.slack.metrics import SlackMetrics
from bot.slack.notifier import CONSUMER, Notifier
from bot.slack.recipients import RecipientFinder
from engine.engine import Engine

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SLASH_COMMAND = "/paused"


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and, since we hand it a client
    built with that very token (for SLACK_API_URL and our retry handlers), warns that the token
    "will be unused". It is the same token, so the warning is noise and only that one is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _SameTokenNotice) for f in logger.filters):
        logger.addFilter(_SameTokenNotice())
    return logger


class SlackBot:
    """What ``bot.server`` mounts: ``router``, ``start()``/``stop()`` and ``run_socket_mode()``."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        notifier_poll_interval: float = 5.0,
    ) -> None:
        assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
        assert settings.slack_channel is not None
        self.settings = settings
        self.engine = engine
        token = settings.slack_bot_token.get_secret_value()
        retries: list[AsyncRetryHandler] = [
            AsyncConnectionErrorRetryHandler(),
            # Interactive calls happen after the ack, so one short wait on a 429 is affordable.
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
        ]
        self.client = AsyncWebClient(
            token=token, base_url=settings.slack_api_url, retry_handlers=retries
        )
        self.app = AsyncApp(
            name="pausebot",
            client=self.client,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            logger=_bolt_logger(),
        )
        self.metrics = SlackMetrics()
        self.directory = Directory(self.client)
        self.gatekeeper = Gatekeeper(
            self.directory, forbid_self_approval=settings.slack_forbid_self_approval
        )
        self.decider = Decider(engine, self.gatekeeper, self.directory, self.metrics)
        self.home = HomeTab(engine, self.client, self.gatekeeper, self.metrics)
        # The notifier has its own client: it schedules 429 retries through the outbox instead of
        # sleeping inside a call.
        self.notifier = Notifier(
            engine,
            AsyncWebClient(token=token, base_url=settings.slack_api_url),
            default_channel=settings.slack_channel,
            metrics=self.metrics,
            on_change=self.home.refresh_soon,
            people=self.directory.people,
            poll_interval=notifier_poll_interval,
            settings=settings,
            recipients=RecipientFinder(self.directory),
        )
        self._register()
        self.handler = _SlashCommandSafeHandler(
            self.app, settings.slack_signing_secret.get_secret_value()
        )
        self.router = APIRouter()
        self.router.add_api_route(
            EVENTS_PATH, self._events, methods=["POST"], include_in_schema=False
        )

    # -- the contract used by bot.server ---------------------------------------------------------
    async def start(self) -> None:
        await self.notifier.start()

    async def stop(self) -> None:
        await self.notifier.stop()
        await self.home.stop()

    async def run_socket_mode(self) -> None:
        """Serves Slack over a WebSocket (``SLACK_APP_TOKEN``) until cancelled."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        if self.settings.slack_app_token is None:
            raise RuntimeError("Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token)")
        app_token = self.settings.slack_app_token.get_secret_value()
        handler = AsyncSocketModeHandler(
            self.app,
            app_token,
            web_client=AsyncWebClient(token=app_token, base_url=self.settings.slack_api_url),
        )
        await handler.connect_async()
        log.info("Slack: connected over Socket Mode")
        try:
            await asyncio.Event().wait()
        finally:
            await handler.close_async()

    def delivery_status(self) -> dict[str, int]:
        """Outbox figures for health and metrics (blocking: call from a thread)."""
        outbox = self.engine.outbox
        return {"backlog": outbox.backlog(CONSUMER), "failed": outbox.failed(CONSUMER)}

    async def _events(self, request: Request) -> Response:
        return await self.handler.handle(request)

    # -- listeners -----------------------------------------------------------------------------------
    def _register(self) -> None:
        app = self.app
        app.action(APPROVE_ACTION)(self._approve_clicked)
        app.action(REJECT_ACTION)(self._reject_clicked)
        app.action({"action_id": _starts_with(CHOOSE_ACTION)})(self._option_chosen)
        app.action(FULL_ACTION)(self._full_request)
        app.action(LIST_ACTION)(self._list_choice)
        app.action(OPEN_ACTION)(_ack_only)
        app.action(ATTACH_ACTION)(_ack_only)
        app.action({"action_id": _starts_with(PAGE_ACTION)})(self._page_clicked)
        app.view(DECIDE_CALLBACK)(self.decider.submit_form)
        app.view(REASON_CALLBACK)(self.decider.submit_reason)
        app.command(SLASH_COMMAND)(self._paused_command)
        app.event("app_home_opened")(self._home_opened)
        # Not app.error(): Bolt builds a custom handler's arguments from the payload, and fails
        # again on the very payloads this handler is for.
        app._async_middleware_error_handler = _RoutingErrors(app.logger)

    async def _approve_clicked(
        self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        await self.decider.click(body, client, respond, rejecting=False)

    async def _reject_clicked(
        self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        await self.decider.click(body, client, respond, rejecting=True)

    async def _list_choice(
        self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        """An entry's overflow menu: "Open in pausebot" is a link (nothing to do); any other
        option names the message button it stands for, and runs that button's listener."""
        action = (body.get("actions") or [{}])[0]
        selected = action.get("selected_option") if isinstance(action, dict) else None
        chosen = parse_choice(str((selected or {}).get("value") or ""))
        if chosen is None:
            await ack()
            return
        action_id, value = chosen
        listener = self._button_listener(action_id)
        if listener is None:
            await ack()
            return
        as_button = {**action, "type": "button", "action_id": action_id, "value": value}
        await listener(ack, {**body, "actions": [as_button]}, client, respond)

    def _button_listener(self, action_id: str) -> Any:
        """The listener of a message button (the overflow menu of a list entry stands for one)."""
        if action_id == APPROVE_ACTION:
            return self._approve_clicked
        if action_id == REJECT_ACTION:
            return self._reject_clicked
        if action_id == CHOOSE_ACTION or action_id.startswith(CHOOSE_ACTION + "."):
            return self._option_chosen
        if action_id == FULL_ACTION:
            return self._full_request
        return None

    async def _option_chosen(
        self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        await self.decider.choose(body, client, respond)

    async def _full_request(
        self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        await self.decider.full_request(body, client, respond)

    async def _paused_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        message = await paused_page(
            self.engine, self.gatekeeper, command["user_id"], command.get("text") or "", 1
        )
        await respond(text=message.text, blocks=message.blocks, response_type="ephemeral")

    async def _page_clicked(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        try:
            target = json.loads((body.get("actions") or [{}])[0].get("value") or "{}")
            query, page = str(target.get("q") or ""), int(target.get("p") or 1)
        except (ValueError, TypeError, AttributeError):
            return
        message = await paused_page(self.engine, self.gatekeeper, body["user"]["id"], query, page)
        await respond(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=True,
        )

    async def _home_opened(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = str(event.get("user"))
        self.home.seen(user_id)
        await self.home.publish(user_id)


async def _ack_only(ack: Any) -> None:
    await ack()


class _RoutingErrors(AsyncDefaultMiddlewareErrorHandler):
    """Errors raised while Bolt routes a request (its middleware and listener matchers; our
    listeners' errors go to the listener error handler). A signed payload of an unexpected shape
    (``"actions": 5`` where Slack sends a list of objects) makes Bolt's matchers fail with one
    of these: that is a 400, not the 500 Bolt answers by default. Anything else: Bolt's default.
    """

    async def handle(
        self, error: Exception, request: AsyncBoltRequest, response: BoltResponse | None
    ) -> None:
        if response is None or not isinstance(
            error, TypeError | KeyError | AttributeError | ValueError
        ):
            await super().handle(error, request, response)
            return
        log.warning(
            "Slack: refused a signed request whose payload has an unexpected shape (%s: %s)",
            type(error).__name__,
            error,
        )
        refused = BoltResponse(status=400, body={"error": "malformed request payload"})
        response.status, response.body, response.headers = (
            refused.status,
            refused.body,
            refused.headers,
        )


def _starts_with(prefix: str) -> Any:
    import re

    return re.compile("^" + re.escape(prefix) + r"(\.|$)")


class _SlashCommandSafeHandler(AsyncSlackRequestHandler):
    """Bolt's handler, plus two fixes.

    Bolt's body parser takes any form body containing the substring ``payload`` for an
    interactivity payload and, finding no ``payload`` field, yields ``{}`` (then answers 404).
    We re-parse such a body as the plain form it is; the raw body, which the signature is
    checked against, is untouched.

    Bolt parses the body before it checks the signature, and fails with an exception (a 500)
    on a body that is not UTF-8, a ``payload=`` that is not JSON, JSON that is not an object, or
    JSON nested too deeply. Such a body is answered 401 like any unsigned request when its
    signature is wrong, else 400. A timestamp header that is not a number (which slack_sdk's
    verifier fails on) is a 401 too.
    """

    def __init__(self, app: AsyncApp, signing_secret: str) -> None:
        super().__init__(app)
        self.signing_secret = signing_secret.encode()

    async def handle(
        self, req: Request, addition_context_properties: dict[str, Any] | None = None
    ) -> Response:
        if req.method != "POST":
            return await super().handle(req, addition_context_properties)
        body = await req.body()
        if not _is_integer(req.headers.get("x-slack-request-timestamp", "0")):
            # slack_sdk's verifier would fail with a ValueError (a 500) instead of refusing it.
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            if "x-www-form-urlencoded" in req.headers.get("content-type", "").lower():
                # Bolt's parse_qs would turn a percent-escape of invalid UTF-8 into U+FFFD.
                parse_urlencoded(body)
            request = to_async_bolt_request(req, body, addition_context_properties)
            if not isinstance(request.body, dict):
                raise TypeError("not an object")
            check_json(request.body)
        except (
            ValueError,
            TypeError,
            AttributeError,
            KeyError,
            RecursionError,
            MalformedBody,
        ) as error:
            if not self._signed(req, body):
                return JSONResponse({"error": "invalid request"}, status_code=401)
            why = _malformed(error)
            log.warning("Slack: refused a signed request: %s", why)
            return JSONResponse({"error": why}, status_code=400)
        _repair_slash_command(request)
        return to_starlette_response(await self.app.async_dispatch(request))

    def _signed(self, req: Request, body: bytes) -> bool:
        """Slack's v0 signature over the raw bytes (slack_sdk's verifier needs UTF-8 text)."""
        timestamp = req.headers.get("x-slack-request-timestamp", "")
        signature = req.headers.get("x-slack-signature", "")
        try:
            if abs(time.time() - int(timestamp)) > 5 * 60:
                return False
        except ValueError:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.signing_secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode())


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _malformed(error: Exception) -> str:
    if isinstance(error, MalformedBody):
        return f"malformed request body: {error.detail}"
    if isinstance(error, UnicodeDecodeError):
        return "malformed request body: it is not UTF-8"
    if isinstance(error, json.JSONDecodeError):
        return "malformed request body: it (or its payload field) is not valid JSON"
    if isinstance(error, JsonBodyError):
        return f"malformed request body: {error}"
    if isinstance(error, RecursionError):
        return "malformed request body: the JSON is nested too deeply"
    # Bolt reading fields of a body (or payload) that is a JSON array, string or number.
    return "malformed request body: expected a JSON object"


def _repair_slash_command(request: AsyncBoltRequest) -> None:
    raw = request.raw_body
    if request.body or not raw or raw.startswith("{") or "payload" not in raw:
        return
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "command" in form and "payload" not in form:
        request.body = form
        request.context = build_async_context(AsyncBoltContext(dict(request.context)), form)
