"""Resource limits of a render: sizes, a step budget and a time backstop.

Templates come from flow authors and run inside the engine (sometimes with a database transaction
open), so a render is bounded: no single value longer than ``_MAX_SEQUENCE`` characters/items is
built (``*``, ``+``, ``~``, padding and joining filters and str methods, ``format``), the rendered
text is at most ``_MAX_OUTPUT`` characters, and a per-render budget (shared by nested ``render()``
calls) counts loop iterations, calls and built items (``_MAX_STEPS``), built characters
(``_MAX_BUILT``) and wall-clock time (``_MAX_RENDER_SECONDS``, a backstop). The loop counter is
compiled in: every ``{% for %}`` iterable goes through ``environment.pebble_iterate``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from time import monotonic
from typing import Any

from jinja2.exceptions import TemplateRuntimeError

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


def _check_width(number: str, what: str) -> None:
    digits = number.lstrip("-")
    if digits and (len(digits) > 7 or int(digits) > _MAX_SEQUENCE):
        raise _LimitExceeded(
            f"{what}: the result would be larger than {_MAX_SEQUENCE:,} characters"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _FilterError(ValueError):
    """A filter or function refused its input; the message is complete as it is."""


def _as_int(value: Any, what: str) -> int:
    # int(Decimal("1E+999999")) takes half a minute; such a number is no count anyway.
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > _MAX_DECIMAL_DIGITS:
        raise _FilterError(f"{what}: {value} has more than {_MAX_DECIMAL_DIGITS:,} digits")
    return int(value)


_render_depth: contextvars.ContextVar[int] = contextvars.ContextVar(
    "pausebot_render_depth", default=0
)
