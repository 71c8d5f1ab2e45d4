"""Who may call the API, and on whose behalf.

The API takes bearer tokens: ``PAUSEBOT_API_TOKEN`` (admin: everything) and the scoped tokens of
``PAUSEBOT_API_TOKENS`` (bot/tokens.py; an ``approvals`` token may only create, read and cancel
its own approval requests: a 403 elsewhere). Without any token the API is closed:
every ``/api/v1`` request (except the webhook trigger, whose key is its secret) answers 503 with
a message saying how to open it, so a server started without thinking about auth never exposes
resume and kill to the network. The web UI, signed links, Slack, ``/healthz`` and ``/metrics`` do
not depend on it.

The token has no identity, so the audit trail takes the caller's word: ``X-Pausebot-User: ada``
(or ``?by=ada``) records ``{"id": "ada", "name": "ada"}``; without it the actor is ``API``.
"""

from __future__ import annotations

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
    """Who the bearer token is (``PAUSEBOT_API_TOKEN``: admin; ``PAUSEBOT_API_TOKENS``: scoped),
    kept on ``request.state.principal`` for the routes and the audit trail."""
    settings = request.app.state.settings
    configured = settings.api_token
    scoped = getattr(request.app.state, "scoped_tokens", None)
    if scoped is None:
        scoped = request.app.state.scoped_tokens = settings.scoped_tokens
    if configured is None and not scoped:
        raise HTTPException(
            503,
            "The API is disabled: PAUSEBOT_API_TOKEN is not set on the server. "
            "Set it and send it as 'Authorization: Bearer <token>'.",
        )
    if credentials is None:
        raise HTTPException(
            401, "Missing bearer token: send 'Authorization: Bearer <token>'.", headers=_CHALLENGE
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


def _clean(name: str) -> str:
    printable = "".join(ch for ch in name if ch.isprintable())
    return printable.strip()[:100]


def api_actor(
    request: Request,
    x_pausebot_user: Annotated[
        str | None, Header(description="Who is acting, for the audit trail (default: API).")
    ] = None,
    by: Annotated[str | None, Query(description="Same as the X-Pausebot-User header.")] = None,
) -> dict[str, Any]:
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.name is not None and not principal.is_admin:
        # A scoped token is its own identity: it cannot act in someone else's name.
        return {"id": f"token:{principal.name}", "name": principal.name}
    name = _clean(x_pausebot_user or by or "")
    return {"id": name, "name": name} if name else dict(API_ACTOR)


Actor = Annotated[dict[str, Any], Depends(api_actor)]
