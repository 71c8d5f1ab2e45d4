"""Rendering shared by the UI and the link pages: the Jinja2 environment (autoescaped: every
value is text to show, never markup), the security headers every page carries, and redirects."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.exc import StatementError
from starlette.concurrency import run_in_threadpool

from bot.api.errors import database_reason, refused_value
from bot.ui import richtext
from bot.ui.views import (
    actor_name,
    display_value,
    flat_items,
    format_duration,
    format_time,
    pretty_json,
)
from engine.engine import Engine

T = TypeVar("T")

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,  # a typo in a template fails the tests instead of showing nothing
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    time=format_time,
    json=pretty_json,
    value=display_value,
    who=actor_name,
    flat=flat_items,
    duration=format_duration,
    mrkdwn=richtext.render,  # safe HTML: richtext escapes every piece of text itself
    mrkdwn_inline=richtext.inline,
    plain=richtext.plain,
)

# No inline script or style, no framing, and tokens in URLs never leak through a Referer.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def page(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("title", "pausebot")
    context.setdefault("user", None)  # the logged-in name, for the header
    context.setdefault("csrf", "")
    context.setdefault("flashes", [])  # (level, text) messages left by the previous POST
    html = templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def message(title: str, text: str, *, status: int, **context: Any) -> HTMLResponse:
    return page("message.html", status=status, title=title, text=text, **context)


def malformed_form(error: HTTPException, **context: Any) -> HTMLResponse:
    """A form body that did not parse completely (``bot.api.bodies.read_form_body``): nothing was
    decided, and the page says so."""
    return message(
        "Nothing was decided",
        f"{error.detail} Go back and send the form again.",
        status=error.status_code,
        **context,
    )


class PageRoute(APIRoute):
    """The UI's routes: a value the database refuses (PostgreSQL's ``DataError``, such as NUL in
    text) is a 400 page, whether or not the app maps errors (``bot.api.errors``) itself."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except StatementError as error:
                if not refused_value(error):
                    raise
                return message(
                    "Invalid request",
                    f"The database refused a value of this request: {database_reason(error)}",
                    status=400,
                )

        return handle


def see_other(url: str) -> RedirectResponse:
    """Redirect-after-POST (and after GETs that only point elsewhere)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def engine_of(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


async def in_threadpool(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Engine methods are synchronous (database I/O): run them off the event loop."""
    return await run_in_threadpool(function, *args, **kwargs)
