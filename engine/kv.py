"""The KV store with Kestra's rules: keys per namespace, typed values (``kvType``), an optional
TTL after which a key reads as missing, and ``overwrite: false`` refusing to replace a live key.
Used by the ``io.kestra.plugin.core.kv.*`` tasks and by the ``kv()`` expression function; the rows
live in the database (``kv_entries``), so every replica sees the same values.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.clock import Clock, iso
from engine.errors import TaskFailure
from engine.inputs import parse_duration
from engine.store.store import KVRecord, Store

KEY_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
KV_TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")


class KVError(TaskFailure):
    """A KV operation that cannot be done (bad key, missing key, key exists): fails the task."""


def check_key(key: str) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.match(key) or len(key) > 255:
        raise KVError(
            f"Key {key!r} is invalid: a key starts with a letter or digit and contains only "
            "letters, digits, dots (.), underscores (_) and hyphens (-), at most 255 characters."
        )
    return key


def typed_value(value: Any, kv_type: str | None) -> tuple[Any, str]:
    """The value to store and its type, as Kestra's kv.Set converts a rendered string."""
    if kv_type is None:
        return value, _infer_type(value)
    kind = str(kv_type).strip().upper()
    if kind not in KV_TYPES:
        raise KVError(f"kvType must be one of {', '.join(KV_TYPES)}, got {kv_type!r}")
    if not isinstance(value, str):
        return value, kind
    text = value.strip()
    try:
        if kind == "NUMBER":
            try:
                return int(text), kind
            except ValueError:
                return float(Decimal(text)), kind
        if kind == "BOOLEAN":
            return text.lower() == "true", kind
        if kind == "DATETIME":
            return _instant(text), kind
        if kind == "DATE":
            try:
                return date.fromisoformat(text).isoformat(), kind
            except ValueError:
                return _instant(text), kind
        if kind == "DURATION":
            parse_duration(text)
            return text, kind
        if kind == "JSON":
            return json.loads(text), kind
    except (ValueError, InvalidOperation) as error:
        raise KVError(f"Value {value!r} is not a valid {kind}: {error}") from None
    return value, kind


def _instant(text: str) -> str | None:
    moment = datetime.fromisoformat(text)
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _infer_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, (int, float)):
        return "NUMBER"
    if isinstance(value, (dict, list)):
        return "JSON"
    return "STRING"


class KVStore:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def set(
        self,
        namespace: str,
        key: str,
        value: Any,
        *,
        kv_type: str | None = None,
        ttl: str | timedelta | None = None,
        overwrite: bool = True,
        description: str | None = None,
    ) -> None:
        check_key(key)
        stored, kind = typed_value(value, kv_type)
        now = self.clock.now()
        expires_at = None
        if ttl is not None and ttl != "":
            try:
                duration = ttl if isinstance(ttl, timedelta) else parse_duration(str(ttl))
            except ValueError as error:
                raise KVError(f"ttl: {error}") from None
            if duration <= timedelta(0):
                raise KVError(f"ttl must be a positive duration, got {ttl!r}")
            expires_at = now + duration
        written = self.store.kv_put(
            namespace,
            key,
            stored,
            kind,
            description=description,
            expires_at=expires_at,
            overwrite=overwrite,
            now=now,
        )
        if not written:
            raise KVError(
                f"Cannot set value for key '{key}' in namespace '{namespace}': the key already "
                "exists and `overwrite` is set to `false`."
            )

    def entry(self, namespace: str, key: str) -> KVRecord | None:
        check_key(key)
        return self.store.kv_get(namespace, key, self.clock.now())

    def get(self, namespace: str, key: str, *, error_on_missing: bool = False) -> Any:
        record = self.entry(namespace, key)
        if record is None:
            if error_on_missing:
                raise KVError(missing_message(namespace, key))
            return None
        return record.value

    def delete(self, namespace: str, key: str) -> bool:
        check_key(key)
        return self.store.kv_delete(namespace, key, self.clock.now())

    def keys(self, namespace: str, prefix: str | None = None) -> list[str]:
        return [r.key for r in self.store.kv_list(namespace, self.clock.now(), prefix)]


def missing_message(namespace: str, key: str) -> str:
    return f"No value found for key '{key}' in namespace '{namespace}' and `errorOnMissing` is set to true"
