"""The decision buttons of a waiting task: one ``Outcome`` per button, with only its fields.

Built from ``engine.waiting.WaitingTask`` (Pause, Approval or a manual pause) and two flow labels
shared with the Slack bot:

- ``slack-decision-input``: which ``onResume`` input of a Pause is the decision. A BOOLEAN id
  (``approved`` when absent) gives **Approve** / **Reject**; an ENUM/SELECT id gives one button
  per value (``<id>=<value>`` marks the value that means "rejected"). The button sets the input:
  it is never shown as a field, so nobody approves by leaving a default in place.
  A Pause without a decision input gets **Approve** (resume) and **Reject** (kill, with a reason).
- ``slack-ask-on-<option>``: input ids (comma-separated) the button ``<option>`` asks for;
  ``<option>`` is ``approve``/``reject`` (BOOLEAN), ``approve``/``deny`` (Approval) or an ENUM
  value. Without any such label every button asks for every other input. With one, the buttons
  without their own label ask only for inputs that are required and have no default.

An Approval uses its ``decisions`` labels and ``commentRequired``: a comment field on each
button, marked required where the rule asks for one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.ui.fields import FormField, build_fields
from engine.inputs import InputDefinition, InputType
from engine.model import Execution
from engine.waiting import WaitingTask

DECISION_LABEL = "slack-decision-input"
ASK_ON_PREFIX = "slack-ask-on-"
DEFAULT_DECISION_INPUT = "approved"
_BOOLEANS = (InputType.BOOLEAN, InputType.BOOL)
_CHOICES = (InputType.ENUM, InputType.SELECT)

Retry = tuple[str, str, Mapping[str, Any], Mapping[str, str]]  # run id, option, submitted, errors


@dataclass
class Outcome:
    """One button and the form it opens."""

    id: str  # sent back as ``_choice``: approve | reject | deny | resume | an ENUM value
    label: str
    style: str  # primary | danger | plain
    action: str  # resume | approve | deny (engine choices) | kill
    fixed: dict[str, Any] = field(default_factory=dict)  # decision input id -> value
    definitions: list[InputDefinition] = field(default_factory=list)  # the fields it asks for
    fields: list[FormField] = field(default_factory=list)
    comment: str | None = None  # None | "optional" | "required"
    reason: bool = False  # a Reject that kills asks for a reason
    open: bool = False  # shown open: the form came back with errors
    comment_value: str = ""
    comment_error: str | None = None
    error: str | None = None  # an error of the decision itself, shown above the button

    @property
    def html_id(self) -> str:
        return re.sub(r"[^A-Za-z0-9_-]", "-", self.id)


@dataclass
class DecisionCard:
    waiting: WaitingTask
    outcomes: list[Outcome]
    decision_input: InputDefinition | None = None

    @property
    def key(self) -> str:
        return self.waiting.task_run_id or "manual"


def _label_key(option: str) -> str:
    return ASK_ON_PREFIX + re.sub(r"\s+", "-", option.strip().lower())


def _asked(labels: Mapping[str, str]) -> dict[str, list[str]]:
    asked: dict[str, list[str]] = {}
    for key, value in labels.items():
        if key.lower().startswith(ASK_ON_PREFIX):
            ids = [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]
            asked[key.lower()] = ids
    return asked


def decision_input(
    inputs: Sequence[InputDefinition], labels: Mapping[str, str]
) -> tuple[InputDefinition, str | None] | None:
    """The decision input of a Pause and the value meaning "rejected" (ENUM only)."""
    spec = labels.get(DECISION_LABEL, DEFAULT_DECISION_INPUT).strip()
    input_id, _, reject_value = spec.partition("=")
    definition = next((d for d in inputs if d.id == input_id.strip()), None)
    if definition is None:
        return None
    if definition.type in _BOOLEANS:
        return definition, None
    if definition.type in _CHOICES and definition.values:
        return definition, reject_value.strip() or None
    return None


def _needed(definition: InputDefinition) -> bool:
    return definition.required and definition.default_value is None


def _ask(
    option: str,
    others: Sequence[InputDefinition],
    asked: Mapping[str, list[str]],
) -> list[InputDefinition]:
    if not asked:
        return list(others)
    ids = asked.get(_label_key(option))
    return [d for d in others if (ids is not None and d.id in ids) or _needed(d)]


def outcomes_of(waiting: WaitingTask, execution: Execution) -> DecisionCard:
    labels = execution.label_map()
    asked = _asked(labels)
    inputs = list(waiting.inputs)
    if waiting.kind == "manual":
        return DecisionCard(waiting, [Outcome("resume", "Resume", "primary", "resume")])
    if waiting.kind == "approval":
        outcomes = []
        for choice in waiting.choices:
            option = "approve" if choice.id == "approve" else "deny"
            outcomes.append(
                Outcome(
                    option,
                    choice.label,
                    "primary" if option == "approve" else "danger",
                    choice.id,
                    definitions=_ask(option, inputs, asked),
                    comment="required" if choice.comment_required else "optional",
                )
            )
        return DecisionCard(waiting, outcomes)
    found = decision_input(inputs, labels)
    if found is None:
        return DecisionCard(
            waiting,
            [
                Outcome(
                    "approve",
                    "Approve",
                    "primary",
                    "resume",
                    definitions=_ask("approve", inputs, asked),
                ),
                Outcome("reject", "Reject", "danger", "kill", reason=True),
            ],
        )
    definition, reject_value = found
    others = [d for d in inputs if d.id != definition.id]
    if definition.type in _BOOLEANS:
        outcomes = [
            Outcome(
                "approve",
                "Approve",
                "primary",
                "resume",
                fixed={definition.id: True},
                definitions=_ask("approve", others, asked),
            ),
            Outcome(
                "reject",
                "Reject",
                "danger",
                "resume",
                fixed={definition.id: False},
                definitions=_ask("reject", others, asked),
            ),
        ]
    else:
        outcomes = []
        for value in definition.values or []:
            text = "true" if value is True else "false" if value is False else str(value)
            style = "danger" if reject_value is not None and text == reject_value else "primary"
            outcomes.append(
                Outcome(
                    text,
                    text[:1].upper() + text[1:],
                    style,
                    "resume",
                    fixed={definition.id: text},
                    definitions=_ask(text, others, asked),
                )
            )
    return DecisionCard(waiting, outcomes, definition)


def decision_cards(
    waiting: Sequence[WaitingTask], execution: Execution, *, retry: Retry | None = None
) -> list[DecisionCard]:
    """Cards with their fields built (defaults, or what was typed when a form came back)."""
    cards = []
    for item in waiting:
        card = outcomes_of(item, execution)
        for outcome in card.outcomes:
            again = retry is not None and retry[0] == card.key and retry[1] == outcome.id
            submitted = retry[2] if again and retry else None
            errors = dict(retry[3]) if again and retry else {}
            outcome.fields = build_fields(
                outcome.definitions,
                prefix=f"d-{card.key}-{outcome.html_id}",
                submitted=submitted,
                errors=errors,
            )
            if again and submitted is not None:
                outcome.open = True
                outcome.comment_value = str(
                    submitted.get("comment") or submitted.get("reason") or ""
                )
                outcome.comment_error = errors.get("comment")
                known = {d.id for d in outcome.definitions} | {"comment"}
                stray = [f"{k}: {v}" for k, v in errors.items() if k not in known]
                outcome.error = "; ".join(stray) or None
        cards.append(card)
    return cards


def find_outcome(card: DecisionCard, option: str) -> Outcome | None:
    return next((o for o in card.outcomes if o.id == option), None)


__all__ = [
    "ASK_ON_PREFIX",
    "DECISION_LABEL",
    "DecisionCard",
    "Outcome",
    "decision_cards",
    "decision_input",
    "find_outcome",
    "outcomes_of",
]
