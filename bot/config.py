"""Settings from the environment, validated at start-up with one clear message per problem.

Every variable is documented in README.md ("Configuration"). Secrets are ``SecretStr`` so they
never appear in logs or reprs.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.inputs import parse_duration

if TYPE_CHECKING:
    from bot.tokens import ScopedToken

log = logging.getLogger(__name__)

SLACK_API_DEFAULT = "https://slack.com/api/"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080  # what `pausebot serve` listens on by default


def served_url(host: str, port: int) -> str:
    """The URL of a service listening on ``host``:``port``. Every interface (``0.0.0.0``, ``::``)
    is reached as ``localhost`` from this machine; other people need PAUSEBOT_PUBLIC_URL."""
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def public_url_default() -> str:
    """``PAUSEBOT_PUBLIC_URL``, else the URL `pausebot serve` has with its default host and port
    (for the CLI, which links to executions without serving them)."""
    return (os.environ.get("PAUSEBOT_PUBLIC_URL") or served_url(DEFAULT_HOST, DEFAULT_PORT)).rstrip(
        "/"
    )


def public_url_warnings(settings: Settings, served: str) -> list[str]:
    """Why the links pausebot hands out may not reach it: a loopback PAUSEBOT_PUBLIC_URL while
    Slack (whose users are elsewhere) is on, or a loopback URL on another port than the one
    served. A public URL behind a proxy legitimately has another host and port: not warned."""
    from urllib.parse import urlsplit

    public, actual = urlsplit(settings.public_url), urlsplit(served)
    loopback = (public.hostname or "") in ("localhost", "127.0.0.1", "::1") or (
        public.hostname or ""
    ).startswith("127.")
    problems = []
    if loopback and settings.slack_enabled:
        problems.append(
            f"PAUSEBOT_PUBLIC_URL is {settings.public_url}, a loopback address: the links in "
            "Slack messages will not open for anyone but this machine"
        )
    default_port = {"http": 80, "https": 443}.get(public.scheme, 0)
    if loopback and (public.port or default_port) != actual.port:
        problems.append(
            f"PAUSEBOT_PUBLIC_URL is {settings.public_url} but the service listens on "
            f"{served}: links will point at the wrong port"
        )
    return problems


class ConfigError(Exception):
    """Start-up configuration problems, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class _SlackPresence(BaseSettings):
    """The settings whose combination is checked (``slack_problems``). They cannot be invalid on
    their own, so ``load_settings`` can read them even when other settings are invalid."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_channel: str | None = Field(
        default=None, validation_alias=AliasChoices("PAUSEBOT_SLACK_CHANNEL", "SLACK_CHANNEL")
    )


def slack_problems(settings: _SlackPresence) -> list[str]:
    """Slack settings that make no sense together (half a configuration)."""
    given = {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
    }
    present = [name for name, value in given.items() if value is not None]
    problems = []
    if present and len(present) != len(given):
        missing = [name for name in given if name not in present]
        problems.append(
            f"Slack is half configured: {', '.join(present)} set but {', '.join(missing)} missing"
        )
    if settings.slack_app_token is not None and not present:
        problems.append(
            "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are missing"
        )
    if present and not settings.slack_channel:
        problems.append(
            "Slack is configured but PAUSEBOT_SLACK_CHANNEL (the default channel) is missing"
        )
    return problems


def basic_auth_pairs(text: str) -> dict[str, str]:
    """``"ada:pw1,bob:pw2"`` -> ``{"ada": "pw1", "bob": "pw2"}``; a password may hold ':'."""
    users: dict[str, str] = {}
    for index, item in enumerate(part.strip() for part in text.split(",")):
        user, colon, password = item.partition(":")
        if not colon or not user or not password:
            raise ValueError(
                f"PAUSEBOT_BASIC_AUTH_USERS entry {index + 1} must be 'user:password' "
                "(entries separated by commas)"
            )
        if len(password) < 8:
            raise ValueError(
                f"PAUSEBOT_BASIC_AUTH_USERS: the password of '{user}' must be at least "
                "8 characters long"
            )
        users[user] = password
    return users


class Settings(_SlackPresence):
    database_url: str | None = Field(default=None, validation_alias="PAUSEBOT_DATABASE_URL")
    flows_dir: Path | None = Field(default=None, validation_alias="PAUSEBOT_FLOWS_DIR")
    api_token: SecretStr | None = Field(default=None, validation_alias="PAUSEBOT_API_TOKEN")
    # Kestra OSS's basic auth: "user:password" pairs, comma-separated, beside the bearer token.
    basic_auth_users: SecretStr | None = Field(
        default=None, validation_alias="PAUSEBOT_BASIC_AUTH_USERS"
    )
    # Scoped tokens (bot/tokens.py): "NAME=SCOPES:TOKEN,..."; and the callbacks' signing secret.
    api_tokens: SecretStr | None = Field(default=None, validation_alias="PAUSEBOT_API_TOKENS")
    callback_secret: SecretStr | None = Field(
        default=None, validation_alias="PAUSEBOT_CALLBACK_SECRET"
    )
    # Unset, `pausebot serve` replaces it with the URL it actually serves (``served_url``).
    public_url: str = Field(
        default=served_url(DEFAULT_HOST, DEFAULT_PORT), validation_alias="PAUSEBOT_PUBLIC_URL"
    )
    link_secret: SecretStr | None = Field(default=None, validation_alias="PAUSEBOT_LINK_SECRET")
    link_ttl: str = Field(default="P7D", validation_alias="PAUSEBOT_LINK_TTL")
    max_body_bytes: int = Field(default=1_048_576, validation_alias="PAUSEBOT_MAX_BODY_BYTES", gt=0)
    runner_workers: int = Field(default=4, validation_alias="PAUSEBOT_RUNNER_WORKERS", ge=1, le=64)
    # Retention (ISO-8601 durations; "" keeps for ever): settled outbox events and their
    # deliveries, and finished executions with their logs.
    outbox_retention: str = Field(default="P7D", validation_alias="PAUSEBOT_OUTBOX_RETENTION")
    execution_retention: str = Field(default="", validation_alias="PAUSEBOT_EXECUTION_RETENTION")

    slack_api_url: str = Field(default=SLACK_API_DEFAULT, validation_alias="SLACK_API_URL")
    # Forbid approving an execution you started yourself (four-eyes principle).
    slack_forbid_self_approval: bool = Field(
        default=False, validation_alias="PAUSEBOT_FORBID_SELF_APPROVAL"
    )
    # Direct messages to a pause's assignees (a flow's ``slack-dm-assignees: false`` opts out).
    slack_dm_assignees: bool = Field(default=True, validation_alias="PAUSEBOT_SLACK_DM_ASSIGNEES")
    # Reminders of pauses still waiting (flow labels ``slack-remind-*`` override them).
    slack_remind_after: str | None = Field(
        default=None, validation_alias="PAUSEBOT_SLACK_REMIND_AFTER"
    )
    slack_remind_every: str | None = Field(
        default=None, validation_alias="PAUSEBOT_SLACK_REMIND_EVERY"
    )
    slack_remind_max: int = Field(
        default=3, validation_alias="PAUSEBOT_SLACK_REMIND_MAX", ge=0, le=100
    )
    # Web UI sign-in (docs/ui.md): people with password hashes, and how long a session lasts.
    ui_users: SecretStr | None = Field(default=None, validation_alias="PAUSEBOT_UI_USERS")
    ui_session_ttl: str = Field(default="PT12H", validation_alias="PAUSEBOT_UI_SESSION_TTL")

    @field_validator("ui_users")
    @classmethod
    def _ui_users(cls, value: SecretStr | None) -> SecretStr | None:
        from bot.ui.users import parse_users

        parse_users(value.get_secret_value() if value else None)  # UsersConfigError: ValueError
        return value

    @field_validator("ui_session_ttl")
    @classmethod
    def _ui_session_ttl(cls, value: str) -> str:
        try:
            if parse_duration(value) <= timedelta(0):
                raise ValueError
        except ValueError:
            raise ValueError(
                "PAUSEBOT_UI_SESSION_TTL must be a positive ISO-8601 duration such as PT12H, "
                f"got {value!r}"
            ) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("PAUSEBOT_PUBLIC_URL must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("SLACK_API_URL must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator("basic_auth_users")
    @classmethod
    def _basic_auth_users(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            basic_auth_pairs(value.get_secret_value())  # refuses a malformed list at start-up
        return value

    @property
    def basic_auth(self) -> dict[str, str]:
        """user -> password, from PAUSEBOT_BASIC_AUTH_USERS."""
        if self.basic_auth_users is None:
            return {}
        return basic_auth_pairs(self.basic_auth_users.get_secret_value())

    @field_validator("link_secret")
    @classmethod
    def _link_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # A short secret makes signed links guessable; LinkSigner refuses it too, less politely.
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError("PAUSEBOT_LINK_SECRET must be at least 16 characters long")
        return value

    @field_validator("api_tokens")
    @classmethod
    def _api_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        from bot.tokens import parse_tokens

        if value is not None:
            parse_tokens(value.get_secret_value())  # the message never shows a token
        return value

    @field_validator("callback_secret")
    @classmethod
    def _callback_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError("PAUSEBOT_CALLBACK_SECRET must be at least 16 characters long")
        return value

    @property
    def scoped_tokens(self) -> list[ScopedToken]:
        from bot.tokens import parse_tokens

        return parse_tokens(self.api_tokens.get_secret_value() if self.api_tokens else None)

    @field_validator("link_ttl")
    @classmethod
    def _link_ttl(cls, value: str) -> str:
        try:
            if parse_duration(value) <= timedelta(0):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"PAUSEBOT_LINK_TTL must be a positive ISO-8601 duration such as P7D, got {value!r}"
            ) from None
        return value

    @field_validator("outbox_retention", "execution_retention")
    @classmethod
    def _retention(cls, value: str, info: Any) -> str:
        name = {
            "outbox_retention": "PAUSEBOT_OUTBOX_RETENTION",
            "execution_retention": "PAUSEBOT_EXECUTION_RETENTION",
        }[info.field_name]
        if not value.strip():
            return ""
        try:
            if parse_duration(value) <= timedelta(0):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{name} must be a positive ISO-8601 duration such as P30D (or empty: keep), "
                f"got {value!r}"
            ) from None
        return value

    def retention(self, which: str) -> timedelta | None:
        value = getattr(self, f"{which}_retention")
        return parse_duration(value) if value else None

    @field_validator("slack_remind_after", "slack_remind_every")
    @classmethod
    def _slack_remind(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip() or value.strip().lower() in ("off", "none"):
            return None
        name = {
            "slack_remind_after": "PAUSEBOT_SLACK_REMIND_AFTER",
            "slack_remind_every": "PAUSEBOT_SLACK_REMIND_EVERY",
        }[str(info.field_name)]
        try:
            if parse_duration(value.strip()) <= timedelta(0):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{name} must be a positive ISO-8601 duration such as PT4H (or off), got {value!r}"
            ) from None
        return value.strip()

    @model_validator(mode="after")
    def _slack_complete(self) -> Settings:
        # Runs only once every field is valid; load_settings lists these problems either way.
        problems = slack_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and self.slack_signing_secret is not None

    @property
    def link_ttl_delta(self) -> timedelta:
        return parse_duration(self.link_ttl)

    def resolved_database_url(self) -> str:
        from engine.engine import default_database_url

        return self.database_url or default_database_url()

    def resolved_flows_dir(self) -> Path | None:
        if self.flows_dir is not None:
            return self.flows_dir
        default = Path("flows")
        return default if default.is_dir() else None


def database_url_problem(url: str, name: str = "PAUSEBOT_DATABASE_URL") -> str | None:
    """Why ``url`` cannot be used, as one line that never shows its password; None when it can
    be, as far as can be told without connecting (unparsable, unknown database or driver)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError

    from engine.engine import normalise_url

    try:
        create_engine(normalise_url(url)).dispose()  # loads the dialect and driver; no connection
    except (ArgumentError, ValueError, ImportError) as error:
        detail = str(error)
        found = re.match(r"[^:/?#]+://[^:@/?#]*:([^@/?#]*)@", url)
        if found and found.group(1) and found.group(1) in detail:
            # The library quoted a part of the URL that holds its password: say less.
            detail = "check the host and port, and percent-encode the password"
        if isinstance(error, ImportError):
            return f"invalid {name}: its database driver is not installed ({detail})"
        if isinstance(error, ArgumentError):
            return f"invalid {name}: {detail}"
        return f"invalid {name}: it cannot be parsed ({detail})"
    return None


def load_settings(**overrides: object) -> Settings:
    """Reads the environment; raises ``ConfigError`` listing every problem at once: each invalid
    setting, and the settings that make no sense together (which pydantic checks only once every
    field is valid, so they are checked here again)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            where = item.get("loc") or ()
            if not where:
                continue  # the cross-field check: listed below, one problem per line
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(
                f"{where[0]}: {message}"
                if "PAUSEBOT" not in message and "SLACK" not in message
                else message
            )
    given = {k: v for k, v in overrides.items() if k in _SlackPresence.model_fields}
    problems.extend(slack_problems(_SlackPresence(**given)))  # type: ignore[arg-type]
    raise ConfigError(problems)
