"""Who is looking: sign-in, sessions, CSRF-checked forms and the one-shot flash messages.

Two ways in, on one form: a person of ``PAUSEBOT_UI_USERS`` with their password (recorded as
themselves, with their Slack id when configured), or anyone with ``PAUSEBOT_API_TOKEN`` and the
name they type. Failed attempts are rate-limited per client address and per name
(``users.LoginThrottle``). Without a token and without users the UI is switched off (503).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from bot.api.bodies import MalformedBody, read_form_body
from bot.ui.pages import PageRoute, malformed_form, message, page, see_other
from bot.ui.session import COOKIE_NAME, Session, SessionKeys, clean_name
from bot.ui.users import LoginThrottle, User, hash_password, parse_users, verify_password
from engine.inputs import parse_duration

router = APIRouter(include_in_schema=False, route_class=PageRoute)

FLASH_COOKIE = "pausebot_flash"


@dataclass(frozen=True)
class Visitor:
    session: Session
    keys: SessionKeys
    user: User | None = None

    @property
    def name(self) -> str:
        return self.session.name

    @property
    def csrf(self) -> str:
        return self.keys.csrf_token(self.session)

    @property
    def actor(self) -> dict[str, Any]:
        return self.user.actor if self.user else self.session.actor

    def context(self) -> dict[str, Any]:
        """What every signed-in page passes to base.html."""
        return {"user": self.name, "csrf": self.csrf}


@dataclass(frozen=True)
class _Access:
    keys: SessionKeys
    token: str  # "" when the API token is not set
    users: dict[str, User]


def _access(request: Request) -> _Access | None:
    settings = getattr(request.app.state, "settings", None)
    token_secret = getattr(settings, "api_token", None)
    token = token_secret.get_secret_value() if token_secret is not None else ""
    users_secret = getattr(settings, "ui_users", None)
    users_text = users_secret.get_secret_value() if users_secret is not None else ""
    if not token and not users_text:
        return None
    ttl = parse_duration(getattr(settings, "ui_session_ttl", None) or "PT12H")
    cached = getattr(request.app.state, "ui_access", None)
    if cached is not None and cached[0] == (token, users_text, ttl):
        return cached[1]  # type: ignore[no-any-return]
    access = _Access(SessionKeys(token + "\n" + users_text, ttl), token, parse_users(users_text))
    request.app.state.ui_access = ((token, users_text, ttl), access)
    return access


def throttle_of(request: Request) -> LoginThrottle:
    throttle = getattr(request.app.state, "ui_login_throttle", None)
    if throttle is None:
        throttle = request.app.state.ui_login_throttle = LoginThrottle()
    return throttle  # type: ignore[no-any-return]


def not_configured() -> HTMLResponse:
    return page("not_configured.html", status=503, title="Set up the web UI")


def visitor_of(request: Request) -> Visitor | Response:
    """The signed-in person, or the response to send instead (set-up page, login, bounce)."""
    access = _access(request)
    if access is None:
        return not_configured()
    cookie = request.cookies.get(COOKIE_NAME)
    now = datetime.now(UTC)
    session = access.keys.read(cookie, now)
    if session is not None:
        if not session.user:
            if access.token:
                return Visitor(session, access.keys)
        elif (user := access.users.get(session.name.lower())) is not None:
            return Visitor(session, access.keys, user)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if (
        request.method == "GET"
        and not cookie
        and request.headers.get("sec-fetch-site") == "cross-site"
    ):
        # SameSite=Strict cookies are not sent when arriving from Slack or a mail client; a
        # same-origin reload sends them, so signed-in people are not asked to sign in again.
        return page("bounce.html", title="Opening…", target=target)
    query = {"next": target}
    if access.keys.expired(cookie, now):
        query["expired"] = "1"
    return see_other("/ui/login?" + urlencode(query))


def safe_next(value: str | None) -> str:
    # Only paths of this UI: never another host (//evil.example) or a backslash trick.
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/executions"


def _secure_cookies(request: Request) -> bool:
    settings = getattr(request.app.state, "settings", None)
    public_url = str(getattr(settings, "public_url", ""))
    return request.url.scheme == "https" or public_url.startswith("https://")


async def checked_form(
    request: Request, *, files: bool = False
) -> tuple[Visitor, FormData] | Response:
    """A state-changing POST: signed in, and carrying this session's CSRF token. ``files``:
    the form may carry file uploads (for FILE inputs)."""
    visitor = visitor_of(request)
    if not isinstance(visitor, Visitor):
        return visitor
    try:
        form = await read_form_body(request, files=files)
    except MalformedBody as error:
        return malformed_form(error, **visitor.context())
    given = form.get("_csrf")
    if not visitor.keys.csrf_ok(visitor.session, given if isinstance(given, str) else None):
        return message(
            "Form expired",
            "This form did not carry a valid security token (it may be older than your "
            "sign-in, or come from another site). Go back, reload the page and try again.",
            status=403,
            **visitor.context(),
        )
    return visitor, form


def with_flashes(
    request: Request, visitor: Visitor, render: Callable[[list[Any]], Response]
) -> Response:
    """Shows the messages left by the previous POST once, then forgets them."""
    flashes = visitor.keys.open_flash(request.cookies.get(FLASH_COOKIE))
    response = render(flashes)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/ui")
    return response


def redirect_with(
    request: Request, visitor: Visitor, url: str, *messages: tuple[str, str]
) -> Response:
    response = see_other(url)
    trimmed = [
        (level, text if len(text) <= 600 else text[:597] + "...") for level, text in messages
    ]
    return with_cookie(response, request, FLASH_COOKIE, visitor.keys.seal_flash(trimmed[:6]), 120)


def with_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int
) -> Response:
    """Our cookies: scoped to /ui, unreadable by scripts, never sent cross-site."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(request),
    )
    return response


def _login_page(
    access: _Access,
    *,
    status: int = 200,
    next: str,
    name: str = "",
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    return page(
        "login.html",
        status=status,
        title="Sign in",
        next=next,
        name=name,
        error=error,
        notice=notice,
        with_users=bool(access.users),
        with_token=bool(access.token),
    )


@router.get("/ui/login")
def login_page(request: Request, next: str | None = None, expired: str | None = None) -> Response:
    access = _access(request)
    if access is None:
        return not_configured()
    notice = "Your session expired: please sign in again." if expired else None
    return _login_page(access, next=safe_next(next), notice=notice)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def _token_ok(access: _Access, given: str) -> bool:
    if not access.token or not given:
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(access.token.encode()).digest()
    )


@router.post("/ui/login")
async def login(request: Request) -> Response:
    access = _access(request)
    if access is None:
        return not_configured()
    try:
        form = await read_form_body(request)
    except MalformedBody as error:
        return malformed_form(error)
    raw_name, target = (str(form.get(k) or "") for k in ("name", "next"))
    secret = str(form.get("password") or form.get("token") or "")
    name = clean_name(raw_name)
    target = safe_next(target)
    throttle = throttle_of(request)
    keys = (f"ip:{request.client.host if request.client else '?'}", f"name:{name.lower()}")
    wait = throttle.retry_after(*keys)
    if wait:
        minutes = max(1, round(wait / 60))
        response = _login_page(
            access,
            status=429,
            next=target,
            name=name,
            error=f"Too many failed attempts. Try again in {minutes} min.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    if not name:
        return _login_page(
            access,
            status=422,
            next=target,
            error="Please give your name: it is recorded with every decision you make.",
        )
    user = access.users.get(name.lower())
    session: Session | None = None
    now = datetime.now(UTC)
    # An unknown name costs the same scrypt as a known one: the time tells no names apart.
    known = bool(access.users) and verify_password(
        secret, user.password_hash if user else _dummy_hash()
    )
    if user is not None and known:
        session = access.keys.issue(user.name, now, user=True)
    elif _token_ok(access, secret):
        session = access.keys.issue(name, now)
    if session is None:
        throttle.failed(*keys)
        refusal = (
            "That name and password do not match."
            if access.users
            else "That token is not the one this server was started with (PAUSEBOT_API_TOKEN)."
        )
        return _login_page(access, status=401, next=target, name=name, error=refusal)
    throttle.succeeded(keys[1])
    redirect: Response = see_other(target)
    return with_cookie(
        redirect, request, COOKIE_NAME, session.cookie, int(access.keys.ttl.total_seconds())
    )


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    checked = await checked_form(request)
    if isinstance(checked, Response):
        return checked
    response = see_other("/ui/login")
    response.delete_cookie(COOKIE_NAME, path="/ui")
    return response
