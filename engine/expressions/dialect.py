"""The Pebble dialect on Jinja2: ``??``/``???``/ternary, ``null``, ``equals``/``contains``, a strict
but chainable Undefined, and the sandboxed environment every template is compiled in."""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Environment, Template
from jinja2.exceptions import (
    SecurityError,
    TemplateRuntimeError,
    UndefinedError,
)
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.parser import Parser
from jinja2.runtime import ChainableUndefined, Context, LoopContext, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import missing
from markupsafe import EscapeFormatter, Markup

from engine.expressions.limits import (
    _MAX_CACHED_NESTED,
    _MAX_OUTPUT,
    _MAX_POWER_BITS,
    _Budget,
    _budget,
    _check_length,
    _check_method,
    _check_width,
    _checked,
    _counted,
    _is_int,
    _LimitExceeded,
    _render_depth,
    _spend,
    _unit,
)
from engine.expressions.printing import (
    _printable,
    to_text,
)

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
            elif token.test("name:isIn"):
                next(self.stream)
                values = super().parse_compare()
                node = nodes.Compare(node, [nodes.Operand("in", values)], lineno=token.lineno)
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


_DIGITS = re.compile(r"\d+")


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
        """Every ``{% for %}`` iterable: its items are counted against the step budget. A map
        yields its entries, as in Pebble (``entry.key``, ``entry.value``)."""
        if isinstance(iterable, Mapping):
            return _counted((MapEntry(k, v) for k, v in iterable.items()), _spend())
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


class MapEntry:
    """One entry of a map in ``{% for entry in map %}``; ``{% for k, v in map %}`` unpacks it."""

    __slots__ = ("key", "value")

    def __init__(self, key: Any, value: Any) -> None:
        self.key, self.value = key, value

    def __iter__(self) -> Iterator[Any]:
        return iter((self.key, self.value))

    def __str__(self) -> str:  # Java's Map.Entry prints key=value
        return f"{to_text(self.key)}={to_text(self.value)}"


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
