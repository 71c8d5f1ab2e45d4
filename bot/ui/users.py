"""People who sign in to the web UI with a password, and the login form's rate limit.

``PAUSEBOT_UI_USERS`` holds a JSON list, one object per person::

    [{"name": "Ada", "password": "scrypt$16384$8$1$<salt>$<hash>",
      "slack": "U0123ABCD", "email": "ada@example.com"}]

``password`` is a hash made by ``python -m bot.ui.users`` (``hashlib.scrypt``, a random salt per
person); the plain password is never stored. ``slack`` (a Slack user id) and ``email`` are
optional: with them, a decision made in the UI is recorded with the same actor id as the same
person's clicks in Slack. The API token keeps working beside the users (any name, as before).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import math
import secrets
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

# scrypt's cost: 16 MiB and ~50 ms per attempt, which the login rate limit multiplies.
_N, _R, _P = 2**14, 8, 1
_MAX_MEMORY = 64 * 1024 * 1024


class UsersConfigError(ValueError):
    """``PAUSEBOT_UI_USERS`` that cannot be used, with a message naming the entry."""


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    slack: str | None = None
    email: str | None = None

    @property
    def actor(self) -> dict[str, Any]:
        """The audit-trail identity: the Slack id when known, so both surfaces agree."""
        actor: dict[str, Any] = {"id": self.slack or f"ui:{self.name}", "name": self.name}
        if self.email:
            actor["email"] = self.email
        return actor


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAX_MEMORY, dklen=32
    )
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAX_MEMORY,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def parse_users(text: str | None) -> dict[str, User]:
    """``PAUSEBOT_UI_USERS`` → users by lower-cased name; raises ``UsersConfigError``."""
    if not text or not text.strip():
        return {}
    try:
        entries = json.loads(text)
    except ValueError as error:
        raise UsersConfigError(f"PAUSEBOT_UI_USERS is not valid JSON: {error}") from None
    if not isinstance(entries, list):
        raise UsersConfigError("PAUSEBOT_UI_USERS must be a JSON list of objects")
    users: dict[str, User] = {}
    for number, entry in enumerate(entries, 1):
        where = f"PAUSEBOT_UI_USERS entry {number}"
        if not isinstance(entry, dict):
            raise UsersConfigError(f"{where} must be an object with name and password")
        unknown = set(entry) - {"name", "password", "slack", "email"}
        if unknown:
            raise UsersConfigError(f"{where} has unknown field(s): {', '.join(sorted(unknown))}")
        name = " ".join(str(entry.get("name") or "").split())
        password = str(entry.get("password") or "")
        if not name:
            raise UsersConfigError(f"{where} has no name")
        if not password.startswith("scrypt$") or password.count("$") != 5:
            raise UsersConfigError(
                f"{where} ({name}): password must be a hash made by `python -m bot.ui.users`, "
                "never the password itself"
            )
        if name.lower() in users:
            raise UsersConfigError(f"{where}: the name {name!r} is given twice")
        users[name.lower()] = User(
            name, password, entry.get("slack") or None, entry.get("email") or None
        )
    return users


class LoginThrottle:
    """At most ``limit`` failed logins per ``window`` seconds, per client address and per name.

    In memory, per process: it slows guessing; it is not an account lock-out (a person who
    forgot their password is not locked out for longer than the window)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str, now: float | None = None) -> int:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.limit:
                    wait = max(wait, failures[0] + self.window - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *keys: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # forget the quiet ones rather than grow for ever
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main() -> None:
    """``python -m bot.ui.users``: asks for a password twice and prints its hash."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            sys.exit("The two passwords differ.")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        sys.exit("Use at least 8 characters.")
    print(hash_password(password))


if __name__ == "__main__":
    main()
