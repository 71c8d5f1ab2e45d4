"""API tokens and their scopes: ``PAUSEBOT_API_TOKEN`` (admin) and ``PAUSEBOT_API_TOKENS``.

``PAUSEBOT_API_TOKENS`` names extra tokens, each with its scopes, so an agent or a CI job can be
given a token that may only ask for approvals::

    PAUSEBOT_API_TOKENS="deploy-bot=approvals:3f9c...e1,agent=approvals:9a7b...0c,ops=admin:77d2...aa"

Entries are separated by commas (or whitespace); each is ``NAME=SCOPES:TOKEN`` where ``NAME`` is
``[A-Za-z0-9_.-]{1,64}`` (recorded as the actor of what the token does, so it is never secret),
``SCOPES`` is ``+``-separated, and ``TOKEN`` is at least 16 characters without commas or
whitespace. Scopes:

- ``approvals``: create approval requests (``POST /api/v1/approvals``), read, list and cancel the
  ones this token created. Nothing else: no flows, no executions, no decisions.
- ``admin``: everything, as ``PAUSEBOT_API_TOKEN`` (which keeps meaning an admin token).

Imports nothing from the rest of ``bot`` (``bot.config`` validates with it at start-up).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

SCOPES = ("admin", "approvals")
ADMIN, APPROVALS = SCOPES
ENV = "PAUSEBOT_API_TOKENS"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Principal:
    """Who a bearer token is: ``name`` (None for ``PAUSEBOT_API_TOKEN``) and its scopes."""

    name: str | None
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes


@dataclass(frozen=True)
class ScopedToken:
    principal: Principal
    secret: str


ADMIN_PRINCIPAL = Principal(None, frozenset({ADMIN}))


def parse_tokens(text: str | None) -> list[ScopedToken]:
    """The entries of ``PAUSEBOT_API_TOKENS``; raises ``ValueError`` naming the bad entry
    (by its position and name, never showing a token)."""
    if text is None or not text.strip():
        return []
    found: list[ScopedToken] = []
    names: set[str] = set()
    secrets: set[str] = set()
    for position, entry in enumerate(re.split(r"[,\s]+", text.strip()), start=1):
        if not entry:
            continue
        name, equals, rest = entry.partition("=")
        scopes_text, colon, secret = rest.partition(":")
        where = f"{ENV} entry {position}"
        if not equals or not colon:
            raise ValueError(f"{where} must look like NAME=SCOPES:TOKEN")
        if not _NAME.fullmatch(name):
            raise ValueError(f"{where}: the name must match [A-Za-z0-9_.-]{{1,64}}")
        where = f"{ENV} entry {position} ({name})"
        scopes = frozenset(s.strip().lower() for s in scopes_text.split("+") if s.strip())
        unknown = sorted(scopes - set(SCOPES))
        if not scopes or unknown:
            raise ValueError(
                f"{where}: unknown scope {', '.join(unknown) or '(none)'}; "
                f"use {' or '.join(SCOPES)}"
            )
        if len(secret) < MIN_TOKEN_LENGTH:
            raise ValueError(f"{where}: the token must be at least {MIN_TOKEN_LENGTH} characters")
        if name in names:
            raise ValueError(f"{where}: the name is used twice")
        if secret in secrets:
            raise ValueError(f"{where}: the token is used twice")
        names.add(name)
        secrets.add(secret)
        found.append(ScopedToken(Principal(name, scopes), secret))
    return found


def identify(given: str, admin_token: str | None, tokens: list[ScopedToken]) -> Principal | None:
    """The principal whose token is ``given``, comparing every token in constant time (the time
    taken says neither how much of a token was right nor which one matched)."""
    found: Principal | None = None
    candidate = given.encode()
    if admin_token is not None and hmac.compare_digest(candidate, admin_token.encode()):
        found = ADMIN_PRINCIPAL
    for token in tokens:
        if hmac.compare_digest(candidate, token.secret.encode()) and found is None:
            found = token.principal
    return found
