"""Who may call the API, and on whose behalf.

The API takes bearer tokens: ``PAUSEBOT_API_TOKEN`` (admin: everything) and the scoped tokens of
``PAUSEBOT_API_TOKENS`` (bot/tokens.py; an ``approvals`` token may only create, read and cancel
its own approval requests: a 403 elsewhere). Beside them, Kestra OSS's basic auth:
``PAUSEBOT_BASIC_AUTH_USERS="ada:password1,bob:password2"`` accepts ``Authorization: Basic ...``
for those users, as admins. Without any of them the API is closed: every ``/api/v1`` request
(except the webhook trigger, whose key is its secret) answers 503 with a message saying how to
open it, so a server started without thinking about auth never exposes resume and kill to the
network. The web UI, signed links, Slack, ``/healthz`` and ``/metrics`` do not depend on it.

``PAUSEBOT_API_TOKEN`` has no identity, so the audit trail takes the caller's word:
``X-Pausebot-User: ada`` (or ``?by=ada``) records ``{"id": "ada", "name": "ada"}``; without it
the actor is ``API``. A basic-auth user is recorded as themself and a scoped token as its name,
whatever the header says.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.tokens import ADMIN, Principal, identify

API_ACTOR: dict[str, Any] = {"id": "api", "name": "API"}

_bearer = HTTPBearer(auto_error=False, description="The value of PAUSEBOT_API_TOKEN.")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="pausebot"'}


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who the caller is (``PAUSEBOT_API_TOKEN``: admin; ``PAUSEBOT_API_TOKENS``: scoped; a
    basic-auth user: admin, by name), kept on ``request.state.principal`` for the routes and
    the audit trail."""
    settings = request.app.state.settings
    configured = settings.api_token
    users = settings.basic_auth
    scoped = getattr(request.app.state, "scoped_tokens", None)
    if scoped is None:
        scoped = request.app.state.scoped_tokens = settings.scoped_tokens
    if configured is None and not scoped and not users:
        raise HTTPException(
            503,
            "The API is disabled: PAUSEBOT_API_TOKEN is not set on the server (nor "
            "PAUSEBOT_API_TOKENS or PAUSEBOT_BASIC_AUTH_USERS). Set it and send it as "
            "'Authorization: Bearer <token>'.",
        )
    authorization = request.headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        user = _basic_user(authorization[6:].strip(), users)
        request.state.api_user = user
        principal = Principal(user, frozenset({ADMIN}))
        request.state.principal = principal
        return principal
    challenge = _challenge(configured is not None or bool(scoped), bool(users))
    if configured is None and not scoped:
        raise HTTPException(
            401, "Missing credentials: send 'Authorization: Basic ...'.", headers=challenge
        )
    if credentials is None:
        raise HTTPException(
            401, "Missing bearer token: send 'Authorization: Bearer <token>'.", headers=challenge
        )
    principal = identify(
        credentials.credentials,
        configured.get_secret_value() if configured is not None else None,
        scoped,
    )
    if principal is None:
        raise HTTPException(
            401,
            "Invalid bearer token.",
            headers={
                **_CHALLENGE,
                "WWW-Authenticate": _CHALLENGE["WWW-Authenticate"] + ', error="invalid_token"',
            },
        )
    request.state.principal = principal
    return principal


def _challenge(bearer: bool, basic: bool) -> dict[str, str]:
    schemes = ([_CHALLENGE["WWW-Authenticate"]] if bearer else []) + (
        ['Basic realm="pausebot", charset="UTF-8"'] if basic else []
    )
    return {"WWW-Authenticate": ", ".join(schemes)}


_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="pausebot", charset="UTF-8"'}


def _basic_user(encoded: str, users: dict[str, str]) -> str:
    """The user named by valid basic credentials (Kestra OSS's ``basic-auth``), else a 401."""
    if not users:
        raise HTTPException(
            401,
            "Basic auth is not enabled on this server (PAUSEBOT_BASIC_AUTH_USERS); "
            "send 'Authorization: Bearer <token>'.",
            headers=_CHALLENGE,
        )
    try:
        user, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user, colon, password = "", "", ""
    if not colon:
        raise HTTPException(401, "Malformed basic credentials.", headers=_BASIC_CHALLENGE)
    expected = users.get(user, "")
    # Compared even for an unknown user, so the time taken does not tell which users exist.
    matches = hmac.compare_digest(password.encode(), (expected or "\0" * 16).encode())
    if not expected or not matches:
        raise HTTPException(401, "Invalid user name or password.", headers=_BASIC_CHALLENGE)
    return user


def require_scope(scope: str) -> Callable[..., Principal]:
    """A dependency: the token must have ``scope`` (admin has every scope), else 403."""

    def check(principal: Annotated[Principal, Depends(require_token)]) -> Principal:
        if not principal.allows(scope):
            granted = " and ".join(sorted(principal.scopes))
            raise HTTPException(
                403,
                f"This token ({principal.name}) has the scope {granted}, which does not allow "
                f"this: it needs the {scope} scope.",
            )
        return principal

    return check


require_admin = require_scope(ADMIN)


# An actor name is a person's name or login: one line of printable text, at most this long.
MAX_ACTOR_LENGTH = 200


def _actor_name(source: str, raw: str) -> str:
    """The actor named by ``X-Pausebot-User`` or ``?by=``, checked, never silently changed: too
    long is a 431 (header) or 422 (query); empty, not UTF-8 or holding a control or invisible
    formatting character (NUL, a line break, a right-to-left override) is a 400."""
    name = raw.strip()
    if len(name) > MAX_ACTOR_LENGTH:
        status = 431 if source == "X-Pausebot-User" else 422
        raise HTTPException(
            status, f"{source} is {len(name)} characters long; at most {MAX_ACTOR_LENGTH}."
        )
    if not name:
        raise HTTPException(400, f"{source} is empty: name who is acting, or leave it out.")
    bad = next((ch for ch in name if not (ch.isprintable() or ch == " ")), None)
    if bad is not None:
        raise HTTPException(
            400,
            f"{source} holds the character U+{ord(bad):04X}: "
            "only printable characters are allowed in a name.",
        )
    return name


def _header_text(value: str) -> str:
    """Starlette decodes header bytes as Latin-1; names are UTF-8 (``José``) or refused."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise HTTPException(400, "X-Pausebot-User is not UTF-8 text.") from None


def api_actor(
    request: Request,
    x_pausebot_user: Annotated[
        str | None,
        Header(
            description="Who is acting, for the audit trail (default: API); "
            f"at most {MAX_ACTOR_LENGTH} printable characters."
        ),
    ] = None,
    by: Annotated[str | None, Query(description="Same as the X-Pausebot-User header.")] = None,
) -> dict[str, Any]:
    # A basic-auth user is who they proved to be; the shared token takes the caller's word.
    authenticated = getattr(request.state, "api_user", None)
    if authenticated:
        return {"id": authenticated, "name": authenticated}
    headers = request.headers.getlist("x-pausebot-user")
    if len(headers) > 1:
        raise HTTPException(400, "X-Pausebot-User is given more than once.")
    name = None
    if headers:
        name = _actor_name("X-Pausebot-User", _header_text(headers[0]))
    if by is not None:
        from_query = _actor_name("by", by)
        if name is not None and from_query != name:
            raise HTTPException(400, "X-Pausebot-User and ?by= name different people.")
        name = from_query
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.name is not None and not principal.is_admin:
        # A scoped token is its own identity: it cannot act in someone else's name.
        return {"id": f"token:{principal.name}", "name": principal.name}
    return {"id": name, "name": name} if name else dict(API_ACTOR)


Actor = Annotated[dict[str, Any], Depends(api_actor)]
