"""Functions (``now()``, ``uuid()``, ``render()``, ``printContext()``, ...)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2.runtime import Context
from jinja2.utils import pass_context

from engine.expressions.data_filters import _from_yaml
from engine.expressions.dates import (
    _format_datetime,
    _zone,
)
from engine.expressions.dialect import (
    ENVIRONMENT,
    _require,
)
from engine.expressions.filters import _f_from_json
from engine.expressions.limits import (
    _MAX_RENDER_DEPTH,
    _MAX_REPEAT,
    _MAX_SEQUENCE,
    _FilterError,
    _render_depth,
)
from engine.expressions.printing import (
    has_expression,
    to_json,
)
from engine.expressions.rendering import render

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------


def _fn_now(format: str = "iso", timeZone: str | None = None, locale: str | None = None) -> str:
    zone = _zone(timeZone)
    return _format_datetime(datetime.now(UTC), format, zone)


def _fn_uuid() -> str:
    return str(uuid.uuid4())


@pass_context
def _fn_render(context: Context, value: Any, recursive: bool = True) -> Any:
    """``render(vars.x)``: variables are not rendered recursively, so this renders them."""
    if not isinstance(_require(value), str):
        return value
    depth = _render_depth.get()
    if depth >= _MAX_RENDER_DEPTH:
        raise _FilterError(f"render() is nested more than {_MAX_RENDER_DEPTH} levels deep")
    token = _render_depth.set(depth + 1)
    try:
        variables = context.get_all()
        result = render(value, variables)
        for _ in range(_MAX_REPEAT if recursive else 0):
            if not has_expression(result):
                break
            again = render(result, variables)
            if again == result:
                break
            result = again
        return result
    finally:
        _render_depth.reset(token)


KV_READER = "__kv__"  # the context key under which the engine puts its KV reader
FILE_READER = "__files__"  # ... and its reader of kestra:/// files


def _read_stored(context: Context, uri: Any) -> str:
    """``read('kestra:///…')``: a file of the internal storage, as text."""
    reader = context.get(FILE_READER)
    if reader is None:
        raise _FilterError("read() is not available here (no file storage)")
    return reader("read", str(_require(uri)))  # type: ignore[no-any-return]


def _stored_size(context: Context, uri: Any) -> int:
    """``fileSize('kestra:///…')``: its size in bytes."""
    reader = context.get(FILE_READER)
    if reader is None:
        raise _FilterError("fileSize() is not available here (no file storage)")
    return reader("size", str(_require(uri)))  # type: ignore[no-any-return]


@pass_context
def _fn_kv(context: Context, key: Any, namespace: Any = None, errorOnMissing: bool = True) -> Any:
    """``kv('KEY')``, ``kv('KEY', 'other.namespace', false)``: a value of the KV store.
    A missing (or expired) key is an error unless ``errorOnMissing`` is false (then null)."""
    reader = context.get(KV_READER)
    if reader is None:
        raise _FilterError("kv() is not available here (no KV store)")
    if namespace is None:
        namespace = (context.get("flow") or {}).get("namespace")
    return reader(str(_require(key)), str(namespace), bool(errorOnMissing))


@pass_context
def _fn_print_context(context: Context) -> str:
    shared = context.environment.globals
    variables = {
        key: value
        for key, value in context.get_all().items()
        if not (key in shared and shared[key] is value)
        and not key.startswith("__")
        and key != ERROR_LOGS_KEY
    }
    return to_json(variables)


ERROR_LOGS_KEY = "_pausebot_error_logs"  # set by the engine in a runnable task's context


def _fn_secret(key: Any = None) -> str:
    """Kestra OSS: the environment variable ``SECRET_<key>``, base64-decoded."""
    from engine.secret_values import SecretError, read_secret

    if not isinstance(_require(key), str) or not key:
        raise _FilterError("secret() expects the secret's name, e.g. secret('GITHUB_TOKEN')")
    try:
        return read_secret(key)
    except SecretError as error:
        raise _FilterError(str(error)) from None


def _namespace_file(context: Context, path: Any, function: str) -> Path:
    from engine.namespace_files import ENV_VAR, namespace_root

    path = _require(path)
    if not isinstance(path, str) or not path:
        raise _FilterError(f"{function}() expects a namespace file path")
    if path.startswith("kestra://"):
        raise _FilterError(
            f"{function}('{path}'): internal-storage files are not readable from expressions here"
        )
    flow = context.get("flow")
    namespace = flow.get("namespace") if isinstance(flow, dict) else None
    root = namespace_root(namespace) if isinstance(namespace, str) else None
    if root is None:
        raise _FilterError(
            f"{function}('{path}'): no namespace files directory is configured ({ENV_VAR})"
        )
    file = (root / path.lstrip("/")).resolve()
    if not file.is_relative_to(root):
        raise _FilterError(f"{function}('{path}'): the path leaves the namespace's files")
    if not file.is_file():
        raise _FilterError(f"{function}('{path}'): no such file in namespace '{namespace}'")
    return file


@pass_context
def _fn_read(context: Context, path: Any = None) -> str:
    """``read('sub/file.txt')``: a namespace file of the flow's namespace, as text;
    ``read('kestra:///…')``: a file of the internal storage."""
    if isinstance(path, str) and path.startswith("kestra://"):
        return _read_stored(context, path)
    file = _namespace_file(context, path, "read")
    if file.stat().st_size > _MAX_SEQUENCE:
        raise _FilterError(f"read('{path}'): the file is larger than {_MAX_SEQUENCE:,} bytes")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _FilterError(f"read('{path}'): the file is not UTF-8 text") from None


@pass_context
def _fn_file_size(context: Context, path: Any = None) -> int:
    if isinstance(path, str) and path.startswith("kestra://"):
        return _stored_size(context, path)
    return _namespace_file(context, path, "fileSize").stat().st_size


@pass_context
def _fn_file_exists(context: Context, path: Any = None) -> bool:
    try:
        _namespace_file(context, path, "fileExists")
    except _FilterError:
        return False
    return True


@pass_context
def _fn_is_file_empty(context: Context, path: Any = None) -> bool:
    return _namespace_file(context, path, "isFileEmpty").stat().st_size == 0


@pass_context
def _fn_error_logs(context: Context) -> list[dict[str, Any]]:
    """The execution's ERROR log lines so far (Kestra: only where a task runs, not in the
    executor)."""
    reader = context.get(ERROR_LOGS_KEY)
    if not callable(reader):
        raise _FilterError(
            "the 'errorLogs' function can only be used in a runnable task (it reads the logs)"
        )
    return list(reader())


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value != int(value):
        raise _FilterError(f"randomInt() expects whole numbers, got {what} = {value!r}")
    return int(value)


def _fn_random_int(lower: Any = None, upper: Any = None) -> int:
    """``randomInt(lower, upper)``: from ``lower`` included to ``upper`` excluded."""
    low, high = _whole(_require(lower), "lower"), _whole(_require(upper), "upper")
    if high < low:
        raise _FilterError("randomInt(): upper is less than lower")
    return low if high == low else random.randrange(low, high)


def _extreme(pick: Any, name: str) -> Any:
    def function(*values: Any) -> Any:
        items = [_require(value) for value in values]
        if not items:
            raise _FilterError(f"{name}() expects at least one value")
        try:
            return pick(items)
        except TypeError:
            raise _FilterError(f"{name}(): the values cannot be compared") from None

    function.__name__ = name
    return function


def _fn_is_in(value: Any = None, values: Any = None) -> bool:
    """``isIn(execution.state, ['SUCCESS', 'WARNING'])`` (also written ``x isIn [...]``)."""
    values = _require(values)
    if not isinstance(values, (list, tuple, set, dict, str)):
        raise _FilterError("isIn() expects a list to look in")
    return _require(value) in values


ENVIRONMENT.globals.update(
    {
        "secret": _fn_secret,
        "read": _fn_read,
        "fileSize": _fn_file_size,
        "fileExists": _fn_file_exists,
        "isFileEmpty": _fn_is_file_empty,
        "errorLogs": _fn_error_logs,
        "randomInt": _fn_random_int,
        "max": _extreme(max, "max"),
        "min": _extreme(min, "min"),
        "isIn": _fn_is_in,
        "yaml": _from_yaml,
        "fromYaml": _from_yaml,
        "now": _fn_now,
        "json": _f_from_json,
        "fromJson": _f_from_json,
        "uuid": _fn_uuid,
        "render": _fn_render,
        "printContext": _fn_print_context,
        "kv": _fn_kv,
    }
)
del ENVIRONMENT.globals["lipsum"]  # lipsum(10**6) writes a million paragraphs
