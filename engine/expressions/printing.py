"""Printing values the Kestra way: null as "", lowercase booleans, compact JSON, Java doubles."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, MappingView
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, cast

from jinja2.runtime import Undefined
from jinja2.utils import Namespace

from engine.expressions.limits import (
    _MAX_DECIMAL_DIGITS,
    _MAX_OUTPUT,
    _LimitExceeded,
    _spend,
)

_FALSY = frozenset({"false", "0", "-0", ""})


def to_text(value: Any) -> str:
    """Stringify like Kestra prints: null -> "", booleans lowercase, maps/lists as compact JSON,
    floats like Java's ``Double.toString`` (``1.0``, ``1.0E10``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, (Mapping, list, tuple, set, frozenset, MappingView, Namespace)):
        return to_json(value)  # never str(): Python's repr of aliased containers is unbounded
    if isinstance(value, (datetime, date, time)):
        return _iso(value)
    return str(value)  # an Undefined raises here


def to_json(value: Any) -> str:
    """Compact JSON (no spaces, like Jackson), unicode kept as is.

    At most ``_MAX_OUTPUT`` characters: a list holding the same long string a thousand times is
    small in memory but huge once printed. Values surely below the limit are encoded in one go;
    others piece by piece, counting."""
    if _surely_short(value):
        text = _JSON.encode(value)
    else:
        pieces: list[str] = []
        length = 0
        for piece in _JSON.iterencode(value):
            length += len(piece)
            if length > _MAX_OUTPUT:
                raise _LimitExceeded(f"the printed value is larger than {_MAX_OUTPUT:,} characters")
            pieces.append(piece)
        text = "".join(pieces)
    _spend().charge(len(text))
    return text


def _surely_short(value: Any) -> bool:
    """A cheap upper bound of the JSON length of plain JSON types (anything else: False)."""
    left = _MAX_OUTPUT
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            left -= 6 * len(item) + 2  # control characters are escaped as \u0000
        elif kind is dict:
            left -= 2 + 2 * len(item)
            for key, member in item.items():
                stack.append(key)
                stack.append(member)
        elif kind is list or kind is tuple:
            left -= 2 + len(item)
            stack.extend(item)
        elif kind is int:
            left -= item.bit_length() // 3 + 2
        elif kind is float or kind is bool or item is None:
            left -= 24
        else:
            return False  # dates, Decimals, sets, other objects: see _json_default
        if left < 0:
            return False
    return True


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return _iso(value)
    if isinstance(value, Decimal):
        small = value.is_finite() and value.adjusted() <= _MAX_DECIMAL_DIGITS
        if small and value == value.to_integral_value():
            return int(value)
        return float(value)  # int() of 1E+999999 would take seconds
    if isinstance(value, (set, frozenset, MappingView)):
        return list(cast(Iterable[Any], value))
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Namespace):
        attributes = getattr(value, "_Namespace__attrs", None)
        return dict(attributes) if isinstance(attributes, dict) else type(value).__name__
    return str(value)  # an Undefined raises here


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _iso(value: datetime | date | time) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _java_double(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's shortest repr matches Java in this range
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = cast(int, exponent) + len(digits) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def is_truthy(text: str) -> bool:
    """Kestra's condition truthiness for an already rendered string."""
    return text.strip() not in _FALSY


def has_expression(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


_SCALARS = (str, int, float, Decimal, date, time, type(None), Undefined)


def _printable(value: Any) -> Any:
    """Containers (and other objects) print the Kestra way, never as Python's unbounded repr."""
    return value if isinstance(value, _SCALARS) else to_text(value)
