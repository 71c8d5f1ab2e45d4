"""Kestra (Pebble) expressions rendered with a sandboxed Jinja2 environment.

Flows are Kestra YAML, so their templates are Pebble: ``{{ inputs.x ?? 'd' }}``, ``cond ? a : b``,
``| date('yyyy-MM-dd')``, ``null``, strict undefined variables, maps printed as JSON, booleans as
``true``/``false``. Jinja2 gives us a battle-tested sandbox and compiler; this module bends its
syntax and output towards Pebble:

* Jinja's lexer has no ``?``: a source pre-pass (a Jinja extension) turns ``??``/``???``/``?``
  inside ``{{ }}``/``{% %}``, never inside string literals, into marker names, then into
  operator tokens; a parser subclass compiles them to a lazy coalesce (Pebble precedence 120:
  tighter than ``|`` and ``~``, so ``a ?? b | upper`` is ``(a ?? b) | upper``) and a ternary
  (lowest precedence). Also Pebble's ``null``, ``equals`` and ``contains``;
* a chainable but strict Undefined: ``outputs.a.b.c`` evaluates to "undefined" without raising so
  ``??``, ``default`` and ``is defined`` work, but printing, iterating or comparing it fails;
* ``finalize`` prints values the way Kestra does; filters and functions carry Pebble/Kestra names.

Not supported (Pebble features with no cheap equivalent): the ``..`` range operator, ``#{}``
string interpolation, ``jq``, localized date styles (``full``/``long``/...), Java method calls;
nor Jinja's HTML/debug helpers ``lipsum``, ``pprint``, ``urlize`` and ``xmlattr`` (unboundable).

Templates come from flow authors and run inside the engine (sometimes with a database transaction
open), so a render is bounded: no single value longer than ``_MAX_SEQUENCE`` characters/items is
built (``*``, ``+``, ``~``, padding and joining filters and str methods, ``format``), the rendered
text is at most ``_MAX_OUTPUT`` characters, and a per-render budget (shared by nested ``render()``
calls) counts loop iterations, calls and built items (``_MAX_STEPS``), built characters
(``_MAX_BUILT``) and wall-clock time (``_MAX_RENDER_SECONDS``, a backstop). The loop counter is
compiled in: every ``{% for %}`` iterable goes through ``environment.pebble_iterate``.
"""

from __future__ import annotations

import calendar
import contextvars
import functools
import json
import math
import os
import re
import types
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, MappingView, Sequence, Sized
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from time import monotonic
from typing import Any, cast
from urllib.parse import quote_plus, unquote_plus
from zoneinfo import ZoneInfo

from jinja2 import filters as jinja_filters
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Environment, Template
from jinja2.exceptions import (
    FilterArgumentError,
    SecurityError,
    TemplateError,
    TemplateRuntimeError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.parser import Parser
from jinja2.runtime import ChainableUndefined, Context, LoopContext, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace, missing, pass_context, pass_environment
from markupsafe import EscapeFormatter, Markup

from engine.errors import ExpressionError

ENV_PREFIX = "PAUSEBOT_ENV_"
_FALSY = frozenset({"false", "0", "-0", ""})
# Resource limits: templates are written by flow authors and rendered inside the engine.
_MAX_SEQUENCE = 1_000_000  # longest str (characters) or list (items) one operation may build
_MAX_OUTPUT = 10_000_000  # longest rendered text, block or printed JSON value (characters)
_MAX_STEPS = 1_000_000  # loop iterations + calls + built list items, per render
_MAX_BUILT = 50_000_000  # characters all operations of one render may build together
_MAX_RENDER_SECONDS = 5.0  # wall-clock backstop for work no counter sees (slices, `in`, sorts)
_MAX_POWER_BITS = 100_000  # largest integer `**` or `*` may produce (about 30,000 digits)
_MAX_DECIMAL_DIGITS = 4_300  # Decimals converted to int (Python's own int/str digit limit)
_MAX_CACHED_NESTED = 1_000  # longest template built at render time (render()) kept compiled
_MAX_CACHED_PATTERN = 100  # longest date pattern kept compiled
_MAX_RENDER_DEPTH = 10  # nested render() calls (guards self-referencing variables)
_MAX_REPEAT = 10  # re-renders of render(recursive=true)

# ---------------------------------------------------------------------------------------------
# Pebble operators -> Jinja-lexable markers (source pre-pass)
# ---------------------------------------------------------------------------------------------

_COALESCE = "__pebble_coalesce__"
_UNDEFINED_COALESCE = "__pebble_undefined_coalesce__"
_TERNARY = "__pebble_ternary__"
_MARKERS = {_UNDEFINED_COALESCE: "???", _COALESCE: "??", _TERNARY: "?"}  # longest first

_OPENERS = re.compile(r"\{[{%#]")
# Pebble's {% verbatim %} is Jinja's {% raw %}; both are copied through untouched.
_RAW_START = re.compile(r"\{%([-+]?)\s*(?:raw|verbatim)\s*([-+]?)%\}")
_RAW_END = re.compile(r"\{%([-+]?)\s*end(?:raw|verbatim)\s*([-+]?)%\}")
_STRING = re.compile(r"'[^'\\]*(?:\\.[^'\\]*)*'?|\"[^\"\\]*(?:\\.[^\"\\]*)*\"?", re.DOTALL)


def _preprocess(source: str) -> str:
    """Rewrite ``??``, ``???`` and ``?`` inside tags into marker names Jinja can lex."""
    if "?" not in source and "verbatim" not in source:
        return source  # nothing to rewrite: the common case
    out: list[str] = []
    pos, end = 0, len(source)
    while pos < end:
        found = _OPENERS.search(source, pos)
        if found is None:
            out.append(source[pos:])
            break
        start = found.start()
        out.append(source[pos:start])
        opener = found.group()
        if opener == "{#":
            close = source.find("#}", start + 2)
            pos = end if close < 0 else close + 2
            out.append(source[start:pos])
            continue
        raw = _RAW_START.match(source, start) if opener == "{%" else None
        if raw is not None:
            out.append(f"{{%{raw.group(1)} raw {raw.group(2)}%}}")
            close_tag = _RAW_END.search(source, raw.end())
            if close_tag is None:
                out.append(source[raw.end() :])
                break
            out.append(source[raw.end() : close_tag.start()])
            out.append(f"{{%{close_tag.group(1)} endraw {close_tag.group(2)}%}}")
            pos = close_tag.end()
            continue
        body, pos = _rewrite_tag(source, start + 2, "}}" if opener == "{{" else "%}")
        out.append(opener + body)
    return "".join(out)


def _rewrite_tag(source: str, pos: int, closer: str) -> tuple[str, int]:
    """Copy one tag body up to its closer, replacing ``?`` operators outside string literals.

    Brackets are balanced like Jinja's lexer does, so ``{{ {'a': {'b': 1}} }}`` ends where Jinja
    thinks it ends. Returns the rewritten body (closer included) and the position after it.
    """
    out: list[str] = []
    depth, end = 0, len(source)
    while pos < end:
        char = source[pos]
        if char in "'\"":
            literal = _STRING.match(source, pos)
            assert literal is not None  # the pattern always matches a quote
            out.append(literal.group())
            pos = literal.end()
            continue
        if depth == 0 and source.startswith(closer, pos):
            out.append(closer)
            return "".join(out), pos + len(closer)
        if char == "?":
            for marker, operator in _MARKERS.items():
                if source.startswith(operator, pos):
                    out.append(f" {marker} ")
                    pos += len(operator)
                    break
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
        out.append(char)
        pos += 1
    return "".join(out), end  # unterminated tag: Jinja reports the syntax error


class _PebbleOperators(Extension):
    """Runs the pre-pass and turns marker names into operator tokens typed ``??``/``???``/``?``.

    Real token types (not names) matter: Jinja takes a bare name after a test as its argument
    (``x is divisibleby 3``), so ``x is defined ? a : b`` would otherwise swallow the marker.
    They also make syntax errors read "got '?'".
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _preprocess(source)

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        for token in stream:
            if token.type == "name" and token.value in _MARKERS:
                operator = _MARKERS[token.value]
                yield Token(token.lineno, operator, operator)
            else:
                yield token


def _unmark(message: str) -> str:
    """Show Pebble operators, not our markers, in error messages."""
    for marker, operator in _MARKERS.items():
        message = message.replace(marker, operator)
    return message


# ---------------------------------------------------------------------------------------------
# Parser and code generation
# ---------------------------------------------------------------------------------------------


class _PebbleParser(Parser):
    def parse_primary(self, *args: Any, **kwargs: Any) -> nodes.Expr:
        token = self.stream.current
        if token.type == "name" and token.value == "null":  # Pebble's null literal
            next(self.stream)
            return nodes.Const(None, lineno=token.lineno)
        return super().parse_primary(*args, **kwargs)

    def parse_unary(self, with_filter: bool = True) -> nodes.Expr:
        # Jinja binds filters tighter than anything; Pebble gives `??` (120) and `|` (100) the
        # two highest binary precedences, both left-associative. So once an operand (primary,
        # postfix, unary sign) is parsed, `??` and filters/tests chain left to right.
        node = super().parse_unary(with_filter=False)
        if not with_filter:  # operand of unary minus/plus: `-a ?? b` is `(-a) ?? b`
            return node
        while True:
            token = self.stream.current
            if token.type in ("??", "???"):
                next(self.stream)
                right = super().parse_unary(with_filter=False)
                flag = nodes.Const(token.type == "???")
                node = _tagged(self, _COALESCE, [node, right, flag], token.lineno)
            elif token.type in ("pipe", "lparen") or token.test("name:is"):
                node = self.parse_filter_expr(node)
            else:
                return node

    def parse_for(self) -> nodes.For:
        # Every loop draws its items through environment.pebble_iterate, which counts them
        # against the render's step budget (nested loops over range(100000) would never end).
        node = super().parse_for()
        node.iter = _tagged(self, _ITERATE, [cast(nodes.Expr, node.iter)], node.iter.lineno)
        return node

    def parse_concat(self) -> nodes.Expr:
        node = super().parse_concat()
        if isinstance(node, nodes.Concat):
            return _tagged(self, _CONCAT, node.nodes, node.lineno)
        return node

    def parse_compare(self) -> nodes.Expr:
        # Pebble's word operators: `a equals b` and `haystack contains needle`.
        node = super().parse_compare()
        while True:
            token = self.stream.current
            if token.test("name:equals"):
                next(self.stream)
                right = super().parse_compare()
                node = nodes.Compare(node, [nodes.Operand("eq", right)], lineno=token.lineno)
            elif token.test("name:contains"):
                next(self.stream)
                needle = super().parse_compare()
                node = nodes.Compare(needle, [nodes.Operand("in", node)], lineno=token.lineno)
            else:
                return node

    def parse_expression(self, with_condexpr: bool = True) -> nodes.Expr:
        # Pebble's ternary `cond ? a : b` has the lowest precedence and nests to the right.
        # Handled here rather than in parse_condexpr so it also works where Jinja turns its own
        # `x if y` off (`{% if %}` tests, `{% for %}` iterables): `?` is never ambiguous.
        lineno = self.stream.current.lineno
        node = super().parse_expression(with_condexpr)
        if self.stream.skip_if("?"):
            when_true = self.parse_expression()
            self.stream.expect("colon")
            when_false = self.parse_expression()
            node = nodes.CondExpr(node, when_true, when_false, lineno=lineno)
        return node


_CONCAT = "__pebble_concat__"
_ITERATE = "__pebble_iterate__"


def _tagged(parser: Parser, tag: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    """Jinja forbids custom node types, so our operators are calls of an internal name whose
    first argument is a tag; the code generator recognises them. Being calls, they are never
    constant-folded at compile time (folding would stringify with Python's rules)."""
    callee = parser.free_identifier(lineno)
    tagged = [nodes.Const(tag, lineno=lineno), *args]
    return nodes.Call(callee, tagged, [], None, None, lineno=lineno)


def _tag_of(node: nodes.Call) -> str | None:
    if not isinstance(node.node, nodes.InternalName) or not node.args:
        return None
    tag = node.args[0]
    if isinstance(tag, nodes.Const) and tag.value in (_COALESCE, _CONCAT, _ITERATE):
        return cast(str, tag.value)
    return None


class _PebbleCodeGenerator(CodeGenerator):
    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        tag = _tag_of(node)
        if tag == _COALESCE:
            # Lambdas keep both sides lazy, like Pebble: the left side may raise UndefinedError
            # (`missing | upper ?? 'd'`), the right side is only evaluated when needed.
            _, left, right, flag = node.args
            frame = frame.soft()
            self.write("environment.pebble_coalesce(lambda: ")
            self.visit(left, frame)
            self.write(", lambda: ")
            self.visit(right, frame)
            self.write(f", {bool(cast(nodes.Const, flag).value)!r})")
        elif tag == _ITERATE:
            self.write("environment.pebble_iterate(")
            self.visit(node.args[1], frame)
            self.write(")")
        elif tag == _CONCAT:
            # `~` stringifies like printing does (`'x' ~ true` is "xtrue", not "xTrue").
            self.write("environment.pebble_concat((")
            for argument in node.args[1:]:
                self.visit(argument, frame)
                self.write(", ")
            self.write("))")
        else:
            super().visit_Call(node, frame, forward_caller=forward_caller)


# ---------------------------------------------------------------------------------------------
# Undefined values
# ---------------------------------------------------------------------------------------------


class MissingValueError(UndefinedError):
    """An undefined value was used; ``name`` is the last name that failed to resolve."""

    def __init__(self, name: str | None, message: str | None = None) -> None:
        super().__init__(message)
        self.name = name


class PebbleUndefined(ChainableUndefined, StrictUndefined):
    """Chains through attribute/item access (so ``??`` and ``default`` can apply) but, like
    Pebble's strict mode, fails when printed, iterated, compared, tested for truth or called."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[TemplateRuntimeError] = UndefinedError,
    ) -> None:
        if exc is UndefinedError:  # keep SecurityError for unsafe attributes
            exc = cast(type[TemplateRuntimeError], functools.partial(MissingValueError, name))
        super().__init__(hint, obj, name, exc)

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name = self._undefined_name
        if self._undefined_obj is missing:
            return f"'{name}' is undefined"
        if isinstance(self._undefined_obj, Mapping):
            return f"'{name}' is undefined (the map has {_describe_keys(self._undefined_obj)})"
        return f"'{name}' is undefined on a value of type {type(self._undefined_obj).__name__}"


def _describe_keys(mapping: Mapping[Any, Any]) -> str:
    keys = [str(key) for key in list(mapping)[:11]]
    if not keys:
        return "no keys"
    return "keys: " + ", ".join(keys[:10]) + (", ..." if len(keys) > 10 else "")


def _require(value: Any) -> Any:
    """Fail on undefined input (filters are strict like printing)."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


# ---------------------------------------------------------------------------------------------
# Printing values the Kestra way
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Resource limits
# ---------------------------------------------------------------------------------------------


class _LimitExceeded(TemplateRuntimeError):
    """A render went over one of the resource limits; the message names the limit."""


_CLOCK_EVERY = 1_000  # steps between two looks at the clock


class _Budget:
    """What one render has spent so far; nested ``render()`` calls share their caller's."""

    __slots__ = ("built", "checkpoint", "deadline", "steps")

    def __init__(self) -> None:
        self.steps = 0
        self.built = 0
        self.deadline = monotonic() + _MAX_RENDER_SECONDS
        self.checkpoint = 0  # the next step count at which check() runs

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps >= self.checkpoint:
            self.check()

    def check(self) -> None:
        if self.steps > _MAX_STEPS:
            raise _LimitExceeded(
                f"template exceeded {_MAX_STEPS:,} loop iterations "
                "(calls and items of built lists count as iterations)"
            )
        if monotonic() > self.deadline:
            raise _LimitExceeded(
                f"template took longer than {_MAX_RENDER_SECONDS:g} seconds to render"
            )
        self.checkpoint = min(self.steps + _CLOCK_EVERY, _MAX_STEPS + 1)

    def charge(self, characters: int) -> None:
        self.built += characters
        if self.built > _MAX_BUILT:
            raise _LimitExceeded(f"template built more than {_MAX_BUILT:,} characters")


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "pausebot_render_budget", default=None
)


def _spend() -> _Budget:
    """The current render's budget (a throwaway one outside renders)."""
    return _budget.get() or _Budget()


def _counted(iterator: Iterator[Any], budget: _Budget) -> Iterator[Any]:
    for item in iterator:
        budget.steps += 1  # budget.step(), inlined: this runs for every loop iteration
        if budget.steps >= budget.checkpoint:
            budget.check()
        yield item


_SIZED = (str, bytes, list, tuple, dict, set, frozenset)


def _check_length(
    length: int, what: str, inputs: Iterable[Any] = (), unit: str = "characters"
) -> None:
    """Refuse to build more than ``_MAX_SEQUENCE`` characters (or items), unless the result is no
    longer than one of the inputs: transforming big data is fine, growing it is not."""
    if length <= _MAX_SEQUENCE:
        return
    if length > max((len(value) for value in inputs if isinstance(value, _SIZED)), default=0):
        raise _LimitExceeded(f"{what}: the result would be larger than {_MAX_SEQUENCE:,} {unit}")


def _unit(value: Any) -> str:
    return "characters" if isinstance(value, (str, bytes)) else "items"


def _checked(result: Any, what: str, inputs: Sequence[Any]) -> Any:
    """Bound and account for a value a filter, method or operator built."""
    if isinstance(result, (str, bytes)):
        _check_length(len(result), what, inputs)
        _spend().charge(len(result))
    elif isinstance(result, (list, tuple, dict, set, frozenset)):
        _check_length(len(result), what, inputs, "items")
        _spend().step(len(result))
    elif isinstance(result, Iterator):  # lazy filters (map, select, ...): count the items drawn
        return _counted(result, _spend())
    return result


def _check_method(
    owner: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse a str/bytes/int method call whose result would be huge, before it is built.
    Returns the arguments to call with (``join`` gets its items as a list)."""
    if isinstance(owner, int):
        length = args[0] if args else kwargs.get("length", 1)
        if name == "to_bytes" and _is_int(length):
            _check_length(length, name, unit="bytes")
        return args
    size: int | None = None
    if name in ("center", "ljust", "rjust", "zfill") and args and _is_int(args[0]):
        size = max(len(owner), args[0])
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(tabsize):
            tab = "\t" if isinstance(owner, str) else b"\t"
            size = len(owner) + owner.count(tab) * max(tabsize, 0)
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        if isinstance(old, (str, bytes)) and isinstance(new, (str, bytes)):
            hits = owner.count(old) if old else len(owner) + 1
            if _is_int(count) and count >= 0:
                hits = min(hits, count)
            size = len(owner) + hits * (len(new) - len(old))
    elif name == "join" and args:
        items = list(_counted(iter(args[0]), _spend()))
        lengths = [len(item) for item in items if isinstance(item, (str, bytes))]
        size = sum(lengths) + len(owner) * max(len(items) - 1, 0)
        if size > max(lengths, default=0):
            _check_length(size, name, (owner,))
        return (items, *args[1:])
    elif name == "translate" and args:
        table = args[0]
        values: Iterable[Any] = ()
        if isinstance(table, Mapping):
            values = table.values()
        elif isinstance(table, (list, tuple)):
            values = table
        longest = max((len(v) for v in values if isinstance(v, (str, bytes))), default=1)
        size = len(owner) * max(longest, 1)
    if size is not None:
        _check_length(size, name, (owner,))
    return args


_DIGITS = re.compile(r"\d+")
_SCALARS = (str, int, float, Decimal, date, time, type(None), Undefined)


def _printable(value: Any) -> Any:
    """Containers (and other objects) print the Kestra way, never as Python's unbounded repr."""
    return value if isinstance(value, _SCALARS) else to_text(value)


def _check_width(number: str, what: str) -> None:
    digits = number.lstrip("-")
    if digits and (len(digits) > 7 or int(digits) > _MAX_SEQUENCE):
        raise _LimitExceeded(
            f"{what}: the result would be larger than {_MAX_SEQUENCE:,} characters"
        )


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in templates: widths and the result are bounded, containers print as JSON."""

    def __init__(self, env: Environment, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self._length = 0

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return super().convert_field(_printable(value), conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        for number in _DIGITS.findall(format_spec):  # widths and precisions
            _check_width(number, "format")
        text = super().format_field(_printable(value), format_spec)
        self._length += len(text)
        _check_length(self._length, "format", (value,))
        return text


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


# ---------------------------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------------------------


class _PebbleTemplate(Template):
    def render(self, *args: Any, **kwargs: Any) -> str:
        if _budget.get() is not None:  # a nested render() spends its caller's budget
            return super().render(*args, **kwargs)
        token = _budget.set(_Budget())
        try:
            return super().render(*args, **kwargs)
        finally:
            _budget.reset(token)


class _PebbleEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = _PebbleCodeGenerator
    template_class = _PebbleTemplate
    # Intercepted so they can be bounded (and are never constant-folded at compile time).
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _PebbleParser(self, source, name, filename).parse()

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Pebble reads map keys first: `outputs.x.values` is the key "values", not dict.values.
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_int(left) and _is_int(right) and abs(left) > 1:
            if left.bit_length() * right > _MAX_POWER_BITS:  # 10 ** 10 ** 10 would never end
                raise SecurityError("the power is too large")
        elif operator == "*":
            both_int = _is_int(left) and _is_int(right)
            if both_int and left.bit_length() + right.bit_length() > _MAX_POWER_BITS:
                raise SecurityError("the product is too large")  # squaring in a loop would blow up
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and _is_int(count):
                    _check_length(len(sequence) * count, "'*'", (sequence,), _unit(sequence))
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _check_length(len(left) + len(right), "'+'", (left, right), _unit(left))
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting with % is not supported")
        result = super().call_binop(context, operator, left, right)
        if operator in ("*", "+"):
            return _checked(result, repr(operator), (left, right))
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # Every call is a step: macros and blocks can recurse with a fan-out and no loop at all.
        _spend().step()
        if isinstance(obj, LoopContext) and args:  # `loop(children)` in a recursive for-loop
            args = (self.pebble_iterate(args[0]), *args[1:])
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, (str, bytes, int)) and isinstance(
            obj, (types.BuiltinMethodType, types.MethodType)
        ):
            args = _check_method(owner, obj.__name__, args, kwargs)
            result = super().call(context, obj, *args, **kwargs)
            return _checked(result, obj.__name__, (owner, *args))
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format``/``format_map`` with bounded widths and result (see _BoundedFormatter)."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)):
            return None
        owner = value.__self__
        if value.__name__ not in ("format", "format_map") or not isinstance(owner, str):
            return None
        is_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            values: Mapping[str, Any] = kwargs
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                values, args = args[0], ()
            formatter = (
                _BoundedEscapeFormatter(self, escape=owner.escape)
                if isinstance(owner, Markup)
                else _BoundedFormatter(self)
            )
            text = type(owner)(formatter.vformat(owner, args, values))
            return cast(str, _checked(text, "format", (owner,)))

        return functools.update_wrapper(wrapper, value)

    @staticmethod
    def concat(pieces: Iterable[str]) -> str:  # type: ignore[override]
        """Joins rendered output (the template, blocks, macro bodies): bounded as it goes."""
        kept: list[str] = []
        length = 0
        for piece in pieces:
            length += len(piece)
            if length > _MAX_OUTPUT:
                raise _LimitExceeded(f"rendered text is larger than {_MAX_OUTPUT:,} characters")
            kept.append(piece)
        _spend().charge(length)
        return "".join(kept)

    @staticmethod
    def pebble_iterate(iterable: Iterable[Any]) -> Iterator[Any]:
        """Every ``{% for %}`` iterable: its items are counted against the step budget."""
        return _counted(iter(iterable), _spend())

    @staticmethod
    def pebble_coalesce(
        left: Callable[[], Any], right: Callable[[], Any], undefined_only: bool
    ) -> Any:
        try:
            value = left()
        except UndefinedError:
            return right()
        if isinstance(value, Undefined) or (value is None and not undefined_only):
            return right()
        return value

    @staticmethod
    def pebble_concat(values: Iterable[Any]) -> str:
        texts = [to_text(value) for value in values]
        _check_length(sum(map(len, texts)), "'~'", texts)
        text = "".join(texts)
        _spend().charge(len(text))
        return text


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finalize(value: Any) -> str:
    return to_text(value)


ENVIRONMENT = _PebbleEnvironment(
    undefined=PebbleUndefined,
    autoescape=False,  # outputs are messages, JSON bodies, URLs: never HTML
    finalize=_finalize,
    keep_trailing_newline=True,  # YAML block scalars end with "\n"; Pebble keeps it
    trim_blocks=True,  # Pebble's newLineTrimming: drop the newline right after a {% tag %}
    auto_reload=False,
    extensions=[_PebbleOperators],
)


@functools.lru_cache(maxsize=2048)
def _compile_cached(source: str) -> Template:
    return ENVIRONMENT.from_string(source)  # the _PebbleOperators extension pre-processes


def _compile(source: str) -> Template:
    # Flow templates are few: cached. Strings a template builds and hands to render() can be
    # many and long: only short ones are kept, so renders cannot fill the cache with megabytes.
    if _render_depth.get() and len(source) > _MAX_CACHED_NESTED:
        return ENVIRONMENT.from_string(source)
    return _compile_cached(source)


# ---------------------------------------------------------------------------------------------
# Public rendering API
# ---------------------------------------------------------------------------------------------


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render one template string; raises ExpressionError naming the template on any failure."""
    if not has_expression(template):
        return template  # hot path: most flow values are plain strings
    try:
        return _compile(template).render(context)
    except ExpressionError as error:  # from a nested render() call
        reason = f"render({_shorten(error.expression)!r}) failed: {error.reason}"
        raise ExpressionError(template, reason) from error
    except TemplateSyntaxError as error:
        message = _unmark(error.message or "invalid syntax")
        raise ExpressionError(
            template, f"syntax error on line {error.lineno}: {message}"
        ) from error
    except UndefinedError as error:
        raise ExpressionError(template, _undefined_reason(error, template, context)) from error
    except TemplateError as error:
        raise ExpressionError(template, _unmark(error.message or type(error).__name__)) from error
    except Exception as error:  # filters, arithmetic, JSON parsing, ranges refused by the sandbox
        raise ExpressionError(template, _error_reason(error)) from error


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside nested dicts/lists (dict keys are left as they are)."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, Mapping):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    if isinstance(value, tuple):
        return tuple(render_value(item, context) for item in value)
    return value


def render_condition(template: str, context: Mapping[str, Any]) -> bool:
    """Render and apply Kestra truthiness: false only for "false", "0", "-0" or blank."""
    if isinstance(template, bool):  # YAML `condition: true` arrives as a bool
        return template
    return is_truthy(render(to_text(template), context))


def env_variables(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``envs.*``: the PAUSEBOT_ENV_* variables, prefix stripped and lower-cased."""
    return {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX)
    }


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _FilterError(ValueError):
    """A filter or function refused its input; the message is complete as it is."""


def _error_reason(error: Exception) -> str:
    if isinstance(error, _FilterError):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _undefined_reason(error: UndefinedError, template: str, context: Mapping[str, Any]) -> str:
    """Name the full dotted path that is undefined (``'outputs.pause.onResume' is undefined``).

    Jinja only knows the last name; on this (rare) error path we re-parse the template and find
    the attribute chain whose resolution against the context stops at that name.
    """
    fallback = _unmark(error.message or "a value is undefined")
    name = getattr(error, "name", None)
    if name is None:
        return fallback
    try:
        tree = ENVIRONMENT.parse(template)
    except TemplateError:
        return fallback
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        chain = _attribute_chain(node)
        if chain is None:
            continue
        found = _first_missing(chain, context, name)
        if found is None:
            continue
        index, parent = found
        reason = f"'{_format_path(chain[: index + 1])}' is undefined"
        if index > 0 and isinstance(parent, Mapping):
            reason += f" ('{_format_path(chain[:index])}' has {_describe_keys(parent)})"
        return reason
    return fallback


def _attribute_chain(node: nodes.Node) -> list[str | int] | None:
    parts: list[str | int] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if not isinstance(node.arg.value, (str, int)):
                return None
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return parts[::-1]
        else:
            return None


def _first_missing(
    chain: list[str | int], context: Mapping[str, Any], name: str
) -> tuple[int, Any] | None:
    current: Any = context
    for index, part in enumerate(chain):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif _has_index(current, part):
            current = current[cast(int, part)]
        else:
            return (index, current) if part == name else None
    return None


def _has_index(value: Any, part: str | int) -> bool:
    if not isinstance(value, Sequence) or isinstance(value, str) or not isinstance(part, int):
        return False
    return -len(value) <= part < len(value)


def _format_path(parts: Sequence[str | int]) -> str:
    text = str(parts[0])
    for part in parts[1:]:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f'["{part}"]'
    return text


# ---------------------------------------------------------------------------------------------
# Dates: Java DateTimeFormatter patterns, Kestra's named formats, time zones
# ---------------------------------------------------------------------------------------------

_MONTHS = [calendar.month_name[month] for month in range(1, 13)]  # English, like Kestra's default
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_NAMED_PATTERNS = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_seq": "yyyy-MM-dd HH:mm:ss",
}


@functools.lru_cache(maxsize=64)
def _zone(name: str | None) -> tzinfo:
    """Java ``ZoneId.of``: region ids, ``Z``/``UTC``, or offsets like ``+02:00``/``GMT+2``."""
    if name is None:
        name = "UTC"  # Kestra uses the JVM default zone, UTC on servers
    offset = re.fullmatch(r"(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?", name)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        hours, minutes, seconds = (int(group or 0) for group in offset.group(2, 3, 4))
        return timezone(sign * timedelta(hours=hours, minutes=minutes, seconds=seconds))
    if name == "Z":
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        if name in ("UTC", "GMT", "UT"):
            return UTC
        raise _FilterError(f"unknown time zone {name!r}") from None


def _to_datetime(value: Any, zone: tzinfo, existing_format: str | None = None) -> datetime:
    """Kestra's AbstractDate.convert: dates at noon, epoch seconds, ISO strings (naive -> zone)."""
    _require(value)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime.combine(value, time(12), tzinfo=zone)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=zone)
    elif isinstance(value, str):
        moment = _parse_date_text(value.strip(), existing_format)
    else:
        raise _FilterError(f"cannot use a value of type {type(value).__name__} as a date")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _parse_date_text(text: str, existing_format: str | None) -> datetime:
    if existing_format and existing_format not in _NAMED_PATTERNS:
        try:
            return datetime.strptime(text, _strptime_pattern(existing_format))
        except ValueError:
            raise _FilterError(f"cannot parse {text!r} with format {existing_format!r}") from None
    region = re.fullmatch(r"(.*?)\[([^\]]+)\]", text)  # 2024-07-01T10:00+02:00[Europe/Paris]
    try:
        moment = datetime.fromisoformat(region.group(1) if region else text)
    except ValueError:
        raise _FilterError(f"cannot parse {text!r} as an ISO-8601 date") from None
    if region and moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(region.group(2)))
    return moment


def _format_datetime(moment: datetime, pattern: str, zone: tzinfo) -> str:
    moment = moment.astimezone(zone)  # formatter.withZone(zone), as in Kestra
    named = _NAMED_FORMATTERS.get(pattern)
    if named is not None:
        return named(moment)
    parts = _compile_pattern(_NAMED_PATTERNS.get(pattern, pattern))
    return "".join(part if isinstance(part, str) else part(moment) for part in parts)


def _tokenize_pattern(pattern: str) -> list[str | tuple[str, int]]:
    """Split a DateTimeFormatter pattern into literals and (letter, count) fields."""
    tokens: list[str | tuple[str, int]] = []
    index, end = 0, len(pattern)
    while index < end:
        char = pattern[index]
        if char == "'":
            if pattern.startswith("''", index):
                tokens.append("'")
                index += 2
                continue
            literal: list[str] = []
            index += 1
            while True:
                if index >= end:
                    raise _FilterError(f"unterminated quote in date pattern {pattern!r}")
                if pattern[index] == "'":
                    if pattern.startswith("''", index):
                        literal.append("'")
                        index += 2
                        continue
                    index += 1
                    break
                literal.append(pattern[index])
                index += 1
            tokens.append("".join(literal))
        elif char.isascii() and char.isalpha():
            count = 1
            while index + count < end and pattern[index + count] == char:
                count += 1
            tokens.append((char, count))
            index += count
        elif char in "[]":  # optional sections: every field is available when formatting
            index += 1
        else:
            tokens.append(char)
            index += 1
    return tokens


def _compile_pattern(pattern: str) -> tuple[str | Callable[[datetime], str], ...]:
    if len(pattern) > _MAX_CACHED_PATTERN:  # patterns come from templates: keep the cache small
        return _compile_pattern_uncached(pattern)
    return _compile_pattern_cached(pattern)


def _compile_pattern_uncached(pattern: str) -> tuple[str | Callable[[datetime], str], ...]:
    return tuple(
        token if isinstance(token, str) else _field(pattern, *token)
        for token in _tokenize_pattern(pattern)
    )


_compile_pattern_cached = functools.lru_cache(maxsize=256)(_compile_pattern_uncached)


def _padded(get: Callable[[datetime], int], width: int) -> Callable[[datetime], str]:
    return lambda moment: str(get(moment)).zfill(width)


def _field(pattern: str, letter: str, count: int) -> Callable[[datetime], str]:
    def unsupported() -> _FilterError:
        return _FilterError(f"date pattern {pattern!r}: {letter * count!r} is not supported")

    if letter in "yu":
        if count == 2:
            return lambda m: f"{m.year % 100:02d}"
        return _padded(lambda m: m.year, count)
    if letter in "ML":
        if count <= 2:
            return _padded(lambda m: m.month, count)
        if count <= 5:
            return lambda m: _text(_MONTHS[m.month - 1], count)
    if letter == "d" and count <= 2:
        return _padded(lambda m: m.day, count)
    if letter == "D" and count <= 3:
        return _padded(lambda m: m.timetuple().tm_yday, count)
    if letter == "E" and count <= 5:
        return lambda m: _text(_DAYS[m.weekday()], count)
    if letter in "Qq":
        if count <= 2:
            return _padded(lambda m: (m.month - 1) // 3 + 1, count)
        if count == 3:
            return lambda m: f"Q{(m.month - 1) // 3 + 1}"
        if count == 4:
            return lambda m: ["1st", "2nd", "3rd", "4th"][(m.month - 1) // 3] + " quarter"
    if letter == "G" and count <= 5:
        return lambda m: "AD" if count <= 3 else ("Anno Domini" if count == 4 else "A")
    if letter == "a" and count == 1:
        return lambda m: "AM" if m.hour < 12 else "PM"
    if count <= 2:
        getter: Callable[[datetime], int] | None = {
            "H": lambda m: m.hour,
            "h": lambda m: (m.hour + 11) % 12 + 1,
            "K": lambda m: m.hour % 12,
            "k": lambda m: m.hour or 24,
            "m": lambda m: m.minute,
            "s": lambda m: m.second,
        }.get(letter)
        if getter is not None:
            return _padded(getter, count)
    if letter == "S" and count <= 9:
        return lambda m: f"{m.microsecond:06d}000"[:count]
    if letter == "n":
        return _padded(lambda m: m.microsecond * 1000, count)
    if letter == "A":
        return _padded(lambda m: (m.hour * 3600 + m.minute * 60 + m.second) * 1000, count)
    if letter == "V" and count == 2:
        return _zone_id
    if letter == "z" and count <= 4:
        return lambda m: m.tzname() or _zone_id(m)
    if letter in "Xx" and count <= 5:
        return functools.partial(_offset, style=count, zulu=letter == "X")
    if letter == "Z":
        if count <= 3:
            return functools.partial(_offset, style=2, zulu=False)
        if count == 4:
            return _gmt_offset
        if count == 5:
            return functools.partial(_offset, style=5, zulu=True)
    if letter == "O" and count in (1, 4):
        return functools.partial(_gmt_offset, short=count == 1)
    raise unsupported()


def _text(full: str, count: int) -> str:
    """Text styles: 1-3 letters short, 4 full, 5 narrow (first letter)."""
    return full[:3] if count <= 3 else full if count == 4 else full[0]


def _offset_parts(moment: datetime) -> tuple[str, int, int, int]:
    total = int((moment.utcoffset() or timedelta()).total_seconds())
    hours, rest = divmod(abs(total), 3600)
    return ("-" if total < 0 else "+"), hours, *divmod(rest, 60)


def _offset(moment: datetime, *, style: int, zulu: bool) -> str:
    """Java X/x patterns (X prints Z for a zero offset): +01, +0100, +01:00, +0100[ss], ..."""
    sign, hours, minutes, seconds = _offset_parts(moment)
    if zulu and not (hours or minutes or seconds):
        return "Z"
    colon = ":" if style in (3, 5) else ""
    text = f"{sign}{hours:02d}"
    if style != 1 or minutes:
        text += f"{colon}{minutes:02d}"
    if style >= 4 and seconds:
        text += f"{colon}{seconds:02d}"
    return text


def _gmt_offset(moment: datetime, *, short: bool = False) -> str:
    sign, hours, minutes, _ = _offset_parts(moment)
    if not (hours or minutes):
        return "GMT"
    if short:
        return f"GMT{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    return f"GMT{sign}{hours:02d}:{minutes:02d}"


def _zone_id(moment: datetime) -> str:
    key = getattr(moment.tzinfo, "key", None)
    return key if isinstance(key, str) else _offset(moment, style=5, zulu=True)


def _fraction(moment: datetime, groups_of_three: bool = False) -> str:
    if not moment.microsecond:
        return ""
    digits = f"{moment.microsecond:06d}"
    if groups_of_three:
        return "." + (digits[:3] if digits.endswith("000") else digits)
    return "." + digits.rstrip("0")


def _local_date(m: datetime) -> str:
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}"


def _local_time(m: datetime) -> str:
    return f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}{_fraction(m)}"


def _offset_id(m: datetime) -> str:
    return _offset(m, style=5, zulu=True)


def _zoned(m: datetime) -> str:
    key = getattr(m.tzinfo, "key", None)  # region zones are printed in brackets
    return f"{_local_date(m)}T{_local_time(m)}{_offset_id(m)}" + (f"[{key}]" if key else "")


def _rfc_1123(m: datetime) -> str:
    offset = "GMT" if not m.utcoffset() else _offset(m, style=2, zulu=False)
    return (
        f"{_DAYS[m.weekday()][:3]}, {m.day} {_MONTHS[m.month - 1][:3]} {m.year:04d} "
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} {offset}"
    )


def _instant(m: datetime) -> str:
    utc = m.astimezone(UTC)
    return f"{_local_date(utc)}T{utc:%H:%M:%S}{_fraction(utc, groups_of_three=True)}Z"


_NAMED_FORMATTERS: dict[str, Callable[[datetime], str]] = {
    "iso_date_time": _zoned,
    "iso_zoned_date_time": _zoned,
    "iso_offset_date_time": lambda m: f"{_local_date(m)}T{_local_time(m)}{_offset_id(m)}",
    "iso_local_date_time": lambda m: f"{_local_date(m)}T{_local_time(m)}",
    "iso_date": lambda m: _local_date(m) + _offset_id(m),
    "iso_offset_date": lambda m: _local_date(m) + _offset_id(m),
    "iso_local_date": _local_date,
    "iso_time": lambda m: _local_time(m) + _offset_id(m),
    "iso_offset_time": lambda m: _local_time(m) + _offset_id(m),
    "iso_local_time": _local_time,
    "iso_instant": _instant,
    "iso_ordinal_date": lambda m: f"{m.year:04d}-{m.timetuple().tm_yday:03d}{_offset_id(m)}",
    "iso_week_date": lambda m: "{:04d}-W{:02d}-{}".format(*m.isocalendar()) + _offset_id(m),
    "rfc_1123_date_time": _rfc_1123,
}

_STRPTIME = {
    "y": "%Y",
    "u": "%Y",
    "M": "%m",
    "d": "%d",
    "H": "%H",
    "h": "%I",
    "m": "%M",
    "s": "%S",
    "S": "%f",
    "a": "%p",
    "D": "%j",
    "X": "%z",
    "x": "%z",
    "Z": "%z",
}


def _strptime_pattern(pattern: str) -> str:
    if len(pattern) > _MAX_CACHED_PATTERN:
        return _strptime_pattern_uncached(pattern)
    return _strptime_pattern_cached(pattern)


def _strptime_pattern_uncached(pattern: str) -> str:
    """``existingFormat``: the common pattern letters, translated to strptime directives."""
    out: list[str] = []
    for token in _tokenize_pattern(pattern):
        if isinstance(token, str):
            out.append(token.replace("%", "%%"))
            continue
        letter, count = token
        if letter in "yu" and count == 2:
            out.append("%y")
        elif letter in "ML" and count in (3, 4):
            out.append("%b" if count == 3 else "%B")
        elif letter == "E" and count in (3, 4):
            out.append("%a" if count == 3 else "%A")
        elif letter in _STRPTIME:
            out.append(_STRPTIME[letter])
        else:
            raise _FilterError(f"existingFormat {pattern!r}: {letter * count!r} is not supported")
    return "".join(out)


_strptime_pattern_cached = functools.lru_cache(maxsize=64)(_strptime_pattern_uncached)


_TIME_UNITS = {
    "NANOS": timedelta(microseconds=0.001),
    "MICROS": timedelta(microseconds=1),
    "MILLIS": timedelta(milliseconds=1),
    "SECONDS": timedelta(seconds=1),
    "MINUTES": timedelta(minutes=1),
    "HOURS": timedelta(hours=1),
    "HALF_DAYS": timedelta(hours=12),
}
_DAY_UNITS = {"DAYS": 1, "WEEKS": 7}
_MONTH_UNITS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


def _plus(moment: datetime, amount: int, unit: str) -> datetime:
    """Java ``ZonedDateTime.plus``: time units move the instant, date units the local date."""
    if unit in _TIME_UNITS:
        utc = moment.astimezone(UTC) + amount * _TIME_UNITS[unit]
        return utc.astimezone(moment.tzinfo)
    if unit in _DAY_UNITS:
        local = moment.replace(tzinfo=None) + timedelta(days=amount * _DAY_UNITS[unit])
        return local.replace(tzinfo=moment.tzinfo)
    if unit in _MONTH_UNITS:
        months = moment.year * 12 + moment.month - 1 + amount * _MONTH_UNITS[unit]
        year, month = divmod(months, 12)
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])  # Jan 31 + 1 month: Feb 29
        return moment.replace(year=year, month=month + 1, day=day)
    units = ", ".join([*_TIME_UNITS, *_DAY_UNITS, *_MONTH_UNITS])
    raise _FilterError(f"dateAdd: unknown unit {unit!r} (expected one of {units})")


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


def _as_int(value: Any, what: str) -> int:
    # int(Decimal("1E+999999")) takes half a minute; such a number is no count anyway.
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > _MAX_DECIMAL_DIGITS:
        raise _FilterError(f"{what}: {value} has more than {_MAX_DECIMAL_DIGITS:,} digits")
    return int(value)


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


# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

_render_depth: contextvars.ContextVar[int] = contextvars.ContextVar(
    "pausebot_render_depth", default=0
)


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


@pass_context
def _fn_print_context(context: Context) -> str:
    shared = context.environment.globals
    variables = {
        key: value
        for key, value in context.get_all().items()
        if not (key in shared and shared[key] is value)
    }
    return to_json(variables)


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
ENVIRONMENT.globals.update(
    {
        "now": _fn_now,
        "json": _f_from_json,
        "fromJson": _f_from_json,
        "uuid": _fn_uuid,
        "render": _fn_render,
        "printContext": _fn_print_context,
    }
)
del ENVIRONMENT.globals["lipsum"]  # lipsum(10**6) writes a million paragraphs

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

__all__ = [
    "ENVIRONMENT",
    "ENV_PREFIX",
    "MissingValueError",
    "PebbleUndefined",
    "env_variables",
    "has_expression",
    "is_truthy",
    "render",
    "render_condition",
    "render_value",
    "to_json",
    "to_text",
]
