"""Typed ``onResume`` inputs as HTML form fields, and submitted forms back to input values.

The browser only helps (widgets, keyboards, hints); the engine's ``parse_inputs`` is the one
validator, so every surface refuses the same values with the same messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from engine.inputs import InputDefinition, InputType, form_value, form_values
from engine.storage import UploadedFile

Submitted = Mapping[str, "str | list[str]"]

_NUMBER_TYPES = {InputType.INT, InputType.FLOAT}
_BOOLEAN_TYPES = {InputType.BOOLEAN, InputType.BOOL}
_TEXTAREA_TYPES = {InputType.JSON, InputType.ARRAY, InputType.YAML}
_PLAIN_INPUT_TYPES = {
    InputType.STRING: "text",
    InputType.EMAIL: "email",
    InputType.URI: "url",
    InputType.SECRET: "password",
    InputType.DATE: "date",
    InputType.TIME: "time",
    InputType.DATETIME: "datetime-local",
    InputType.DURATION: "text",
}
# datetime-local has no zone: the form shows and reads UTC, and says so next to the field.
_LOCAL_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_UTC_DATETIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?Z$")


@dataclass
class FormField:
    """What a template needs to draw one input, with its label, value and error."""

    name: str  # the input id, used as the HTML name
    html_id: str
    label: str
    widget: str  # input | textarea | boolean | select | radios | checkboxes | unsupported
    input_type: str = "text"
    help: str | None = None
    hint: str | None = None
    required: bool = False  # must be filled in: required and without a default
    optional: bool = False  # may be left empty (``required: false``)
    value: str = ""
    selected: list[str] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    attrs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    locked: bool = False  # shown, but fixed by the link's action (a hidden input carries it)

    @property
    def described_by(self) -> str:
        """Ids of the help, hint and error texts, for ``aria-describedby``."""
        parts = [("help", self.help), ("hint", self.hint), ("error", self.error)]
        return " ".join(f"{self.html_id}-{kind}" for kind, text in parts if text)


def build_fields(
    definitions: Sequence[InputDefinition],
    *,
    prefix: str,
    submitted: Submitted | None = None,
    errors: Mapping[str, str] | None = None,
    fixed: Mapping[str, str] | None = None,
) -> list[FormField]:
    """Fields pre-filled with defaults, or with what was submitted when the form comes back
    with errors. ``fixed`` maps input ids to values the person may not change."""
    defaults = form_values(definitions, {})
    errors = errors or {}
    fixed = fixed or {}
    fields = []
    for d in definitions:
        raw: str | list[str]
        if d.id in fixed:
            raw = fixed[d.id]
        elif submitted is not None:
            raw = submitted.get(d.id, "")
        else:
            raw = _initial(d, defaults[d.id])
        item = _field(d, prefix, raw)
        error = errors.get(d.id)
        item.error = people_error(d, error) if error else None
        item.locked = d.id in fixed
        fields.append(item)
    return fields


def read_form(definitions: Sequence[InputDefinition], form: FormData) -> dict[str, str | list[str]]:
    """The submitted text per input id, as the form sent it (kept to re-show on errors)."""
    submitted: dict[str, str | list[str]] = {}
    for d in definitions:
        if d.type is InputType.MULTISELECT:
            submitted[d.id] = [str(v) for v in form.getlist(d.id) if str(v) != ""]
        elif d.type is InputType.FILE:
            upload = form.get(d.id)
            # A browser sends an empty part for a file field left empty: the default applies.
            chosen = isinstance(upload, UploadedFile) and bool(upload.name or upload.data)
            submitted[d.id] = upload if chosen else ""  # type: ignore[assignment]
        else:
            value = form.get(d.id)
            submitted[d.id] = value if isinstance(value, str) else ""
    return submitted


def to_values(definitions: Sequence[InputDefinition], submitted: Submitted) -> dict[str, Any]:
    """Submitted text → raw values for ``parse_inputs``; empty fields are left out so that the
    input's default applies, exactly as for an API call that omits them."""
    values: dict[str, Any] = {}
    for d in definitions:
        raw = submitted.get(d.id)
        if not raw:
            continue
        if isinstance(raw, str) and d.type is InputType.DATETIME and _LOCAL_DATETIME_RE.match(raw):
            raw = raw + "Z"
        values[d.id] = raw
    return values


def _initial(d: InputDefinition, text: str) -> str | list[str]:
    if d.type is InputType.SECRET:
        return ""  # never put a secret default into a page; an empty field gets the default
    if d.type is InputType.MULTISELECT:
        try:
            chosen = json.loads(text) if text else []
        except ValueError:
            chosen = []
        return [_choice_text(v) for v in chosen] if isinstance(chosen, list) else []
    if d.type is InputType.DATETIME:
        return _to_local(text)
    return text


def _field(d: InputDefinition, prefix: str, raw: str | list[str]) -> FormField:
    label = d.displayName or d.description or d.id
    item = FormField(
        name=d.id,
        html_id=f"{prefix}-{d.id}",
        label=label,
        widget="input",
        help=d.description if d.displayName and d.description else None,
        required=d.required and d.default_value is None,
        optional=not d.required,
    )
    text = raw if isinstance(raw, str) else ""
    t = d.type
    if t in _BOOLEAN_TYPES:
        # Yes/No radios rather than a checkbox: an unticked box cannot be told from "not
        # answered", and an approval deserves an explicit answer.
        item.widget = "boolean"
        item.value = text.strip().lower()
    elif t in (InputType.ENUM, InputType.SELECT):
        item.widget = "radios" if d.isRadio else "select"
        item.value = text
        item.options = [(_choice_text(v), _choice_text(v)) for v in d.values or []]
        if d.allowCustomValue or not d.values:
            item.widget = "input"
            item.attrs["list"] = f"{item.html_id}-choices"
    elif t is InputType.MULTISELECT:
        item.widget = "checkboxes"
        item.selected = list(raw) if isinstance(raw, list) else [text] if text else []
        item.options = [(_choice_text(v), _choice_text(v)) for v in d.values or []]
    elif t in _NUMBER_TYPES:
        item.input_type = "number"
        item.value = text
        item.attrs["step"] = "1" if t is InputType.INT else "any"
        item.attrs["inputmode"] = "numeric" if t is InputType.INT else "decimal"
        for bound in ("min", "max"):
            value = getattr(d, bound)
            if value is not None:
                item.attrs[bound] = str(value)
        item.hint = _range_hint(d.min, d.max)
    elif t in _TEXTAREA_TYPES:
        item.widget = "textarea"
        item.value = _pretty(text) if t is not InputType.YAML else text
        item.hint = {
            InputType.JSON: "JSON",
            InputType.ARRAY: f"A JSON array of {(d.itemType or InputType.STRING).value}",
            InputType.YAML: "YAML",
        }[t]
    elif t is InputType.FILE:
        item.widget = "file"  # a chosen file cannot be shown again: it is chosen anew
        item.hint = "A file (kept in pausebot's storage with the decision)."
    else:
        item.input_type = _PLAIN_INPUT_TYPES.get(t, "text")
        item.value = text
        _plain_attrs(d, item)
    return item


def _plain_attrs(d: InputDefinition, item: FormField) -> None:
    t = d.type
    if t is InputType.DATETIME:
        item.attrs["step"] = "1"
        item.hint = "UTC"
        bounds = {
            "min": _to_local(form_value(d, d.after)),
            "max": _to_local(form_value(d, d.before)),
        }
    elif t in (InputType.DATE, InputType.TIME):
        if t is InputType.TIME:
            item.attrs["step"] = "1"
        bounds = {"min": form_value(d, d.after), "max": form_value(d, d.before)}
    else:
        bounds = {}
    item.attrs.update({k: v for k, v in bounds.items() if v})
    if t is InputType.DURATION:
        item.attrs["placeholder"] = "PT30M"
        item.hint = "An ISO-8601 duration, e.g. PT30M or P1DT2H" + _range_hint(d.min, d.max, ", ")
    if t is InputType.SECRET:
        item.attrs["autocomplete"] = "off"
    if d.validator:
        item.attrs["pattern"] = d.validator
        example = example_of(d)
        item.hint = f"For example {example}" if example else f"Must match {d.validator}"


_EXAMPLE_RE = re.compile(
    r"(?:\be\.g\.,?|\bfor example:?|\bexample:|\bsuch as|\blike)\s+[`'\"]?([^\s`'\",;()]+)",
    re.IGNORECASE,
)


def example_of(d: InputDefinition) -> str | None:
    """A value that passes the input's ``validator``, for people: a word after "e.g.", "for
    example", "example:", "such as" or "like" in its ``description`` (or ``displayName``), else
    its default. Only a candidate that really matches the pattern is used."""
    if not d.validator:
        return None
    candidates = []
    for text in (d.description, d.displayName):
        candidates += [m.group(1).rstrip(".:!?") for m in _EXAMPLE_RE.finditer(text or "")]
    if isinstance(d.defaults, str | int) and not isinstance(d.defaults, bool):
        candidates.append(str(d.defaults))
    for candidate in candidates:
        try:
            if re.fullmatch(d.validator, candidate):
                return candidate
        except re.error:
            return None
    return None


def people_error(d: InputDefinition, message: str) -> str:
    """The engine's message with the pattern replaced by an example when there is one: "must
    look like CHG-1234", not "must match the pattern ^CHG-[0-9]+$"."""
    if d.validator and message.startswith("must match the pattern"):
        example = example_of(d)
        got = message.rsplit(", got", 1)
        tail = f", got{got[1]}" if len(got) == 2 else ""
        if example:
            return f"must look like {example}{tail}"
    return message


def _range_hint(low: Any, high: Any, lead: str = "") -> str:
    if low is not None and high is not None:
        return f"{lead}from {low} to {high}"
    if low is not None:
        return f"{lead}at least {low}"
    if high is not None:
        return f"{lead}at most {high}"
    return ""


def _to_local(text: str) -> str:
    """``2024-07-01T10:00:00Z`` → ``2024-07-01T10:00:00``, the value a datetime-local takes."""
    match = _UTC_DATETIME_RE.match(text)
    return match.group(1) if match else text


def _choice_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False) if text else ""
    except ValueError:
        return text


__all__ = ["FormField", "build_fields", "example_of", "people_error", "read_form", "to_values"]
