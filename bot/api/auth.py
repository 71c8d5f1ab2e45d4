"""Who may call the API, and on whose behalf.

The API takes one shared bearer token, ``PAUSEBOT_API_TOKEN``. Without it the API is closed:
every ``/api/v1`` request (except the webhook trigger, whose key is its secret) answers 503 with
a message saying how to open it, so a server started without thinking about auth never exposes
resume and kill to the network. The web UI, signed links, Slack, ``/healthz`` and ``/metrics`` do
not depend on it.

The token has no identity, so the audit trail takes the caller's word: ``X-Pausebot-User: ada``
(or ``?by=ada``) records ``{"id": "ada", "name": "ada"}``; without it the actor is ``API``.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

API_ACTOR: dict[str, Any] = {"id": "api", "name": "API"}

_bearer = HTTPBearer(auto_error=False, description="The value of PAUSEBOT_API_TOKEN.")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="pausebot"'}


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    configured = request.app.state.settings.api_token
    if configured is None:
        raise HTTPException(
            503,
            "The API is disabled: PAUSEBOT_API_TOKEN is not set on the server. "
            "Set it and send it as 'Authorization: Bearer <token>'.",
        )
    if credentials is None:
        raise HTTPException(
            401, "Missing bearer token: send 'Authorization: Bearer <token>'.", headers=_CHALLENGE
        )
    # compare_digest: the time taken must not reveal how much of the token was right.
    if not hmac.compare_digest(
        credentials.credentials.encode(), configured.get_secret_value().encode()
    ):
        raise HTTPException(
            401,
            "Invalid bearer token.",
            headers={
                **_CHALLENGE,
                "WWW-Authenticate": _CHALLENGE["WWW-Authenticate"] + ', error="invalid_token"',
            },
        )


def _clean(name: str) -> str:
    printable = "".join(ch for ch in name if ch.isprintable())
    return printable.strip()[:100]


def api_actor(
    x_pausebot_user: Annotated[
        str | None, Header(description="Who is acting, for the audit trail (default: API).")
    ] = None,
    by: Annotated[str | None, Query(description="Same as the X-Pausebot-User header.")] = None,
) -> dict[str, Any]:
    name = _clean(x_pausebot_user or by or "")
    return {"id": name, "name": name} if name else dict(API_ACTOR)


Actor = Annotated[dict[str, Any], Depends(api_actor)]
