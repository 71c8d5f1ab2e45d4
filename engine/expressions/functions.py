"""Functions (``now()``, ``uuid()``, ``render()``, ``printContext()``, ...)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from jinja2.runtime import Context
from jinja2.utils import pass_context

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


@pass_context
def _fn_read(context: Context, uri: Any) -> str:
    """``read('kestra:///…')``: a file of the internal storage, as text."""
    reader = context.get(FILE_READER)
    if reader is None:
        raise _FilterError("read() is not available here (no file storage)")
    return reader("read", str(_require(uri)))  # type: ignore[no-any-return]


@pass_context
def _fn_file_size(context: Context, uri: Any) -> int:
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
        if not (key in shared and shared[key] is value) and not key.startswith("__")
    }
    return to_json(variables)


ENVIRONMENT.globals.update(
    {
        "now": _fn_now,
        "json": _f_from_json,
        "fromJson": _f_from_json,
        "uuid": _fn_uuid,
        "render": _fn_render,
        "printContext": _fn_print_context,
        "kv": _fn_kv,
        "read": _fn_read,
        "fileSize": _fn_file_size,
    }
)
del ENVIRONMENT.globals["lipsum"]  # lipsum(10**6) writes a million paragraphs
