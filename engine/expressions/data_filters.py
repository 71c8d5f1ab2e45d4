"""Kestra's data filters and tests: ``jq`` (the ``jq`` library, jq 1.x semantics), ``yaml``,
``base64encode``/``base64decode``, ``sha1``/``sha256``/``sha512``/``md5``, ``numberFormat``
(Java ``DecimalFormat`` patterns), ``escapeChar``, ``chunk``, ``merge``, ``slice``, and the
``json`` and ``map`` tests. Registered on import; each filter is bounded like the others."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import jq as jq_library
import yaml

from engine.expressions.dialect import ENVIRONMENT, _require
from engine.expressions.filters import _guard_filter
from engine.expressions.limits import _MAX_SEQUENCE, _as_int, _FilterError
from engine.expressions.printing import to_json, to_text

_MAX_JQ_RESULTS = 10_000


def _jsonable(value: Any) -> Any:
    """The value as JSON sees it (dates as ISO text), for jq and YAML."""
    return json.loads(to_json(value))


def _f_jq(value: Any, expression: Any = None) -> list[Any] | None:
    """``value | jq('.a[0]')``: every result of the program, always as a list (Kestra's)."""
    value = _require(value)
    if value is None:
        return None
    if not isinstance(expression, str):
        raise _FilterError("the 'jq' filter expects an argument 'expression'")
    try:
        program = jq_library.compile(expression)
    except ValueError as error:
        raise _FilterError(f"invalid jq expression '{expression}': {error}") from None
    try:
        data = json.loads(value) if isinstance(value, str) else _jsonable(value)
    except json.JSONDecodeError as error:
        raise _FilterError(f"the 'jq' filter needs JSON text or a value: {error.msg}") from None
    results: list[Any] = []
    try:
        for item in program.input_value(data):
            results.append(item)
            if len(results) > _MAX_JQ_RESULTS:
                raise _FilterError(f"jq '{expression}' gave more than {_MAX_JQ_RESULTS:,} results")
    except ValueError as error:
        raise _FilterError(f"jq '{expression}' failed: {error}") from None
    return results


class _KestraYamlDumper(yaml.SafeDumper):
    """Jackson's YAML writer as Kestra configures it: block style, arrays indented."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _f_yaml(value: Any) -> str:
    """``value | yaml``: the value as YAML text (Kestra: no ``---``, minimal quotes)."""
    value = _require(value)
    if value is None:
        return "null"
    return yaml.dump(
        _jsonable(value),
        Dumper=_KestraYamlDumper,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        width=2**31 - 1,
    )


def _from_yaml(value: Any) -> Any:
    """``yaml('a: 1')`` / ``'a: 1' | fromYaml``: YAML text read as Kestra reads flows."""
    from engine.flows.yaml_reader import load_yaml  # engine.flows imports the expressions

    value = _require(value)
    if value is None:
        return None
    try:
        return load_yaml(to_text(value))
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or "syntax error"
        raise _FilterError(f"invalid YAML: {problem}") from None


def _f_base64encode(value: Any) -> str | None:
    value = _require(value)
    if value is None:
        return None
    return base64.b64encode(to_text(value).encode("utf-8")).decode("ascii")


def _f_base64decode(value: Any) -> str | None:
    value = _require(value)
    if value is None:
        return None
    try:
        return base64.b64decode(to_text(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _FilterError("base64decode: the value is not base64 of UTF-8 text") from None


def _digest(algorithm: str) -> Callable[[Any], str | None]:
    def digest(value: Any) -> str | None:
        value = _require(value)
        if value is None:
            return None
        return hashlib.new(algorithm, to_text(value).encode("utf-8")).hexdigest()

    return digest


_PATTERN = re.compile(r"^(?P<prefix>[^#0,.%]*)(?P<number>[#0,]*(?:\.[#0]*)?)(?P<suffix>.*)$")


def _f_number_format(value: Any, format: Any = "#,##0.###") -> str | None:
    """Java ``DecimalFormat`` patterns: ``#`` optional digit, ``0`` required digit, ``,``
    grouping, ``.`` decimals, ``%`` (in the suffix) per cent; rounding half-even, as Java."""
    value = _require(value)
    if value is None:
        return None
    match = _PATTERN.match(str(format))
    if match is None or not match["number"]:
        raise _FilterError(f"numberFormat: unsupported pattern '{format}'")
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise _FilterError(f"numberFormat: '{to_text(value)}' is not a number") from None
    if not number.is_finite():
        return "∞" if number > 0 else "-∞" if number < 0 else "NaN"
    prefix, pattern, suffix = match["prefix"], match["number"], match["suffix"]
    if "%" in suffix or "%" in prefix:
        number *= 100
    whole, _, fraction = pattern.partition(".")
    min_fraction, max_fraction = fraction.count("0"), len(fraction)
    digits = whole.replace(",", "")
    min_whole = digits.count("0")
    group = len(whole) - whole.rfind(",") - 1 if "," in whole else 0
    rounded = number.quantize(Decimal(1).scaleb(-max_fraction), rounding=ROUND_HALF_EVEN)
    sign = "-" if rounded < 0 else ""
    text = f"{abs(rounded):f}"
    int_part, _, frac_part = text.partition(".")
    frac_part = frac_part.rstrip("0")
    frac_part += "0" * (min_fraction - len(frac_part))
    int_part = int_part.lstrip("0").rjust(min_whole, "0")
    if group:
        groups: list[str] = []
        while len(int_part) > group:
            groups.insert(0, int_part[-group:])
            int_part = int_part[:-group]
        int_part = ",".join([int_part, *groups]) if int_part else ",".join(groups)
    body = int_part + ("." + frac_part if frac_part else "")
    if not body:
        body = "0"
    return f"{sign}{prefix}{body}{suffix}"


_ESCAPES = {"single": ("'", "\\'"), "double": ('"', '\\"'), "shell": ("'", "'\\''")}


def _f_escape_char(value: Any, type: Any = None) -> Any:
    """``escapeChar('single'|'double'|'shell')``, on text, lists and maps (Kestra's)."""
    value = _require(value)
    if value is None:
        return None
    if not isinstance(type, str):
        raise _FilterError("the 'escapeChar' filter expects an argument 'type'")
    if type.lower() not in _ESCAPES:
        raise _FilterError(
            "the 'escapeChar' filter expects the value of 'type' to be either 'single', "
            "'double', or 'shell'"
        )
    original, replacement = _ESCAPES[type.lower()]

    def escape(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {key: escape(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [escape(inner) for inner in item]
        return to_text(item).replace(original, replacement)

    return escape(value)


def _f_chunk(value: Any, size: Any = None) -> list[list[Any]] | None:
    value = _require(value)
    if value is None:
        return None
    if not isinstance(value, list):
        raise _FilterError("'chunk' filter can only be applied to a list")
    if not isinstance(size, (int, float, Decimal)) or isinstance(size, bool):
        raise _FilterError("'chunk' filter argument 'size' must be a number")
    step = _as_int(size, "chunk")
    if step < 1:
        raise _FilterError("'chunk' filter argument 'size' must be at least 1")
    return [value[index : index + step] for index in range(0, len(value), step)]


def _f_merge(value: Any, items: Any = None) -> Any:
    """Pebble's ``merge``: a list followed by the other list's items, or a map updated by the
    other map."""
    value, items = _require(value), _require(items)
    if isinstance(value, Mapping) and isinstance(items, Mapping):
        return {**value, **items}
    if isinstance(value, (list, tuple)) and isinstance(items, (list, tuple)):
        return [*value, *items]
    if isinstance(value, (list, tuple)) and items is not None:
        return [*value, items]
    raise _FilterError("the 'merge' filter merges a list with a list, or a map with a map")


def _f_slice(value: Any, fromIndex: Any = 0, toIndex: Any = None) -> Any:
    """Pebble's ``slice(fromIndex, toIndex)`` of a list or text, ``toIndex`` excluded."""
    value = _require(value)
    if value is None:
        return None
    if not isinstance(value, (str, list, tuple)):
        raise _FilterError("the 'slice' filter applies to a list or text")
    start = _as_int(fromIndex, "slice")
    end = len(value) if toIndex is None else _as_int(toIndex, "slice")
    if start < 0:
        raise _FilterError(f"slice: fromIndex must be 0 or more, got {start}")
    if end > len(value):
        raise _FilterError(f"slice: toIndex must be at most the length {len(value)}, got {end}")
    if start > end:
        raise _FilterError(f"slice: fromIndex {start} is after toIndex {end}")
    return value[start:end] if isinstance(value, str) else list(value[start:end])


def _t_json(value: Any) -> bool:
    """``x is json``: a map, a list, or text that parses as JSON."""
    if isinstance(value, (Mapping, list)):
        return True
    if not isinstance(value, str) or len(value) > _MAX_SEQUENCE:
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


_FILTERS: dict[str, Callable[..., Any]] = {
    "jq": _f_jq,
    "yaml": _f_yaml,
    "fromYaml": _from_yaml,
    "base64encode": _f_base64encode,
    "base64decode": _f_base64decode,
    "md5": _digest("md5"),
    "sha1": _digest("sha1"),
    "sha256": _digest("sha256"),
    "sha512": _digest("sha512"),
    "numberFormat": _f_number_format,
    "escapeChar": _f_escape_char,
    "chunk": _f_chunk,
    "merge": _f_merge,
    "slice": _f_slice,
}
ENVIRONMENT.filters.update({name: _guard_filter(name, f) for name, f in _FILTERS.items()})
ENVIRONMENT.tests.update({"json": _t_json, "map": lambda value: isinstance(value, Mapping)})
