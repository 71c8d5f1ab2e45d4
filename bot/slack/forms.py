"""A Pause's ``onResume`` inputs as Block Kit input blocks, and submitted ``view.state.values``
back to the raw values ``Engine.resume_execution`` validates.

One input block per input, ``block_id`` = the input id (so engine errors land on the right
field), ``action_id`` = ``value``. Values of selects are option *indexes*: declared values can be
longer than an option value may be (150) and are mapped back from the flow, never trusted from
Slack. Inputs Slack cannot show well (FILE, SECRET, options computed by an ``expression``, arrays
of objects, values longer than a text input holds) are left to the web form.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import yaml
from slack_sdk.models.blocks import (
    CheckboxesElement,
    DatePickerElement,
    DateTimePickerElement,
    EmailInputElement,
    InputBlock,
    InputInteractiveElement,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
    UrlInputElement,
)

from bot.slack import texts
from bot.slack.mrkdwn import truncate
from engine.errors import InputValidationError
from engine.inputs import InputDefinition, InputType, form_value

ACTION_ID = "value"
MAX_INPUT_BLOCKS = 90  # of a modal's 100 blocks; the rest hold the intro and notes
LABEL_MAX = 2000
HINT_MAX = 2000
TEXT_MAX = 3000
OPTIONS_MAX = 100
RADIO_MAX = 10
OPTION_TEXT_MAX = 75
BLOCK_ID_MAX = 255
_LONG_TEXT_ID = re.compile(r"(comment|reason|note|message|description|details|why)", re.IGNORECASE)

StateValue = Mapping[str, Any]
Reader = Callable[[StateValue], Any]


@dataclass(frozen=True)
class FormField:
    definition: InputDefinition
    block: InputBlock
    read: Reader


@dataclass(frozen=True)
class Form:
    fields: list[FormField]
    web_only: list[InputDefinition] = field(default_factory=list)

    @property
    def needs_web_form(self) -> bool:
        """True when Slack cannot submit a valid answer: a web-only input has no default."""
        return any(d.required and d.default_value is None for d in self.web_only)

    def blocks(self) -> list[InputBlock]:
        return [f.block for f in self.fields]

    def read(self, state_values: Mapping[str, Any]) -> dict[str, Any]:
        """Raw values by input id; web-only inputs are left out so the engine applies defaults."""
        raw: dict[str, Any] = {}
        for form_field in self.fields:
            block_state = state_values.get(form_field.definition.id) or {}
            element_state = block_state.get(ACTION_ID) if isinstance(block_state, Mapping) else None
            raw[form_field.definition.id] = form_field.read(element_state or {})
        return raw

    def errors_by_block(self, error: InputValidationError) -> dict[str, str]:
        """Engine field errors keyed by the block_id that shows them (only fields in the form)."""
        shown = {f.definition.id for f in self.fields}
        return {e.field: truncate(e.message, 150) for e in error.errors if e.field in shown}


def build_form(
    definitions: list[InputDefinition], initial: Mapping[str, Any] | None = None
) -> Form:
    """``initial`` overrides defaults by input id (the decision input's approve/reject answer)."""
    initial = initial or {}
    fields: list[FormField] = []
    web_only: list[InputDefinition] = []
    for definition in definitions:
        value = initial.get(definition.id, definition.default_value)
        built = (
            None
            if len(fields) >= MAX_INPUT_BLOCKS
            else _field(definition, value, definition.id in initial)
        )
        if built is None:
            web_only.append(definition)
        else:
            fields.append(built)
    return Form(fields, web_only)


def _field(d: InputDefinition, value: Any, decisive: bool) -> FormField | None:
    if len(d.id) > BLOCK_ID_MAX:
        return None
    made = _element(d, value, decisive)
    if made is None:
        return None
    element, read, optional, hint = made
    hints = [
        h for h in (hint, texts.hint_depends(d.dependsOn.inputs) if d.dependsOn else None) if h
    ]
    block = InputBlock(
        block_id=d.id,
        label=truncate(d.label, LABEL_MAX),
        element=element,
        optional=optional or d.dependsOn is not None,
        hint=truncate(" ".join(hints), HINT_MAX) if hints else None,
    )
    return FormField(d, block, read)


_Made = tuple[InputInteractiveElement, Reader, bool, str | None]


def _element(d: InputDefinition, value: Any, decisive: bool) -> _Made | None:
    t = d.type
    optional = not d.required
    if t in (InputType.FILE, InputType.SECRET):
        return None
    if t in (InputType.BOOLEAN, InputType.BOOL):
        return _boolean(d, value, decisive)
    if t in (InputType.INT, InputType.FLOAT):
        return _number(d, value, optional)
    if t in (InputType.DATE, InputType.TIME, InputType.DATETIME):
        return _temporal(d, value, optional)
    if t in (InputType.EMAIL, InputType.URI):
        text = _initial_text(d, value) or None
        element: InputInteractiveElement = (
            EmailInputElement(action_id=ACTION_ID, initial_value=text)
            if t is InputType.EMAIL
            else UrlInputElement(action_id=ACTION_ID, initial_value=text)
        )
        return element, _state("value"), optional, _pattern_hint(d)
    if t in (InputType.ENUM, InputType.SELECT, InputType.MULTISELECT):
        return _choice(d, value, optional, decisive)
    if t is InputType.JSON:
        return _text_input(d, _dump_json(value), optional, multiline=True, hint=texts.HINT_JSON)
    if t is InputType.YAML:
        text = (
            ""
            if value is None
            else value
            if isinstance(value, str)
            else yaml.safe_dump(value, sort_keys=False)
        )
        return _text_input(d, text, optional, multiline=True, hint=texts.HINT_YAML)
    if t is InputType.ARRAY:
        if d.itemType in (InputType.JSON, InputType.YAML):
            return None  # arrays of objects: the web form does them justice
        return _text_input(d, _dump_json(value), optional, multiline=True, hint=texts.HINT_ARRAY)
    if t is InputType.DURATION:
        hint = " ".join(
            h for h in (texts.HINT_DURATION, texts.hint_range(_text(d.min), _text(d.max))) if h
        )
        return _text_input(
            d, _initial_text(d, value), optional, placeholder=texts.PLACEHOLDER_DURATION, hint=hint
        )
    # STRING and anything new: free text.
    text = _initial_text(d, value)
    multiline = "\n" in text or len(text) > 120 or bool(_LONG_TEXT_ID.search(d.id))
    return _text_input(d, text, optional, multiline=multiline, hint=_pattern_hint(d))


# -- element builders ---------------------------------------------------------------------------


def _text_input(
    d: InputDefinition,
    text: str,
    optional: bool,
    *,
    multiline: bool = False,
    placeholder: str | None = None,
    hint: str | None = None,
) -> _Made | None:
    if len(text) > TEXT_MAX:
        return None
    element = PlainTextInputElement(
        action_id=ACTION_ID,
        initial_value=text or None,
        multiline=multiline or None,
        max_length=TEXT_MAX,
        placeholder=placeholder,
    )
    return element, _state("value"), optional, hint


def _boolean(d: InputDefinition, value: Any, decisive: bool) -> _Made:
    yes = Option(value="true", text=texts.YES)
    no = Option(value="false", text=texts.NO)
    checked = _truthy(value)
    if decisive or (d.required and value is None):
        # A radio makes the answer explicit: the decision, or a required yes/no without default.
        initial = None if checked is None else (yes if checked else no)
        radio = RadioButtonsElement(action_id=ACTION_ID, options=[yes, no], initial_option=initial)
        return radio, _read_radio_boolean, not d.required and not decisive, None
    box = CheckboxesElement(
        action_id=ACTION_ID, options=[yes], initial_options=[yes] if checked else None
    )
    # An unticked box is an answer (false), so the block is optional whatever `required` says.
    return box, _read_checkbox, True, None


def _temporal(d: InputDefinition, value: Any, optional: bool) -> _Made:
    hint = texts.hint_dates(_text(d.after), _text(d.before))
    if d.type is InputType.DATE:
        date_picker = DatePickerElement(action_id=ACTION_ID, initial_date=_date(value))
        return date_picker, _state("selected_date"), optional, hint
    if d.type is InputType.TIME:
        time_picker = TimePickerElement(action_id=ACTION_ID, initial_time=_time(value))
        return time_picker, _state("selected_time"), optional, hint
    picker = DateTimePickerElement(action_id=ACTION_ID, initial_date_time=_epoch(value))
    return picker, _read_datetime, optional, " ".join(h for h in (texts.HINT_DATETIME, hint) if h)


def _number(d: InputDefinition, value: Any, optional: bool) -> _Made:
    decimal = d.type is InputType.FLOAT
    low, high = _bound(d.min, decimal, up=True), _bound(d.max, decimal, up=False)
    element = NumberInputElement(
        action_id=ACTION_ID,
        is_decimal_allowed=decimal,
        initial_value=_number_text(value),
        min_value=low,
        max_value=high,
    )
    return element, _state("value"), optional, texts.hint_range(low, high)


def _choice(d: InputDefinition, value: Any, optional: bool, decisive: bool) -> _Made | None:
    if d.values is None:
        return None  # options come from an `expression` only the web form evaluates
    multi = d.type is InputType.MULTISELECT
    labels = [_choice_text(v) for v in d.values]
    if d.allowCustomValue or len(d.values) > OPTIONS_MAX:
        # Slack selects cannot take a value of one's own: a text field with the choices as hint.
        hint = texts.hint_choices(labels, d.allowCustomValue)
        if multi:
            return _text_input(
                d, _dump_json(value), optional, multiline=True, hint=truncate(hint, HINT_MAX)
            )
        return _text_input(d, _initial_text(d, value), optional, hint=truncate(hint, HINT_MAX))
    options = [
        Option(value=str(i), text=truncate(label or " ", OPTION_TEXT_MAX))
        for i, label in enumerate(labels)
    ]
    if multi:
        chosen = value if isinstance(value, list) else []
        initial = [options[i] for i in _indexes(d.values, chosen)]
        element: InputInteractiveElement = StaticMultiSelectElement(
            action_id=ACTION_ID, options=options, initial_options=initial or None
        )
        return element, _reader_multi(d.values), optional, None
    index = next(iter(_indexes(d.values, [value])), None) if value is not None else None
    initial_option = options[index] if index is not None else None
    if (d.isRadio or decisive) and len(options) <= RADIO_MAX:
        element = RadioButtonsElement(
            action_id=ACTION_ID, options=options, initial_option=initial_option
        )
    else:
        element = StaticSelectElement(
            action_id=ACTION_ID, options=options, initial_option=initial_option
        )
    return element, _reader_single(d.values), optional, None


# -- readers: one element's state -> the raw value parse_inputs reads -----------------------------


def _state(key: str) -> Reader:
    return lambda state: state.get(key)


def _read_checkbox(state: StateValue) -> str:
    return "true" if state.get("selected_options") else "false"


def _read_radio_boolean(state: StateValue) -> str | None:
    option = state.get("selected_option")
    return option.get("value") if isinstance(option, Mapping) else None


def _read_datetime(state: StateValue) -> str | None:
    seconds = state.get("selected_date_time")
    if seconds is None:
        return None
    try:
        moment = datetime.fromtimestamp(int(seconds), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(seconds)  # let the engine say what is wrong with it
    return moment.isoformat().replace("+00:00", "Z")


def _reader_single(values: list[Any]) -> Reader:
    def read(state: StateValue) -> Any:
        option = state.get("selected_option")
        if not isinstance(option, Mapping):
            return None
        return _declared(values, option.get("value"))

    return read


def _reader_multi(values: list[Any]) -> Reader:
    def read(state: StateValue) -> Any:
        options = state.get("selected_options") or []
        return [_declared(values, o.get("value")) for o in options if isinstance(o, Mapping)]

    return read


def _declared(values: list[Any], index: Any) -> Any:
    """The flow's value for an option index; an unknown index passes through so that the
    engine refuses it with its usual message."""
    try:
        position = int(index)
    except (TypeError, ValueError):
        return index
    return values[position] if 0 <= position < len(values) else index


# -- value formatting -----------------------------------------------------------------------------


def _truthy(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "1", "on")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _initial_text(d: InputDefinition, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and "{{" in value:
        return ""  # an unrendered template is not a useful starting point
    return form_value(d, value)


def _dump_json(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _choice_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _indexes(values: list[Any], chosen: list[Any]) -> list[int]:
    found = []
    for item in chosen:
        for i, candidate in enumerate(values):
            if candidate == item or _choice_text(candidate) == _choice_text(item):
                found.append(i)
                break
    return found


def _pattern_hint(d: InputDefinition) -> str | None:
    return texts.hint_pattern(d.validator) if d.validator else None


def _bound(value: Any, decimal: bool, *, up: bool) -> str | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if decimal:
        return _number_text(number)
    # An INT input may have a fractional bound; Slack's integer field needs a whole one.
    return str(math.ceil(number) if up else math.floor(number))


def _number_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _date(value: Any) -> str | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return value.strip()
    return None


def _time(value: Any) -> str | None:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?", value.strip())
        if match:
            return match.group(1)
    return None


def _epoch(value: Any) -> int | None:
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if moment is None or moment.tzinfo is None:
        return None
    seconds = int(moment.timestamp())
    return seconds if 0 <= seconds <= 9_999_999_999 else None
