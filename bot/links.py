"""Signed resume links: ``{PAUSEBOT_PUBLIC_URL}/resume/{token}``.

A token names one execution, one paused task run and an action (resume, approve, reject), and
expires. It is an HMAC-SHA256-signed, URL-safe payload, so any replica with the same secret can
check it without a database read; being single-use is enforced by the engine, which spends the
token's id in the same transaction as the resume.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ACTIONS = ("resume", "approve", "reject")


class LinkError(Exception):
    """Why a token cannot be used; ``status`` is the HTTP answer (403 tampered, 410 expired)."""

    def __init__(self, message: str, status: int) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class ResumeLink:
    execution_id: str
    task_run_id: str
    action: str
    expires_at: datetime
    token_id: str


class LinkSigner:
    def __init__(self, secret: bytes, ttl: timedelta) -> None:
        if len(secret) < 16:
            raise ValueError("the link secret must be at least 16 bytes")
        self._key = hashlib.sha256(b"pausebot-resume-link\x00" + secret).digest()
        self.ttl = ttl

    def mint(
        self,
        execution_id: str,
        task_run_id: str,
        action: str = "resume",
        *,
        now: datetime | None = None,
    ) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown link action {action!r}")
        now = now or datetime.now(UTC)
        payload = {
            "e": execution_id,
            "t": task_run_id,
            "a": action,
            "x": int((now + self.ttl).timestamp()),
            "n": secrets.token_urlsafe(12),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._sign(body))}"

    def verify(self, token: str, *, now: datetime | None = None) -> ResumeLink:
        body, dot, signature = token.partition(".")
        if not dot or not body or not signature:
            raise LinkError("This link is malformed.", 403)
        try:
            given = _unb64(signature)
        except ValueError:
            raise LinkError("This link is malformed.", 403) from None
        if not hmac.compare_digest(given, self._sign(body)):
            raise LinkError("This link is not valid (its signature does not match).", 403)
        try:
            payload = json.loads(_unb64(body))
            link = ResumeLink(
                execution_id=str(payload["e"]),
                task_run_id=str(payload["t"]),
                action=str(payload["a"]),
                expires_at=datetime.fromtimestamp(int(payload["x"]), UTC),
                token_id=str(payload["n"]),
            )
        except (ValueError, KeyError, TypeError):
            raise LinkError("This link is malformed.", 403) from None
        if (now or datetime.now(UTC)) >= link.expires_at:
            raise LinkError(
                f"This link expired on {link.expires_at.isoformat(timespec='minutes')}.", 410
            )
        return link

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise ValueError(str(error)) from None
