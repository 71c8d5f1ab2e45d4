"""Secrets as Kestra OSS reads them: ``secret('GITHUB_TOKEN')`` is the environment variable
``SECRET_GITHUB_TOKEN``, whose value is base64-encoded. Every decoded secret value is masked
(``******``) wherever pausebot writes a log line or shows an execution's outputs."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "SECRET_"
MASK = "******"


class SecretError(ValueError):
    """A secret that is missing or not valid base64; the message names it, never its value."""


def read_secret(name: str, environ: Mapping[str, str] = os.environ) -> str:
    key = SECRET_PREFIX + name
    if key not in environ:
        raise SecretError(
            f"cannot find secret '{name}': set the environment variable {key} "
            "(its value base64-encoded)"
        )
    try:
        return base64.b64decode(environ[key], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SecretError(
            f"secret '{name}' is not valid base64 of UTF-8 text (environment variable {key})"
        ) from None


def secret_values(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Every readable secret's value, longest first (so a secret containing another is masked
    whole)."""
    values = set()
    for key in environ:
        if key.startswith(SECRET_PREFIX) and len(key) > len(SECRET_PREFIX):
            try:
                value = read_secret(key[len(SECRET_PREFIX) :], environ)
            except SecretError:
                continue
            if value:
                values.add(value)
    return sorted(values, key=len, reverse=True)


def mask_secrets(text: str, values: list[str] | None = None) -> str:
    for value in secret_values() if values is None else values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def mask_secrets_in(value: Any, values: list[str]) -> Any:
    """A copy of ``value`` (JSON-like) with every secret inside its strings masked."""
    if not values:
        return value
    if isinstance(value, str):
        return mask_secrets(value, values)
    if isinstance(value, dict):
        return {key: mask_secrets_in(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets_in(item, values) for item in value]
    return value
