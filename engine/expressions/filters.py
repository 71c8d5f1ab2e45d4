"""Filters with Pebble/Kestra names and semantics, each bounded by the render's limits."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from jinja2 import filters as jinja_filters
from jinja2.environment import Environment
from jinja2.exceptions import FilterArgumentError
from jinja2.runtime import Undefined
from jinja2.utils import pass_environment
from markupsafe import Markup

from engine.expressions.dates import (
    _EPOCH,
    _format_datetime,
    _plus,
    _to_datetime,
    _zone,
)
from engine.expressions.dialect import (
    ENVIRONMENT,
    _require,
)
from engine.expressions.limits import (
    _MAX_SEQUENCE,
    _as_int,
    _check_length,
    _check_width,
    _checked,
    _counted,
    _FilterError,
    _is_int,
    _spend,
)
from engine.expressions.printing import (
    _printable,
    to_json,
    to_text,
)

# ---------------------------------------------------------------------------------------------
# Filters (Pebble/Kestra names and semantics)
# ---------------------------------------------------------------------------------------------


def _f_date(
    value: Any,
    format: str = "iso",
    timeZone: str | None = None,
    existingFormat: str | None = None,
    locale: str | None = None,  # accepted for compatibility; names are always English
) -> str | None:
    if value is None:
        return None
    zone = _zone(timeZone)
    return _format_datetime(_to_datetime(value, zone, existingFormat), format, zone)


def _f_date_add(
    value: Any,
    amount: Any,
    unit: str,
    format: str = "iso",
    timeZone: str | None = None,
    existingFormat: str | None = None,
    locale: str | None = None,
) -> str | None:
    if value is None:
        return None
    try:
        count = _as_int(amount, "dateAdd")
    except (TypeError, ValueError):
        raise _FilterError(f"dateAdd: amount must be an integer, got {amount!r}") from None
    if count != amount and not isinstance(amount, str):
        raise _FilterError(f"dateAdd: amount must be an integer, got {amount!r}")
    zone = _zone(timeZone)
    moment = _plus(_to_datetime(value, zone, existingFormat), count, str(unit).upper())
    return _format_datetime(moment, format, zone)


def _timestamp_filter(unit: timedelta, scale: int = 1) -> Callable[..., int | None]:
    def apply(
        value: Any, timeZone: str | None = None, existingFormat: str | None = None
    ) -> int | None:
        if value is None:
            return None
        moment = _to_datetime(value, _zone(timeZone), existingFormat)
        return (moment - _EPOCH) // unit * scale

    return apply


def _f_from_json(value: Any) -> Any:
    _require(value)
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    if not isinstance(value, str):
        return value  # already structured (or null)
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise _FilterError(f"fromJson: invalid JSON ({error})") from None


def _f_to_json(value: Any) -> str:
    return to_json(_require(value))


def _is_empty(value: Any) -> bool:
    """Pebble's ``empty``: null, blank string, empty collection or map."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, Sized) and len(value) == 0


def _f_default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    if isinstance(value, Undefined) or _is_empty(value) or (boolean and not value):
        return default_value
    return value


def _text_filter(transform: Callable[[str], str]) -> Callable[[Any], str | None]:
    def apply(value: Any) -> str | None:
        return None if value is None else transform(to_text(value))

    return apply


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]  # Pebble leaves the rest alone (Jinja lowercases it)


def _title(text: str) -> str:
    out, start = [], True
    for char in text:
        out.append(char.upper() if start else char)
        start = char.isspace()
    return "".join(out)


_JAVA_TRIM = "".join(chr(code) for code in range(33))  # String.trim(): chars <= ' '


def _f_length(value: Any) -> int:
    _require(value)
    if value is None:
        return 0
    if isinstance(value, Sized):
        return len(value)
    return len(to_text(value))


def _f_keys(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(_require(value), Mapping):
        raise _FilterError(f"keys: expected a map, got {type(value).__name__}")
    return list(value.keys())


def _f_values(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(_require(value), Mapping):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _FilterError(f"values: expected a map, got {type(value).__name__}")


def _f_first(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(_require(value), Sequence):
        return value[0] if len(value) else None
    return next(iter(value), None)


def _f_last(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(_require(value), Sequence):
        return value[-1] if len(value) else None
    items = list(value)
    return items[-1] if items else None


def _f_join(value: Any, separator: str = "") -> str | None:
    if value is None:
        return None
    if isinstance(_require(value), str):
        return value
    glue = to_text(separator)
    texts = [to_text(item) for item in _counted(iter(value), _spend())]
    length = sum(map(len, texts)) + len(glue) * max(len(texts) - 1, 0)
    _check_length(length, "join", texts)  # a list of 1000 references to one long string
    return glue.join(texts)


def _f_split(value: Any, delimiter: str, limit: int | None = None) -> list[str] | None:
    if value is None:
        return None
    text = to_text(value)
    if limit is not None and limit > 0:
        return text.split(delimiter, limit - 1)
    parts = text.split(delimiter)
    if limit is None or limit == 0:  # Java's String.split drops trailing empty strings
        while parts and not parts[-1]:
            parts.pop()
    return parts


def _java_replacement(replacement: str) -> str:
    """Java regex replacement (``$1``, ``${name}``, ``\\$``) -> Python ``re.sub`` template."""
    out, index = [], 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\" and index + 1 < len(replacement):
            out.append(replacement[index + 1].replace("\\", "\\\\"))
            index += 2
            continue
        group = re.match(r"\$(?:(\d+)|\{(\w+)\})", replacement[index:])
        if group:
            out.append(f"\\g<{group.group(1) or group.group(2)}>")
            index += group.end()
            continue
        out.append("\\\\" if char == "\\" else char)
        index += 1
    return "".join(out)


def _replace_in(value: Any, pairs: list[tuple[str, str]], regexp: bool) -> Any:
    # Kestra's replace walks maps and lists, replacing inside every leaf.
    if isinstance(value, Mapping):
        return {key: _replace_in(item, pairs, regexp) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_in(item, pairs, regexp) for item in value]
    text = to_text(value)
    for old, new in pairs:
        if regexp:
            pattern = re.sub(r"\(\?<(?=[A-Za-z])", "(?P<", old)  # Java named groups
            text = _regex_replace(text, pattern, _java_replacement(new))
        else:
            text = _replace_text(text, old, new)
    return text


def _replace_text(text: str, old: str, new: str, count: int = -1) -> str:
    hits = text.count(old) if old else len(text) + 1
    if count >= 0:
        hits = min(hits, count)
    _check_length(len(text) + hits * (len(new) - len(old)), "replace", (text,))
    _spend().charge(len(text))
    return text.replace(old, new, count)


def _regex_replace(text: str, pattern: str, template: str) -> str:
    """``re.sub``, with the result bounded as it grows (an empty pattern matches everywhere)."""
    budget, growth = _spend(), 0

    def expand(match: re.Match[str]) -> str:
        nonlocal growth
        budget.step()
        piece = match.expand(template)
        growth += len(piece) - (match.end() - match.start())
        _check_length(len(text) + growth, "replace", (text,))
        return piece

    return re.sub(pattern, expand, text)


def _f_replace(value: Any, pairs: Any, *args: Any, regexp: bool = False) -> Any:
    """Pebble: ``replace({'old': 'new'}, regexp=false)``; Jinja: ``replace('old', 'new'[, n])``."""
    if value is None:
        return None
    _require(value)
    if isinstance(pairs, Mapping):
        if args:
            regexp = bool(args[0])
        items = [(to_text(old), to_text(new)) for old, new in pairs.items()]
        return _replace_in(value, items, regexp)
    if not args:
        raise _FilterError("replace: expected a map of {'old': 'new'} pairs or two strings")
    count = _as_int(args[1], "replace") if len(args) > 1 else -1
    return _replace_text(to_text(value), to_text(pairs), to_text(args[0]), count)


def _slugify(text: str) -> str:
    text = re.sub(r"\s", "-", text)
    text = unicodedata.normalize("NFD", text)
    text = re.sub(r"[^A-Za-z0-9_-]", "", text).lower()
    return re.sub(r"-{2,}", "-", text).strip("-")


def _substring_filter(
    finder: Callable[[str, str], str],
) -> Callable[[Any, str], str | None]:
    def apply(value: Any, separator: str) -> str | None:
        return None if value is None else finder(to_text(value), to_text(separator))

    return apply


# Apache StringUtils semantics, as Kestra uses them.
def _before(text: str, separator: str) -> str:
    return "" if not separator else text.partition(separator)[0]


def _after(text: str, separator: str) -> str:
    if not separator:
        return text
    _, found, tail = text.partition(separator)
    return tail if found else ""


def _before_last(text: str, separator: str) -> str:
    if not separator:
        return text
    head, found, _ = text.rpartition(separator)
    return head if found else text


def _after_last(text: str, separator: str) -> str:
    if not separator:
        return ""
    _, found, tail = text.rpartition(separator)
    return tail if found else ""


def _f_starts_with(value: Any, prefix: Any) -> bool:
    return value is not None and to_text(value).startswith(to_text(prefix))


def _f_ends_with(value: Any, suffix: Any) -> bool:
    return value is not None and to_text(value).endswith(to_text(suffix))


def _f_number(value: Any, type: str | None = None) -> int | float | Decimal | None:
    """Parse a string to a number; ``type``: INT, LONG, BIGINTEGER, FLOAT, DOUBLE, BIGDECIMAL."""
    if value is None:
        return None
    _require(value)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text, kind = to_text(value).strip(), (type or "").upper()
    try:
        if kind in ("INT", "LONG", "BIGINTEGER"):
            return _parse_int(text)
        if kind in ("FLOAT", "DOUBLE"):
            return float(text)
        if kind == "BIGDECIMAL":
            return Decimal(text)
        if kind:
            raise _FilterError(f"number: unknown type {type!r}")
        try:
            return _parse_int(text)
        except ValueError:
            return float(text)
    except (ValueError, ArithmeticError):
        raise _FilterError(f"number: cannot convert {text!r} to a number") from None


def _parse_int(text: str) -> int:
    if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", text):
        return int(text, 16)
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(text)
    return int(text)


def _f_urlencode(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(_require(value), Mapping):
        return "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in value.items())
    return _form_encode(value)


def _form_encode(value: Any) -> str:
    # java.net.URLEncoder: space -> '+', only `.-*_` left unescaped.
    return quote_plus(to_text(value), safe="*").replace("~", "%7E")


def _f_abbreviate(value: Any, length: int) -> str | None:
    if value is None:
        return None
    if length < 0:
        raise _FilterError("abbreviate: the length must not be negative")
    text = to_text(value)
    if len(text) <= length or len(text) <= 3:
        return text
    return text[:length] if length <= 3 else text[: length - 3] + "..."


# Jinja's own filters that pad, repeat or convert: bounded versions.


def _f_center(value: Any, width: int = 80) -> str:
    text = to_text(value)
    if _is_int(width):
        _check_length(width, "center", (text,))
    return text.center(width)


def _f_indent(value: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    prefix = len(width) if isinstance(width, str) else width if _is_int(width) else 0
    if prefix > 0:  # every line gets the prefix
        text = value if isinstance(value, str) else ""
        lines = len(text.splitlines()) + 1
        _check_length(len(text) + 1 + lines * prefix, "indent", (text,))
    return jinja_filters.do_indent(value, width, first, blank)


@pass_environment
def _f_wordwrap(
    environment: Environment,
    value: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    separator = environment.newline_sequence if wrapstring is None else wrapstring
    # Wrapped lines never contain "\n" (paragraphs are split on line breaks first), so wrap
    # with "\n", count the breaks, and only then insert a long wrapstring.
    wrapped = jinja_filters.do_wordwrap(
        environment, value, width, break_long_words, "\n", break_on_hyphens
    )
    breaks = wrapped.count("\n")
    _spend().step(breaks)
    if separator == "\n":
        return wrapped
    _check_length(len(wrapped) + breaks * (len(separator) - 1), "wordwrap", (value,))
    return wrapped.replace("\n", separator)


_PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[-#0 +]*)(?P<width>\*|\d*)"
    r"(?:\.(?P<precision>\*|\d*))?[hlL]?(?P<kind>.?)",
    re.DOTALL,
)


def _f_format(value: Any, *args: Any, **kwargs: Any) -> str:
    """printf-style ``'%s, %s!' | format(a, b)`` (Python's ``%``), converted one field at a time
    so widths and the result stay bounded; lists and maps print as JSON."""
    if args and kwargs:
        raise FilterArgumentError("can't handle positional and keyword arguments at the same time")
    text = to_text(value)
    markup = isinstance(text, Markup)
    positional: tuple[Any, ...] = (kwargs,) if kwargs else args  # `text % (kwargs or args)`
    inputs = (text, *args, *kwargs.values())
    used, position, length = 0, 0, 0
    out: list[str] = []

    def take() -> Any:
        nonlocal used
        if used >= len(positional):
            raise TypeError("not enough arguments for format string")
        used += 1
        return positional[used - 1]

    def star(number: str | None) -> str | None:
        if number != "*":
            return number
        given = take()
        if not _is_int(given):
            raise TypeError("* wanted int")
        return str(given)

    for match in _PRINTF.finditer(text):
        key, flags, width, precision, kind = match.group(
            "key", "flags", "width", "precision", "kind"
        )
        if not kind:
            raise ValueError("incomplete format")
        literal = text[position : match.start()]
        out.append(literal)
        position = match.end()
        width, precision = star(width), star(precision)
        for number in (width, precision):
            _check_width(number or "", "format")
        spec = f"%{flags}{width}" + (f".{precision}" if precision is not None else "") + kind
        arguments: tuple[Any, ...] = ()
        if kind != "%":
            if key is not None and not kwargs:
                raise TypeError("format requires a mapping")
            argument = _printable(kwargs[key] if key is not None else take())
            if kind in "diouxXc" and isinstance(argument, Decimal):
                _as_int(argument, "format")  # refuses Decimals too large to convert
            arguments = (argument,)
        piece = (Markup(spec) if markup else spec) % arguments
        out.append(piece)
        length += len(literal) + len(piece)
        _check_length(length, "format", inputs)
    if not kwargs and used < len(args):
        raise TypeError("not all arguments converted during string formatting")
    out.append(text[position:])
    return (Markup("") if markup else "").join(out)


def _f_batch(value: Any, linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    if fill_with is not None and _is_int(linecount):  # the last batch is filled up
        _check_length(linecount, "batch", unit="items")
    return jinja_filters.do_batch(value, linecount, fill_with)


@pass_environment
def _f_sum(
    environment: Environment,
    iterable: Iterable[Any],
    attribute: str | int | None = None,
    start: Any = 0,
) -> Any:
    if isinstance(start, str):
        raise TypeError("sum() can't sum strings [use ''.join(seq) instead]")
    values: Iterator[Any] = iter(iterable)
    if attribute is not None:
        values = map(jinja_filters.make_attrgetter(environment, attribute), values)
    budget, total = _spend(), start
    for value in values:
        budget.step()
        if isinstance(total, (list, tuple)) and isinstance(value, (list, tuple)):
            _check_length(len(total) + len(value), "sum", unit="items")
            budget.step(len(total) + len(value))  # every addition copies the list
        total = total + value
    return total


def _f_int(value: Any, default: int = 0, base: int = 10) -> int:
    if isinstance(value, Decimal):
        _as_int(value, "int")
    return jinja_filters.do_int(value, default, base)


def _t_null(value: Any) -> bool:
    return _require(value) is None


def _t_empty(value: Any) -> bool:
    return _is_empty(_require(value))


ENVIRONMENT.filters.update(
    {
        "json": _f_to_json,
        "toJson": _f_to_json,
        "tojson": _f_to_json,  # Jinja's version HTML-escapes; these are not HTML
        "fromJson": _f_from_json,
        "date": _f_date,
        "dateAdd": _f_date_add,
        "timestamp": _timestamp_filter(timedelta(seconds=1)),
        "timestampMilli": _timestamp_filter(timedelta(milliseconds=1)),
        "timestampMicro": _timestamp_filter(timedelta(microseconds=1)),
        "timestampNano": _timestamp_filter(timedelta(microseconds=1), scale=1000),
        "default": _f_default,
        "d": _f_default,
        "upper": _text_filter(str.upper),
        "lower": _text_filter(str.lower),
        "capitalize": _text_filter(_capitalize),
        "title": _text_filter(_title),
        "trim": _text_filter(lambda text: text.strip(_JAVA_TRIM)),
        "length": _f_length,
        "keys": _f_keys,
        "values": _f_values,
        "first": _f_first,
        "last": _f_last,
        "join": _f_join,
        "split": _f_split,
        "replace": _f_replace,
        "slugify": _text_filter(_slugify),
        "substringBefore": _substring_filter(_before),
        "substringAfter": _substring_filter(_after),
        "substringBeforeLast": _substring_filter(_before_last),
        "substringAfterLast": _substring_filter(_after_last),
        "startsWith": _f_starts_with,
        "endsWith": _f_ends_with,
        "number": _f_number,
        "urlencode": _f_urlencode,
        "urldecode": _text_filter(unquote_plus),
        "abbreviate": _f_abbreviate,
        "string": to_text,
        # Jinja's own, bounded
        "center": _f_center,
        "indent": _f_indent,
        "wordwrap": _f_wordwrap,
        "format": _f_format,
        "batch": _f_batch,
        "sum": _f_sum,
        "int": _f_int,
    }
)
# HTML and debugging helpers Pebble does not have: each can print an aliased container (Python's
# repr) or repeat an argument without bound, so they are not offered.
for _name in ("pprint", "urlize", "xmlattr"):
    del ENVIRONMENT.filters[_name]
ENVIRONMENT.tests.update({"null": _t_null, "empty": _t_empty})


_UNBUILT = (int, float, bool, type(None), Decimal, date, time)
# Filters that only pick a value out of their input (no new value is built).
_SELECTING_FILTERS = frozenset({"attr", "d", "default", "first", "last", "max", "min", "random"})
# Filters on text: other values are printed the Kestra way first (Python's str() of a list that
# holds one long string a thousand times is unbounded).
_TEXT_INPUT_FILTERS = frozenset(
    {
        "center",
        "e",
        "escape",
        "forceescape",
        "format",
        "indent",
        "safe",
        "striptags",
        "truncate",
        "wordcount",
        "wordwrap",
    }
)


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Every filter: a str/list result larger than the limits is refused (and what it built is
    charged to the render's budget); a lazy result (map, select, ...) counts the items drawn."""
    offset = 0 if getattr(function, "jinja_pass_arg", None) is None else 1  # context/env first
    text_input = name in _TEXT_INPUT_FILTERS
    selecting = name in _SELECTING_FILTERS

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if text_input and len(args) > offset and not isinstance(args[offset], str):
            args = (*args[:offset], to_text(args[offset]), *args[offset + 1 :])
        result = function(*args, **kwargs)
        if type(result) is str and len(result) <= _MAX_SEQUENCE:  # the common case, made quick
            _spend().charge(len(result))
            return result
        if selecting or isinstance(result, _UNBUILT):
            return result
        for argument in args:
            if result is argument:  # passed through (default, trim of trimmed text, ...)
                return result
        return _checked(result, name, (*args[offset:], *kwargs.values()))

    return functools.update_wrapper(guarded, function)


for _name, _function in list(ENVIRONMENT.filters.items()):
    ENVIRONMENT.filters[_name] = _guard_filter(_name, _function)
