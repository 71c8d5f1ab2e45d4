"""Typed inputs, shared by flow ``inputs`` and Pause ``onResume`` (Kestra's input model).

Definitions are validated when a flow is loaded (a bad default is the flow author's mistake,
not the approver's). Values are parsed by :func:`parse_inputs`, which is deliberately stricter
than Kestra: Kestra turns ``ture`` into ``false`` for a BOOLEAN, pausebot refuses it, because an
approval recorded with the wrong answer is worse than a form that asks again.

Parsed values are JSON-serialisable (dates, times and durations become ISO strings) because they
are stored in the database and rendered in templates.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.errors import FieldError, InputValidationError


class InputType(str, Enum):
    STRING = "STRING"
    INT = "INT"
    FLOAT = "FLOAT"
    BOOLEAN = "BOOLEAN"
    BOOL = "BOOL"
    DATE = "DATE"
    DATETIME = "DATETIME"
    TIME = "TIME"
    DURATION = "DURATION"
    URI = "URI"
    EMAIL = "EMAIL"
    ENUM = "ENUM"
    SELECT = "SELECT"
    MULTISELECT = "MULTISELECT"
    JSON = "JSON"
    ARRAY = "ARRAY"
    FILE = "FILE"
    SECRET = "SECRET"
    YAML = "YAML"

    @classmethod
    def _missing_(cls, value: object) -> InputType | None:
        # Hand-written flows sometimes say `type: string`; Kestra's enum is upper case.
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        return None


_ID_RE = re.compile(r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$")

_CHOICE_TYPES = frozenset({InputType.ENUM, InputType.SELECT, InputType.MULTISELECT})
_RANGE_TYPES = frozenset({InputType.INT, InputType.FLOAT, InputType.DURATION})
_TEMPORAL_TYPES = frozenset({InputType.DATE, InputType.DATETIME, InputType.TIME})
_TEXT_TYPES = frozenset({InputType.STRING, InputType.SECRET, InputType.EMAIL, InputType.URI})
_ITEM_TYPE_OWNERS = frozenset({InputType.ARRAY, InputType.MULTISELECT})
# An array of arrays has no form representation; files need storage we do not have.
_FORBIDDEN_ITEM_TYPES = frozenset({InputType.ARRAY, InputType.FILE})

_MISSING: Any = object()
_SHOW_MAX = 100


class DependsOn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[str] = Field(default_factory=list)
    condition: str | None = None


class InputDefinition(BaseModel):
    """One entry of a flow's ``inputs`` or a Pause's ``onResume`` (camelCase, as in Kestra YAML)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    type: InputType
    description: str | None = None
    displayName: str | None = Field(default=None, max_length=64)
    required: bool = True
    defaults: Any = None
    prefill: Any = None
    validator: str | None = None
    min: Any = None
    max: Any = None
    values: list[Any] | None = None
    allowCustomValue: bool = False
    isRadio: bool = False
    itemType: InputType | None = None
    after: Any = None
    before: Any = None
    dependsOn: DependsOn | None = None
    expression: str | None = None
    extension: str | None = None
    allowedFileExtensions: list[str] | None = None
    autoSelectFirst: bool = False

    @model_validator(mode="before")
    @classmethod
    def _deprecated_aliases(cls, data: Any) -> Any:
        # Kestra still accepts `name` (old id) and `options` (old MULTISELECT values). Done by hand
        # rather than with AliasChoices so that giving both spellings is an error, not a silent pick.
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for old, new in (("name", "id"), ("options", "values")):
            if old in data:
                if new in data and data[new] != data[old]:
                    raise ValueError(f"'{old}' is the deprecated name of '{new}': give only one")
                data[new] = data.pop(old)
        return data

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(
                f"invalid input id {value!r}: it must start with a letter or digit and contain "
                "only letters, digits, '.', '_' and '-'"
            )
        if value.endswith(".") or ".." in value:
            # `a..b` or `a.` would nest under an empty key.
            raise ValueError(f"invalid input id {value!r}: empty segment between dots")
        return value

    @field_validator("validator")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"validator is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check_type_rules(self) -> InputDefinition:
        t = self.type
        if t in _CHOICE_TYPES:
            if self.values is None and self.expression is None:
                raise ValueError(f"a {t.value} input needs 'values' (or 'expression')")
            if self.values is not None and not self.values:
                raise ValueError(f"'values' of a {t.value} input must not be empty")
        elif self.values is not None:
            raise ValueError(
                f"'values' is only allowed on ENUM, SELECT and MULTISELECT, not {t.value}"
            )
        if t is InputType.ARRAY and self.itemType is None:
            raise ValueError("an ARRAY input needs 'itemType'")
        if self.itemType is not None:
            if t not in _ITEM_TYPE_OWNERS:
                raise ValueError(
                    f"'itemType' is only allowed on ARRAY and MULTISELECT, not {t.value}"
                )
            if self.itemType in _FORBIDDEN_ITEM_TYPES:
                raise ValueError(f"'itemType' cannot be {self.itemType.value}")
        if (self.min is not None or self.max is not None) and t not in _RANGE_TYPES:
            raise ValueError(
                f"'min'/'max' are only allowed on INT, FLOAT and DURATION, not {t.value}"
            )
        if (self.after is not None or self.before is not None) and t not in _TEMPORAL_TYPES:
            raise ValueError(
                f"'after'/'before' are only allowed on DATE, DATETIME and TIME, not {t.value}"
            )
        if self.validator is not None and t not in _TEXT_TYPES:
            raise ValueError(
                f"'validator' is only allowed on STRING, SECRET, EMAIL and URI, not {t.value}"
            )
        # Bounds must parse with the input's own type, and be in order.
        low_name, high_name = ("min", "max") if t in _RANGE_TYPES else ("after", "before")
        bounds = []
        for which in (low_name, high_name):
            try:
                bounds.append(_bound(self, which))
            except _Invalid as exc:
                raise ValueError(f"'{which}' is not a valid {t.value}: {exc}") from None
        low, high = bounds
        if low is not None and high is not None and low > high:
            raise ValueError(f"'{low_name}' must not be greater than '{high_name}'")
        # A default that can never validate is the flow author's bug: report it at load time.
        for which in ("defaults", "prefill"):
            value = getattr(self, which)
            if _is_empty(value) or _is_template(self, value):
                continue
            try:
                _parse_value(self, _default_text(self, value))
            except _Invalid as exc:
                raise ValueError(f"'{which}' is not a valid {t.value}: {exc}") from None
        return self

    @property
    def label(self) -> str:
        """Text for a form label."""
        return self.description or self.displayName or self.id

    @property
    def default_value(self) -> Any:
        """What a form starts with: ``defaults``, else ``prefill``, else the first choice when
        ``autoSelectFirst`` is set."""
        if self.defaults is not None:
            return self.defaults
        if self.prefill is not None:
            return self.prefill
        return _auto_first(self)


# --------------------------------------------------------------------------- durations

_DURATION_RE = re.compile(
    r"^(?P<sign>[-+])?P(?!$)"
    r"(?:(?P<years>\d+(?:[.,]\d+)?)Y)?"
    r"(?:(?P<months>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)"
    r"(?:(?P<hours>\d+(?:[.,]\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?"
    r")?$",
    re.IGNORECASE,
)
_DURATION_UNITS_US = {
    "weeks": 7 * 86_400_000_000,
    "days": 86_400_000_000,
    "hours": 3_600_000_000,
    "minutes": 60_000_000,
    "seconds": 1_000_000,
}


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration (``PT5M6S``, ``PT0.25S``, ``P1D``, ``P2W``, ``P2DT3H``, ``-PT1H``).

    Years and months are refused: their length depends on the calendar, and a pause timer must
    mean the same thing whenever it is armed.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected an ISO-8601 duration string, got {_show(text)}")
    match = _DURATION_RE.match(text.strip())
    if not match or not any(match.group(unit) for unit in (*_DURATION_UNITS_US, "years", "months")):
        raise ValueError(
            f"expected an ISO-8601 duration (e.g. PT5M, PT0.25S, P1DT2H), got {_show(text)}"
        )
    if match.group("years") or match.group("months"):
        raise ValueError(
            f"years and months are not supported in durations (their length varies), "
            f"use days or weeks instead: {_show(text)}"
        )
    total = Decimal(0)
    for unit, micros in _DURATION_UNITS_US.items():
        part = match.group(unit)
        if part:
            total += Decimal(part.replace(",", ".")) * micros
    if match.group("sign") == "-":
        total = -total
    try:
        return timedelta(microseconds=int(total))
    except OverflowError:
        raise ValueError(f"duration is too long: {_show(text)}") from None


def format_duration(td: timedelta) -> str:
    """Canonical ISO-8601 form: ``PT1H2M3.5S``, ``P1DT2H``, ``PT0S``, ``-PT5M``."""
    total_us = (td.days * 86_400 + td.seconds) * 1_000_000 + td.microseconds
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    days, rest = divmod(total_us, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micros = divmod(rest, 1_000_000)
    out = f"{sign}P"
    if days:
        out += f"{days}D"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or micros:
        frac = f".{micros:06d}".rstrip("0") if micros else ""
        time_part += f"{seconds}{frac}S"
    if time_part:
        out += "T" + time_part
    elif not days:
        out += "T0S"
    return out


# --------------------------------------------------------------------------- nesting


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"request.name": x}`` → ``{"request": {"name": x}}``. Raises ValueError on a conflict
    (both ``a`` and ``a.b``), like Kestra's ``flattenToNestedMap``."""
    nested, conflicts = _nest(flat)
    if conflicts:
        key, other = conflicts[0]
        raise ValueError(f"key {key!r} conflicts with key {other!r}")
    return nested


def flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Inverse of :func:`nest`: ``{"request": {"name": x}}`` → ``{"request.name": x}``.

    Every mapping is walked, so a JSON input whose value is an object is flattened too; use
    :func:`form_values` to pre-fill a form from typed values.
    """
    out: dict[str, Any] = {}
    for key, value in nested.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, full))
        else:
            out[full] = value
    return out


def _nest(flat: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Nest and collect conflicts as (later key, earlier key) instead of raising."""
    nested: dict[str, Any] = {}
    leaves: dict[tuple[str, ...], str] = {}  # path of every value placed → its key
    branches: dict[tuple[str, ...], str] = {}  # path of every dict created → first key below it
    conflicts: list[tuple[str, str]] = []
    for key, value in flat.items():
        parts = tuple(key.split("."))
        clash = next((leaves[parts[:i]] for i in range(1, len(parts)) if parts[:i] in leaves), None)
        clash = clash or leaves.get(parts) or branches.get(parts)
        if clash is not None:
            conflicts.append((key, clash))
            continue
        node = nested
        for i, part in enumerate(parts[:-1], start=1):
            branches.setdefault(parts[:i], key)
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        leaves[parts] = key
    return nested, conflicts


def _lookup(raw: Mapping[str, Any], key: str) -> Any:
    """Find ``key`` in ``raw`` either flat (``"a.b"``) or nested (``{"a": {"b": ...}}``), or any
    mix of the two; the longest flat key wins."""
    if key in raw:
        return raw[key]
    parts = key.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        inner = raw.get(head)
        if isinstance(inner, Mapping):
            found = _lookup(inner, ".".join(parts[i:]))
            if found is not _MISSING:
                return found
    return _MISSING


# --------------------------------------------------------------------------- parsing


class _Invalid(Exception):
    """One value is wrong; the message says what was expected and what was received."""


def parse_inputs(
    definitions: Sequence[InputDefinition],
    raw: Mapping[str, Any],
    *,
    use_defaults: bool = True,
    evaluate_condition: Callable[[str, dict[str, Any]], bool] | None = None,
    reject_unknown: bool = False,
) -> dict[str, Any]:
    """Validate and type submitted values; returns a nested dict (dotted ids become maps).

    ``raw`` maps input ids to strings (forms, CLI) or typed values (JSON bodies); dotted ids may be
    flat keys or nested maps. Undeclared keys are ignored as in Kestra, unless
    ``reject_unknown``: then each one is an error (a misspelt ``approvedd=false`` must not
    resume with the default ``approved=true``). Every problem of the request is raised at once
    as one :class:`InputValidationError`, so a form can mark all bad fields together.
    """
    order = {d.id: i for i, d in enumerate(definitions)}
    by_id: dict[str, InputDefinition] = {}
    errors: list[tuple[int, FieldError]] = []
    if reject_unknown:
        for key in _unknown_keys(raw, {d.id for d in definitions}):
            errors.append((len(definitions), FieldError(key, _unknown_message(key, definitions))))
    for index, d in enumerate(definitions):
        if d.id in by_id:
            errors.append((index, FieldError(d.id, "is declared more than once")))
        else:
            by_id[d.id] = d

    values: dict[str, Any] = {}  # flat, only enabled inputs that parsed
    status: dict[str, str] = {}  # ok | error | disabled | blocked | visiting

    def fail(d: InputDefinition, message: str, value: Any = None) -> str:
        shown = None if d.type is InputType.SECRET else value
        errors.append((order[d.id], FieldError(d.id, message, shown)))
        return "error"

    def visit(d: InputDefinition) -> str:
        if d.id not in status:
            status[d.id] = "visiting"
            status[d.id] = resolve(d)
        return status[d.id]

    def resolve(d: InputDefinition) -> str:
        if d.dependsOn is not None:
            outcomes = []
            for dep in d.dependsOn.inputs:
                if dep not in by_id:
                    return fail(d, f"depends on unknown input '{dep}'")
                if status.get(dep) == "visiting":
                    return fail(d, f"has a circular dependency through input '{dep}'")
                outcomes.append(visit(by_id[dep]))
            if "disabled" in outcomes:
                return "disabled"
            if "error" in outcomes or "blocked" in outcomes:
                # The dependency's own error is reported; evaluating this one would be guesswork.
                return "blocked"
            condition = d.dependsOn.condition
            if (
                condition
                and evaluate_condition is not None
                and not evaluate_condition(condition, _nest(values)[0])
            ):
                return "disabled"

        value = _lookup(raw, d.id)
        from_default = False
        if _is_empty(value):
            value = _default_for(d) if use_defaults else None
            from_default = True
        if _is_empty(value):
            if d.required:
                return fail(d, "missing required input")
            values[d.id] = None
            return "ok"
        if from_default:
            value = _default_text(d, value)
        try:
            # A list given as JSON text may be laid out on several lines; its items are
            # checked one by one (``_parse_array``).
            layout = d.type in _ITEM_TYPE_OWNERS and isinstance(value, str)
            problem = control_problem(value, multiline=d.type in MULTILINE_TYPES or layout)
            if problem:
                raise _Invalid(problem)
            values[d.id] = _parse_value(d, value)
        except _Invalid as exc:
            return fail(d, str(exc), value)
        return "ok"

    for d in by_id.values():
        visit(d)

    enabled = {i: values[i] for i in by_id if status.get(i) == "ok"}
    nested, conflicts = _nest(enabled)
    for key, other in conflicts:
        errors.append((order[key], FieldError(key, f"conflicts with input '{other}'")))
    if errors:
        errors.sort(key=lambda pair: pair[0])
        raise InputValidationError([e for _, e in errors])
    return nested


def _unknown_keys(raw: Mapping[str, Any], ids: set[str], prefix: str = "") -> list[str]:
    unknown: list[str] = []
    for key, value in raw.items():
        full = f"{prefix}{key}"
        if full in ids or value is None or value == "":
            continue  # an empty stray field carries no decision
        if isinstance(value, Mapping) and any(i.startswith(full + ".") for i in ids):
            unknown.extend(_unknown_keys(value, ids, full + "."))
        else:
            unknown.append(full)
    return unknown


def _unknown_message(key: str, definitions: Sequence[InputDefinition]) -> str:
    import difflib

    ids = [d.id for d in definitions]
    if not ids:
        return "is not an input here (this one takes no values)"
    close = difflib.get_close_matches(key, ids, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"is not an input here ({hint}expected: {', '.join(ids)})"


def _is_empty(value: Any) -> bool:
    return value is _MISSING or value is None or (isinstance(value, str) and value == "")


def _is_template(d: InputDefinition, value: Any) -> bool:
    # Kestra 1.0+ lets STRING defaults be Pebble templates, rendered later by the caller.
    return d.type in _TEXT_TYPES and isinstance(value, str) and "{{" in value


def _auto_first(d: InputDefinition) -> Any:
    if d.autoSelectFirst and d.values:
        return [d.values[0]] if d.type is InputType.MULTISELECT else d.values[0]
    return None


def _default_for(d: InputDefinition) -> Any:
    # `prefill` is deliberately not a default: Kestra lets the user clear it to null.
    return d.defaults if d.defaults is not None else _auto_first(d)


def _show(value: Any) -> str:
    """The received value for an error message, truncated so a pasted novel stays readable."""
    if isinstance(value, str):
        return repr(value if len(value) <= _SHOW_MAX else value[: _SHOW_MAX - 3] + "...")
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _SHOW_MAX else text[: _SHOW_MAX - 3] + "..."


def _got(d: InputDefinition, value: Any) -> str:
    # Never echo a secret back into an error that may be logged or shown in Slack.
    return "got '***'" if d.type is InputType.SECRET else f"got {_show(value)}"


def _parse_value(d: InputDefinition, value: Any) -> Any:
    """Parse, check constraints and return the JSON-serialisable value. Raises _Invalid."""
    t = d.type
    if t is InputType.FILE:
        return _parse_file(value)
    if _is_upload(value):
        raise _Invalid(f"file uploads are accepted only for FILE inputs, this one is {t.value}")
    if t in _CHOICE_TYPES:
        return _parse_choice(d, value)
    if t is InputType.ARRAY:
        return _parse_array(d, value)
    native = _parse_native(d, t, value)
    _check_constraints(d, native, value)
    return _to_json(native)


def _parse_file(value: Any) -> Any:
    """A FILE input: an upload (stored by the engine once the execution exists) or the
    ``kestra:///`` URI of a file already in the internal storage."""
    from engine.storage import SCHEME, UploadedFile

    if isinstance(value, UploadedFile):
        return value
    if isinstance(value, str) and value.startswith(SCHEME + "/"):
        return value
    raise _Invalid(
        "expected a file: upload it as a multipart file part (curl -F name=@path), give the "
        f"CLI a path (-i name=@path), or a kestra:/// URI; {_got_plain(value)}"
    )


def _is_upload(value: Any) -> bool:
    from engine.storage import UploadedFile

    return isinstance(value, UploadedFile) or (
        isinstance(value, list) and any(isinstance(v, UploadedFile) for v in value)
    )


def _got_plain(value: Any) -> str:
    return f"got {_show(value)}"


def _parse_native(d: InputDefinition, t: InputType, value: Any) -> Any:
    """String or typed value → Python value of the type (date, timedelta, ...)."""
    got = _got(d, value)
    if t in (InputType.STRING, InputType.SECRET):
        return _as_text(value, "expected a string", got)
    if t in (InputType.BOOLEAN, InputType.BOOL):
        return _parse_bool(value, got)
    if t is InputType.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return int(value)
        raise _Invalid(f"expected an integer, {got}")
    if t is InputType.FLOAT:
        return _parse_float(value, got)
    if t is InputType.DATE:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise _Invalid(f"expected a date (YYYY-MM-DD), {got}")
    if t is InputType.DATETIME:
        return _parse_datetime(value, got)
    if t is InputType.TIME:
        return _parse_time(value, got)
    if t is InputType.DURATION:
        if isinstance(value, timedelta):
            return value
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError as exc:
                if "not supported" in str(exc) or "too long" in str(exc):
                    raise _Invalid(str(exc)) from None
        raise _Invalid(f"expected an ISO-8601 duration (e.g. PT5M, P1DT2H), {got}")
    if t is InputType.URI:
        text = _as_text(value, "expected a URI", got).strip()
        try:
            parts = urlsplit(text)
            ok = bool(
                re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*", parts.scheme)
                and parts.hostname
                and not re.search(r"\s", text)
            )
        except ValueError:  # e.g. a bad IPv6 literal or port
            ok = False
        if not ok:
            raise _Invalid(
                f"expected a URI with a scheme and a host (e.g. https://example.com), {got}"
            )
        return text
    if t is InputType.EMAIL:
        text = _as_text(value, "expected an email address", got).strip()
        if not _EMAIL_RE.fullmatch(text):
            raise _Invalid(f"expected an email address, {got}")
        return text
    if t is InputType.JSON:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise _Invalid(
                    f"expected valid JSON ({exc.msg} at line {exc.lineno}), {got}"
                ) from None
        return value
    if t is InputType.YAML:
        if isinstance(value, str):
            from engine.flows.yaml_reader import load_yaml  # engine.flows imports this module

            try:
                return load_yaml(value)
            except yaml.YAMLError as exc:
                problem = getattr(exc, "problem", None) or "syntax error"
                raise _Invalid(f"expected valid YAML ({problem}), {got}") from None
        return value
    raise _Invalid(f"{t.value} inputs are not supported")  # pragma: no cover - enum is exhaustive


_EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
_FLOAT_RE = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*")


def _as_text(value: Any, expected: str, got: str) -> str:
    """Text inputs take text only: a JSON number, boolean, array or object is not the text a
    person typed (``{"name": 42}`` is a per-field error; ``{"name": "42"}`` is fine). A YAML
    default such as ``defaults: 42`` is turned into text first (``_default_text``)."""
    if isinstance(value, str):
        return value
    raise _Invalid(f"{expected}, {got}")


def _parse_bool(value: Any, got: str) -> bool:
    """``true`` or ``false`` in any case, or a JSON boolean; nothing else (``yes``, ``on``,
    ``1``, a JSON number): a decision is never guessed from a near miss."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    raise _Invalid(f"expected true or false, {got}")


# Inputs a person may type several lines into (a text area): tab and line breaks are allowed
# there, and no other control character anywhere.
MULTILINE_TYPES = frozenset({InputType.STRING, InputType.SECRET, InputType.JSON, InputType.YAML})
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def control_problem(value: Any, *, multiline: bool) -> str | None:
    """Why ``value`` (text, or a JSON structure holding text) cannot be stored as typed: a NUL
    or another control character. Multi-line text may hold tab, newline and CRLF (what a browser
    sends for a text area's line breaks)."""
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL
    for text in _strings(value):
        found = pattern.search(text)
        if found:
            char = found.group()[0]
            where = "" if multiline else "; this value is a single line"
            allowed = " (tab and newline are fine)" if multiline else ""
            return f"control character U+{ord(char):04X} is not allowed{allowed}{where}"
    return None


def check_text(field: str, value: str | None, *, multiline: bool = True) -> None:
    """Raises ``InputValidationError`` naming ``field`` for a text value (a kill reason, a
    review comment) holding a control character."""
    if value is None:
        return
    problem = control_problem(value, multiline=multiline)
    if problem:
        raise InputValidationError([FieldError(field, problem)])


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _default_text(d: InputDefinition, value: Any) -> Any:
    """A YAML default is written by the flow's author, not typed by a user: ``defaults: 42``
    for a STRING means the text ``42``."""
    if d.type in _TEXT_TYPES and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _parse_float(value: Any, got: str) -> float:
    number: float | None = None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number or (isinstance(value, str) and _FLOAT_RE.fullmatch(value)):
        number = float(value)
    # NaN and infinities are not JSON, and never a sensible answer on a form.
    if number is None or not math.isfinite(number):
        raise _Invalid(f"expected a number, {got}")
    return number


def _parse_datetime(value: Any, got: str) -> datetime:
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", value.strip()
    ):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise _Invalid(f"expected a date-time (ISO-8601, e.g. 2024-07-01T10:00:00Z), {got}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _Invalid(
            f"needs a timezone: add Z or an offset (e.g. 2024-07-01T10:00:00Z or "
            f"2024-07-01T12:00:00+02:00), {got}"
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise _Invalid(f"is outside the range of dates, {got}") from None


def _parse_time(value: Any, got: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and re.fullmatch(
        r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?", value.strip()
    ):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    hint = ""
    if isinstance(value, int) and not isinstance(value, bool):
        # PyYAML reads an unquoted 10:15:30 as the base-60 integer 36930.
        hint = " (quote times in YAML: '10:15:30')"
    raise _Invalid(f"expected a time (HH:MM or HH:MM:SS), {got}{hint}")


def _bound(d: InputDefinition, which: str) -> Any:
    """A min/max/after/before bound, parsed with the input's own type (or None)."""
    raw = getattr(d, which)
    if raw is None:
        return None
    if d.type in (InputType.INT, InputType.FLOAT):
        # An INT may have a fractional bound (`max: 9.5`): compare as numbers.
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        return _parse_float(raw, f"got {_show(raw)}")
    return _parse_native(d, d.type, raw)


def _check_constraints(d: InputDefinition, native: Any, raw: Any) -> None:
    got = _got(d, raw)
    if d.type in _RANGE_TYPES:
        low, high = _bound(d, "min"), _bound(d, "max")
        if low is not None and native < low:
            raise _Invalid(f"must be at least {_display(low)}, {got}")
        if high is not None and native > high:
            raise _Invalid(f"must be at most {_display(high)}, {got}")
    elif d.type in _TEMPORAL_TYPES:
        low, high = _bound(d, "after"), _bound(d, "before")
        if low is not None and native < low:
            raise _Invalid(f"must be on or after {_display(low)}, {got}")
        if high is not None and native > high:
            raise _Invalid(f"must be on or before {_display(high)}, {got}")
    elif d.validator is not None and not re.fullmatch(d.validator, native):
        raise _Invalid(f"must match the pattern {d.validator}, {got}")


def _display(value: Any) -> str:
    converted = _to_json(value)
    return converted if isinstance(converted, str) else json.dumps(converted)


def _parse_choice(d: InputDefinition, value: Any) -> Any:
    got = _got(d, value)
    if d.type is InputType.MULTISELECT:
        chosen, rejected, problems = [], [], []
        for index, item in enumerate(_as_list(value, got), start=1):
            try:
                chosen.append(_choose(d, item))
            except _NotAChoice:
                rejected.append(_show(item))
            except _Invalid as exc:
                problems.append(f"item {index}: {exc}")
        if rejected:
            problems.insert(
                0, f"each item must be one of: {_choices(d)}; not allowed: " + ", ".join(rejected)
            )
        if problems:
            raise _Invalid("; ".join(problems))
        return chosen
    if isinstance(value, list | dict):
        raise _Invalid(f"expected a single value, {got}")
    try:
        return _choose(d, value)
    except _NotAChoice:
        raise _Invalid(f"must be one of: {_choices(d)}, {got}") from None


class _NotAChoice(_Invalid):
    pass


def _choose(d: InputDefinition, item: Any) -> Any:
    """Match ``item`` against ``values``; a form sends ``"2"`` for ``values: [1, 2]``, so compare
    as text too and return the declared value (keeping its YAML type)."""
    if d.values is not None:
        for candidate in d.values:
            if item == candidate and type(item) is type(candidate):
                return candidate
        for candidate in d.values:
            if not isinstance(item, list | dict) and _text(candidate) == _text(item):
                return candidate
        if not d.allowCustomValue:
            raise _NotAChoice()
    # Custom values (or values from an `expression` we cannot see) are typed by itemType.
    item_type = d.itemType or InputType.STRING
    native = _parse_native(d, item_type, item)
    return _to_json(native)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _choices(d: InputDefinition) -> str:
    return ", ".join(_text(v) for v in d.values or [])


def _as_list(value: Any, got: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError:
            loaded = None
        if isinstance(loaded, list):
            return loaded
    raise _Invalid(f'expected a list (a JSON array such as ["a", "b"]), {got}')


def _parse_array(d: InputDefinition, value: Any) -> list[Any]:
    items = _as_list(value, _got(d, value))
    assert d.itemType is not None  # guaranteed by the definition validator
    item_def = d.model_copy(update={"type": d.itemType, "itemType": None})
    out, problems = [], []
    for index, item in enumerate(items, start=1):
        try:
            if _is_empty(item):
                raise _Invalid("must not be empty")
            problem = control_problem(item, multiline=item_def.type in MULTILINE_TYPES)
            if problem:
                raise _Invalid(problem)
            out.append(_parse_value(item_def, item))
        except _Invalid as exc:
            problems.append(f"item {index}: {exc}")
    if problems:
        raise _Invalid("; ".join(problems))
    return out


def _to_json(value: Any) -> Any:
    """Python value → JSON-serialisable value (ISO strings for dates, times and durations)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid("is not a finite number")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        utc = value.astimezone(UTC)
        frac = f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else ""
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, Decimal):
        return _to_json(float(value))
    raise _Invalid(f"is not JSON-serialisable ({type(value).__name__})")


# --------------------------------------------------------------------------- forms


def form_value(definition: InputDefinition, value: Any) -> str:
    """Render a typed value as the text a form field shows (and :func:`parse_inputs` reads back)."""
    if value is None:
        return ""
    if definition.type is InputType.JSON:
        # Even a JSON string must keep its quotes so that it parses back to the same value.
        return json.dumps(_safe_json(value), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(_safe_json(value), ensure_ascii=False)
    converted = _safe_json(value)
    return converted if isinstance(converted, str) else str(converted)


def form_values(
    definitions: Iterable[InputDefinition], values: Mapping[str, Any]
) -> dict[str, str]:
    """Form text per input id from typed (nested or flat) values; inputs without a value get
    their :attr:`InputDefinition.default_value`. Unlike :func:`flatten`, JSON objects stay whole."""
    out: dict[str, str] = {}
    for d in definitions:
        value = _lookup(values, d.id)
        if value is _MISSING:
            value = d.default_value
        out[d.id] = form_value(d, value)
    return out


def _safe_json(value: Any) -> Any:
    try:
        return _to_json(value)
    except _Invalid:
        return str(value)


__all__ = [
    "DependsOn",
    "InputDefinition",
    "InputType",
    "flatten",
    "form_value",
    "form_values",
    "format_duration",
    "nest",
    "parse_duration",
    "parse_inputs",
]
