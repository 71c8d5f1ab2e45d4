"""Sessions and CSRF tokens of the web UI.

A person signs in with their name and password (``PAUSEBOT_UI_USERS``, see ``users.py``) or with
``PAUSEBOT_API_TOKEN`` and any name. The cookie holds the name, how they signed in and an expiry,
signed with a key derived from the token and the users' configuration: it proves a secret was
known without carrying it, and changing either logs everybody out. CSRF tokens are an HMAC of
the session cookie, so they need no server-side storage and die with the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

COOKIE_NAME = "pausebot_ui"
SESSION_TTL = timedelta(hours=12)
NAME_MAX = 64


@dataclass(frozen=True)
class Session:
    name: str
    expires_at: datetime
    cookie: str  # the signed value, kept to derive the CSRF token
    user: bool = False  # signed in with a password of PAUSEBOT_UI_USERS, not the API token

    @property
    def actor(self) -> dict[str, Any]:
        return {"id": f"ui:{self.name}", "name": self.name}


class SessionKeys:
    """Signs and checks session cookies and CSRF tokens with keys derived from the API token."""

    def __init__(self, api_token: str, ttl: timedelta = SESSION_TTL) -> None:
        self.ttl = ttl
        self._session_key = _derive(api_token, b"pausebot-ui-session")
        self._csrf_key = _derive(api_token, b"pausebot-ui-csrf")
        self._flash_key = _derive(api_token, b"pausebot-ui-flash")

    def token_matches(self, given: str) -> bool:
        # Comparing derived keys keeps the time independent of where (or how long) they differ.
        return hmac.compare_digest(_derive(given, b"pausebot-ui-session"), self._session_key)

    def issue(self, name: str, now: datetime, *, user: bool = False) -> Session:
        expires_at = now + self.ttl
        claims = {"n": name, "x": int(expires_at.timestamp()), "u": user}
        body = _b64(json.dumps(claims).encode())
        cookie = f"{body}.{_b64(self._sign(body))}"
        return Session(name=name, expires_at=expires_at, cookie=cookie, user=user)

    def expired(self, cookie: str | None, now: datetime) -> bool:
        """A genuine session cookie whose time is up (the login page says so)."""
        body, dot, signature = (cookie or "").partition(".")
        try:
            if not dot or not hmac.compare_digest(_unb64(signature), self._sign(body)):
                return False
            return now.timestamp() >= int(json.loads(_unb64(body))["x"])
        except (ValueError, KeyError, TypeError):
            return False

    def read(self, cookie: str | None, now: datetime) -> Session | None:
        """The session in a cookie, or None when it is absent, forged or expired."""
        if not cookie:
            return None
        body, dot, signature = cookie.partition(".")
        if not dot:
            return None
        try:
            valid = hmac.compare_digest(_unb64(signature), self._sign(body))
            payload = json.loads(_unb64(body)) if valid else None
            name = str(payload["n"]) if payload else ""
            expires_at = datetime.fromtimestamp(int(payload["x"]), now.tzinfo) if payload else now
            user = bool(payload.get("u")) if payload else False
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if not name or now >= expires_at:
            return None
        return Session(name=name, expires_at=expires_at, cookie=cookie, user=user)

    def seal_flash(self, messages: list[tuple[str, str]]) -> str:
        """Messages (level, text) for the next page, signed so nobody can plant text in it."""
        body = _b64(json.dumps(messages).encode())
        return f"{body}.{_b64(hmac.new(self._flash_key, body.encode(), hashlib.sha256).digest())}"

    def open_flash(self, value: str | None) -> list[tuple[str, str]]:
        body, dot, signature = (value or "").partition(".")
        try:
            expected = hmac.new(self._flash_key, body.encode(), hashlib.sha256).digest()
            if not dot or not hmac.compare_digest(_unb64(signature), expected):
                return []
            return [(str(level), str(text)) for level, text in json.loads(_unb64(body))]
        except (ValueError, TypeError):
            return []

    def csrf_token(self, session: Session) -> str:
        return _b64(hmac.new(self._csrf_key, session.cookie.encode(), hashlib.sha256).digest())

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf_token(session), str(given))

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._session_key, body.encode(), hashlib.sha256).digest()


def _derive(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def clean_name(raw: str) -> str:
    """A display name for the audit trail: one line, trimmed, at most NAME_MAX characters."""
    return " ".join(raw.split())[:NAME_MAX]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
