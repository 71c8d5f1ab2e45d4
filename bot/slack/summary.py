"""What every Slack surface says about one waiting (or decided) Pause or Approval, as plain data.

``summarize(pause, now=..., people=...)`` reads the execution, its flow and the task run once and
returns a ``Summary``: the question, who asked, since when, the deadline and what happens then,
the key inputs formatted by type, the options a person can choose (one button each) and, once
it is over, the ``Outcome``: who chose which option, or why nobody did. Messages, modals, the
``/paused`` list, the Home tab and direct messages all render a ``Summary``; none of them reads
outputs or labels itself, so they cannot disagree about what happened.

Values are formatted once here, as mrkdwn escaped by ``bot.slack.mrkdwn``; plain texts (the
question, labels, option labels) are for plain-text fields and are escaped where they are put
into mrkdwn.

Flow (or execution) labels, all optional, keep flows valid Kestra YAML:

- ``slack-decision-input``: the Pause input that is the decision (default ``approved``, a
  BOOLEAN). A BOOLEAN gives the options ``approve``/``reject``; an ENUM/SELECT one option per
  value (``decision=reject`` additionally marks ``reject`` as the rejection). The button pressed
  sets it: it is never a field of a modal.
- ``slack-ask-on-<option>``: the input ids (comma or space separated; ``none`` for nothing) the
  modal asks when ``<option>`` is chosen: ``approve``, ``reject`` (``deny`` for an Approval), or an
  ENUM value. Without it, approving asks every input and the other options ask only inputs
  that explain (ids such as ``comment``, ``reason``, ``note``). Required inputs without a
  default are always asked.
- ``slack-confirm``: ``true`` (every one-tap button) or a list of options whose one-tap button
  asks "Are you sure?". A rejection that asks nothing always confirms.
- ``slack-requester``: the Slack user id or e-mail of whoever asked, when the starter is not it
  (a service account, a webhook).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.slack.mrkdwn import (
    actor,
    assignee,
    date_token,
    escape,
    input_strings,
    is_user_id,
    value_truncated,
)
from bot.slack.mrkdwn import value as value_mrkdwn
from bot.slack.pauses import DECISION_LABEL, DEFAULT_DECISION_INPUT, Pause, value_at
from engine.inputs import InputDefinition, InputType
from engine.states import TERMINAL, State
from engine.tasks.approval import ApprovalTask, ReviewDecision, comment_required
from engine.tasks.subflow import parent_of

ASK_LABEL = "slack-ask-on-"
CONFIRM_LABEL = "slack-confirm"
REQUESTER_LABEL = "slack-requester"

VALUE_MAX = 200
KEY_INPUTS_MAX = 6
QUESTION_MAX = 150
SECRET_MASK = "••••••"

Tone = Literal["approve", "reject", "other"]
Choice = Literal["resume", "approve", "deny", "kill"]
CommentRule = Literal["none", "optional", "required"]
Nobody = Literal["timed_out", "expired", "killed", "bulk", "ended", "gone"]

# Words that say what an option of a decision input means (its tone and the outcome's wording).
_APPROVING = frozenset({"approve", "approved", "yes", "accept", "accepted", "ok", "go", "ship"})
_REJECTING = frozenset({"reject", "rejected", "deny", "denied", "no", "decline", "declined"})
_EXPLAINING = re.compile(r"(comment|reason|note|message|why|explanation|remark)", re.IGNORECASE)
_MARKUP = re.compile(r"([*_~`])(\S(?:.*?\S)?)\1")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{8,}$")  # an API caller's "U9" is not taken for one


@dataclass(frozen=True)
class Shown:
    """One value as people read it: ``label`` plain, ``text`` mrkdwn (escaped, formatted)."""

    id: str
    label: str
    text: str


@dataclass(frozen=True)
class Option:
    """One button. ``key`` is what the button sends back (never trusted for more than picking
    an option of the pause re-read server-side); ``name`` is what labels call it."""

    key: str
    name: str
    label: str  # plain, the button's text
    tone: Tone
    choice: Choice  # how the engine is asked: decide_waiting(choice) or a kill
    value: Any = None  # the decision input's value this option sets (a Pause's decision input)
    asks: tuple[str, ...] = ()  # input ids the modal asks
    comment: CommentRule = "none"  # the Approval reviewer's comment, or the kill's reason
    confirm: bool = False  # a one-tap button asks "Are you sure?"

    @property
    def needs_modal(self) -> bool:
        return bool(self.asks) or self.comment == "required"


@dataclass(frozen=True)
class Outcome:
    """How it ended. ``decided``: a person chose ``option``; otherwise ``nobody`` says why not."""

    decided: bool
    option: Option | None = None
    nobody: Nobody | None = None
    who: str | None = None  # mrkdwn: who chose, killed or bulk-resumed
    via: str | None = None
    on: str | None = None
    then: str | None = None  # the behaviour that applied: RESUME/WARN/FAIL/CANCEL/CONTINUE/...
    comment: str | None = None  # plain: the comment or the kill's reason
    values: tuple[Shown, ...] = ()  # what the person gave (never defaults nobody chose)
    ended: str | None = None  # the execution's final state, once it ended


@dataclass(frozen=True)
class ParentLink:
    """The parent execution a Subflow child serves (from the child's trigger)."""

    namespace: str
    flow_id: str
    execution_id: str
    url: str


@dataclass(frozen=True)
class Summary:
    kind: Literal["pause", "approval"]
    question: str  # plain, the header
    description: str | None  # plain, the rendered description without the question line
    namespace: str
    flow_id: str
    execution_id: str
    task_id: str
    url: str
    requester: str  # mrkdwn: "<@U1> via the API", "a webhook trigger"
    asked_at: str | None  # ISO
    deadline: str | None  # ISO
    on_deadline: str | None  # RESUME/WARN/FAIL/CANCEL (Pause) or the expireBehavior (Approval)
    key_inputs: tuple[Shown, ...]
    more_inputs: int
    options: tuple[Option, ...]
    decision_input: str | None
    defaults: tuple[Shown, ...]  # what "Approve as is" keeps, for the approve option
    assignees: tuple[str, ...]  # mrkdwn mentions / escaped addresses
    waiting: bool
    outcome: Outcome | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    input_values: tuple[str, ...] = ()  # the inputs' texts, shown as typed in ``author()``
    parent: ParentLink | None = None  # a Subflow child: the parent execution it serves
    iteration: str | None = None  # plain: the ForEach value this pause belongs to

    @property
    def flow_name(self) -> str:
        return f"{self.namespace}.{self.flow_id}"

    def option(self, key: str | None) -> Option | None:
        return next((o for o in self.options if o.key == key), None)

    def option_named(self, name: str) -> Option | None:
        wanted = name.strip().lower()
        return next((o for o in self.options if o.name.lower() == wanted), None)

    @property
    def approve(self) -> Option | None:
        return next((o for o in self.options if o.tone == "approve"), None)

    required_missing: frozenset[str] = frozenset()  # inputs that must be answered
    file_inputs: frozenset[str] = frozenset()  # FILE inputs: a Slack modal cannot take a file

    def needs_file(self, option: Option) -> bool:
        """True when ``option``'s modal would ask a FILE input: only the web form can take it."""
        return any(i in self.file_inputs for i in option.asks)

    def as_is(self, option: Option) -> bool:
        """True when ``option`` can also be chosen in one tap although it has a modal: every
        input it asks has a default (or may stay empty)."""
        return (
            bool(option.asks)
            and option.comment != "required"
            and not any(i in self.required_missing for i in option.asks)
        )


def summarize(pause: Pause, *, people: Mapping[str, str] | None = None) -> Summary:
    """``people`` maps e-mail addresses (lower case) to Slack user ids, as resolved by the
    caller (the summary itself does no I/O: call it anywhere)."""
    labels = dict(pause.execution.label_map())
    inputs = pause.inputs
    decision = _decision_input(pause, labels)
    options = _options(pause, labels, inputs, decision)
    keys = _key_inputs(pause)
    summary = Summary(
        kind="approval" if pause.is_approval else "pause",
        question=_question(pause),
        description=_body(pause),
        namespace=pause.execution.namespace,
        flow_id=pause.execution.flowId,
        execution_id=pause.execution.id,
        task_id=pause.run.taskId,
        url=pause.url,
        requester=requester(pause, labels, people or {}),
        asked_at=pause.run.state.entered(State.PAUSED),
        deadline=pause.run.deadline,
        on_deadline=_on_deadline(pause),
        key_inputs=tuple(keys[:KEY_INPUTS_MAX]),
        more_inputs=max(0, len(keys) - KEY_INPUTS_MAX),
        options=tuple(options),
        decision_input=decision.id if decision is not None else None,
        defaults=tuple(_defaults(inputs, next((o for o in options if o.tone == "approve"), None))),
        assignees=tuple(assignee(e) for e in [*pause.assignees[0], *pause.assignees[1]]),
        waiting=pause.is_waiting,
        labels=labels,
        input_values=input_strings(pause.execution.inputs),
        required_missing=frozenset(d.id for d in inputs if d.required and d.default_value is None),
        parent=_parent(pause),
        file_inputs=frozenset(d.id for d in inputs if d.type is InputType.FILE),
        iteration=pause.run.value,
    )
    if pause.is_waiting:
        return summary
    return replace(summary, outcome=_outcome(pause, summary))


def _parent(pause: Pause) -> ParentLink | None:
    """The parent of a Subflow child; its page sits beside the child's under ``/ui/executions``."""
    parent = parent_of(pause.execution.trigger)
    if parent is None:
        return None
    namespace, flow_id = str(parent.get("namespace") or ""), str(parent.get("flowId") or "")
    execution_id = str(parent["executionId"])
    base = pause.url.split("/ui/executions/", 1)[0]
    return ParentLink(
        namespace,
        flow_id,
        execution_id,
        f"{base}/ui/executions/{namespace}/{flow_id}/{execution_id}",
    )


# -- the question ---------------------------------------------------------------------------------


def _description(pause: Pause) -> str:
    if pause.waiting is not None and pause.waiting.description:
        return pause.waiting.description
    return (pause.run.description or "").strip()


def _question(pause: Pause) -> str:
    if pause.waiting is not None and pause.waiting.title:
        return _plain_line(pause.waiting.title, input_strings(pause.execution.inputs))
    title = getattr(pause.task, "title", None)
    if title and "{{" not in title:
        return _plain_line(title)
    first = _description(pause).strip().split("\n", 1)[0].strip()
    if first:
        return _plain_line(first, input_strings(pause.execution.inputs))
    flow_description = (pause.flow.description or "").strip().split("\n", 1)[0].strip()
    if flow_description:
        return _plain_line(flow_description)
    return f"{pause.execution.flowId} is waiting for a decision"


def _body(pause: Pause) -> str | None:
    """The description people read under the header: without the line that is the header."""
    text = _description(pause).strip()
    if not text:
        return None
    has_title = (pause.waiting is not None and pause.waiting.title) or getattr(
        pause.task, "title", None
    )
    if has_title:
        return text
    first, _, rest = text.partition("\n")
    if len(_plain_line(first)) <= QUESTION_MAX and not _plain_line(first).endswith("…"):
        return rest.strip() or None
    return text


def _plain_line(text: str, values: tuple[str, ...] = ()) -> str:
    """One line of flow text for a plain-text header: the author's mrkdwn markers dropped (an
    input value rendered into it keeps its characters as typed), cut to fit."""
    kept = sorted({v for v in values if _MARKUP.search(v)}, key=len, reverse=True)
    if kept:  # strip markers only between the values
        pattern = re.compile("|".join(re.escape(v) for v in kept))
        parts, position = [], 0
        for match in pattern.finditer(text):
            parts += [_MARKUP.sub(r"\2", text[position : match.start()]), match.group(0)]
            position = match.end()
        text = "".join([*parts, _MARKUP.sub(r"\2", text[position:])])
    else:
        text = _MARKUP.sub(r"\2", text)
    line = " ".join(text.strip().split())
    return line if len(line) <= QUESTION_MAX else line[: QUESTION_MAX - 1] + "…"


# -- who asked -----------------------------------------------------------------------------------


def requester(pause: Pause, labels: Mapping[str, str], people: Mapping[str, str]) -> str:
    """Who asked, as mrkdwn: a mention where pausebot can map them, never "unknown"."""
    execution = pause.execution
    via = execution.startedVia
    labelled = (labels.get(REQUESTER_LABEL) or "").strip()
    if labelled:
        return _person(labelled, people) or value_mrkdwn(labelled)
    by = execution.startedBy or {}
    user_id = str(by.get("id") or "")
    if is_user_id(user_id) and (via == "slack" or _SLACK_ID.match(user_id)):
        return f"<@{user_id}>" + _via(via)
    for candidate in (user_id, str(by.get("email") or "")):
        mention = _person(candidate, people) if "@" in candidate else None
        if mention:
            return mention + _via(via)
    name = str(by.get("name") or by.get("email") or by.get("id") or "").strip()
    if name:
        return value_truncated(name, 200) + _via(via)
    trigger = execution.trigger or {}
    if trigger:
        kind = str(trigger.get("type") or trigger.get("id") or "a").rsplit(".", 1)[-1]
        return f"a {escape(kind)} trigger"
    return "someone" + _via(via) if via else "someone"


def _person(text: str, people: Mapping[str, str]) -> str | None:
    if is_user_id(text):
        return f"<@{text}>"
    if "@" in text:
        user_id = people.get(text.lower())
        if user_id and is_user_id(user_id):
            return f"<@{user_id}>"
    return None


def _via(via: str | None) -> str:
    from bot.slack.texts import via_words

    return via_words(via)


def emails_to_resolve(pause: Pause) -> list[str]:
    """E-mail addresses a caller may resolve to Slack ids (``users.lookupByEmail``) first."""
    labels = pause.execution.label_map()
    by = pause.execution.startedBy or {}
    found = [labels.get(REQUESTER_LABEL) or "", str(by.get("id") or ""), str(by.get("email") or "")]
    return [e.strip().lower() for e in found if "@" in e]


# -- deadline --------------------------------------------------------------------------------------


_PAUSE_TARGETS = {"SUCCESS": "RESUME", "WARNING": "WARN", "FAILED": "FAIL", "CANCELLED": "CANCEL"}


def _on_deadline(pause: Pause) -> str | None:
    if not pause.run.deadline:
        return None
    if isinstance(pause.task, ApprovalTask):
        if pause.waiting is not None and pause.waiting.on_deadline:
            return pause.waiting.on_deadline
        return pause.task.expireBehavior.strip().upper()
    target = pause.run.deadlineTarget
    return _PAUSE_TARGETS.get(target.value, target.value) if target else "RESUME"


# -- values ----------------------------------------------------------------------------------------


def show_value(definition: InputDefinition | None, value: Any) -> str:
    """A typed value as mrkdwn: Yes/No, dates Slack renders in the reader's time zone, lists
    joined, numbers without ``.0``, secrets masked, long values cut with "…"."""
    kind = definition.type if definition is not None else None
    if kind is InputType.SECRET:
        return SECRET_MASK
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or kind in (InputType.BOOLEAN, InputType.BOOL):
        truthy = value if isinstance(value, bool) else str(value).strip().lower() == "true"
        return "Yes" if truthy else "No"
    if kind in (InputType.DATE, InputType.DATETIME):
        token = date_token(value, with_time=kind is InputType.DATETIME)
        if token:
            return token
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return value_truncated(", ".join(_item(v) for v in value), VALUE_MAX)
    if isinstance(value, dict):
        return value_truncated(json.dumps(value, ensure_ascii=False, default=str), VALUE_MAX)
    return value_truncated(" ".join(str(value).split()), VALUE_MAX)


def _item(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _explains(definition_id: str) -> bool:
    return bool(_EXPLAINING.search(definition_id))


def _answers_first(items: list[Shown]) -> list[Shown]:
    """Comments and reasons first: they are what people most need, never cut off."""
    return sorted(items, key=lambda s: 0 if _explains(s.id) else 1)


def _key_inputs(pause: Pause) -> list[Shown]:
    definitions = {d.id: d for d in pause.flow.inputs}
    shown: list[Shown] = []
    values = pause.execution.inputs or {}
    for d in pause.flow.inputs:
        value = value_at(values, d.id)
        if value is None and d.id not in values:
            continue
        shown.append(Shown(d.id, d.label, show_value(d, value)))
    for key, value in values.items():  # inputs the flow does not declare (any more)
        if key not in definitions and not any(k.startswith(key + ".") for k in definitions):
            shown.append(Shown(key, key, show_value(None, value)))
    return _answers_first(shown)


def _defaults(inputs: list[InputDefinition], option: Option | None) -> list[Shown]:
    if option is None:
        return []
    by_id = {d.id: d for d in inputs}
    return [
        Shown(i, by_id[i].label, show_value(by_id[i], by_id[i].default_value))
        for i in option.asks
        if i in by_id and by_id[i].default_value not in (None, "", [])
    ]


# -- options ---------------------------------------------------------------------------------------


def _decision_input(pause: Pause, labels: Mapping[str, str]) -> InputDefinition | None:
    if pause.is_approval:
        return None
    spec = labels.get(DECISION_LABEL, DEFAULT_DECISION_INPUT).strip()
    input_id = spec.partition("=")[0].strip()
    definition = next((d for d in pause.inputs if d.id == input_id), None)
    if definition is None:
        return None
    if definition.type in (InputType.BOOLEAN, InputType.BOOL):
        return definition
    if definition.type in (InputType.ENUM, InputType.SELECT) and definition.values:
        return definition
    return None


def _asked(
    name: str,
    tone: Tone,
    labels: Mapping[str, str],
    inputs: list[InputDefinition],
    decision: InputDefinition | None,
) -> tuple[str, ...]:
    candidates = [d for d in inputs if decision is None or d.id != decision.id]
    known = {d.id for d in candidates}
    spec = _label(labels, ASK_LABEL + name)
    if spec is None and tone == "reject" and name in ("reject", "deny"):
        spec = _label(labels, ASK_LABEL + ("deny" if name == "reject" else "reject"))
    if spec is not None:
        wanted = [] if spec.strip().lower() in ("", "none", "-") else re.split(r"[,\s]+", spec)
        chosen = {w.strip() for w in wanted if w.strip() in known}
    elif tone == "approve":
        chosen = set(known)
    else:
        chosen = {d.id for d in candidates if _explains(d.id)}
    chosen |= {d.id for d in candidates if d.required and d.default_value is None}
    return tuple(d.id for d in candidates if d.id in chosen)  # in the flow's order


def _label(labels: Mapping[str, str], key: str) -> str | None:
    wanted = key.lower()
    return next((v for k, v in labels.items() if k.lower() == wanted), None)


def _confirms(labels: Mapping[str, str], name: str) -> bool:
    spec = (_label(labels, CONFIRM_LABEL) or "").strip().lower()
    if spec in ("true", "yes", "all", "*"):
        return True
    return name.lower() in {w for w in re.split(r"[,\s]+", spec) if w}


def _tone(value: Any, rejection: str | None) -> Tone:
    word = str(value).strip().lower()
    if rejection is not None and word == rejection.strip().lower():
        return "reject"
    if word in _APPROVING:
        return "approve"
    if word in _REJECTING:
        return "reject"
    return "other"


def _options(
    pause: Pause,
    labels: Mapping[str, str],
    inputs: list[InputDefinition],
    decision: InputDefinition | None,
) -> list[Option]:
    from bot.slack import texts

    def make(key: str, name: str, label: str, tone: Tone, choice: Choice, **more: Any) -> Option:
        asks = () if choice == "kill" else _asked(name, tone, labels, inputs, decision)
        option = Option(key, name, label, tone, choice, asks=asks, **more)
        # A one-tap rejection always asks "Are you sure?"; anything else when a label says so.
        confirm = _confirms(labels, name) or (tone == "reject" and not option.needs_modal)
        return replace(option, confirm=confirm)

    task = pause.task
    if isinstance(task, ApprovalTask):
        waiting = pause.waiting
        rule = (waiting.comment_rule if waiting else task.commentRequired).strip().upper()
        approve_label = texts.APPROVE
        deny_label = texts.DENY
        if waiting is not None:
            approve_label = (waiting.choice("approve") or waiting.choices[0]).label or approve_label
            deny = waiting.choice("deny")
            deny_label = deny.label if deny else deny_label
        elif "{{" not in task.decisions.approve:
            approve_label, deny_label = task.decisions.approve, task.decisions.deny
        return [
            make(
                "approve",
                "approve",
                approve_label,
                "approve",
                "approve",
                comment="required"
                if comment_required(rule, ReviewDecision.APPROVE)
                else "optional",
            ),
            make(
                "deny",
                "deny",
                deny_label,
                "reject",
                "deny",
                comment="required" if comment_required(rule, ReviewDecision.DENY) else "optional",
            ),
        ]
    if decision is None:
        return [
            make("approve", "approve", texts.APPROVE, "approve", "resume"),
            make("reject", "reject", texts.REJECT, "reject", "kill", comment="required"),
        ]
    if decision.type in (InputType.BOOLEAN, InputType.BOOL):
        return [
            make("approve", "approve", texts.APPROVE, "approve", "resume", value=True),
            make("reject", "reject", texts.REJECT, "reject", "resume", value=False),
        ]
    rejection = labels.get(DECISION_LABEL, "").partition("=")[2] or None
    options = []
    for index, value in enumerate(decision.values or []):
        tone = _tone(value, rejection)
        options.append(
            make(
                f"v{index}",
                str(value),
                texts.option_label(value, tone),
                tone,
                "resume",
                value=value,
            )
        )
    return options


# -- the outcome -----------------------------------------------------------------------------------


def _outcome(pause: Pause, summary: Summary) -> Outcome:
    execution = pause.execution
    ended = execution.state.current.value if execution.state.current in TERMINAL else None
    resumed = pause.run.outputs.get("resumed")
    if not resumed:
        return Outcome(False, nobody="gone", ended=ended)
    to = str(resumed.get("to") or "")
    via = resumed.get("via")
    on = resumed.get("on")
    by = resumed.get("by")
    who = actor(by, via) if by else None
    if to == "KILLING":
        if via in ("slack", "link") and not pause.is_approval and summary.decision_input is None:
            return Outcome(
                True,
                option=summary.option("reject"),
                who=who,
                via=via,
                on=on,
                comment=execution.killReason,
                ended=ended,
            )
        return Outcome(
            False,
            nobody="killed",
            who=who,
            via=via,
            on=on,
            comment=execution.killReason,
            ended=ended,
        )
    if pause.is_approval:
        if to == "EXPIRED":
            return Outcome(
                False,
                nobody="expired",
                via=via,
                on=on,
                then=summary.on_deadline or _expire_behavior(pause),
                ended=ended,
            )
        if to not in ("APPROVED", "DENIED"):
            return Outcome(False, nobody="ended", via=via, on=on, then=to, ended=ended)
        option = summary.option("approve" if to == "APPROVED" else "deny")
        values = pause.run.outputs.get("inputs") or {}
        return Outcome(
            True,
            option=option,
            who=who,
            via=via,
            on=on,
            comment=pause.run.outputs.get("comment"),
            values=_given(pause.inputs, values, option),
            ended=ended,
        )
    if via == "timer":
        return Outcome(
            False, nobody="timed_out", via=via, on=on, then=_PAUSE_TARGETS.get(to, to), ended=ended
        )
    if via == "bulk":
        return Outcome(False, nobody="bulk", who=who, via=via, on=on, ended=ended)
    if via == "engine":
        return Outcome(False, nobody="ended", via=via, on=on, then=to, ended=ended)
    values = pause.run.outputs.get("onResume") or {}
    option = _chosen(summary, values)
    asked = option.asks if option is not None else ()
    answer = next(
        (i for i in asked if _explains(i) and value_at(values, i) not in (None, "")), None
    )
    comment = str(value_at(values, answer)) if answer is not None else None
    shown = tuple(s for s in _given(pause.inputs, values, option) if s.id != answer)
    return Outcome(
        True, option=option, who=who, via=via, on=on, comment=comment, values=shown, ended=ended
    )


def _expire_behavior(pause: Pause) -> str:
    task = pause.task
    return task.expireBehavior.strip().upper() if isinstance(task, ApprovalTask) else "CANCEL"


def _chosen(summary: Summary, values: Mapping[str, Any]) -> Option | None:
    if summary.decision_input is None:
        return summary.option("approve")
    given = value_at(dict(values), summary.decision_input)
    for option in summary.options:
        if option.value == given or str(option.value).lower() == str(given).lower():
            return option
    if given is None:
        return None
    # A value of its own (allowCustomValue) given through the API: named as it was given.
    return Option("custom", str(given), str(given)[:75], _tone(given, None), "resume", given)


def _given(
    definitions: list[InputDefinition], values: Mapping[str, Any], option: Option | None
) -> tuple[Shown, ...]:
    """The values the person was asked for with this option, as given: never the answers to
    questions the option did not ask (the engine still stored their defaults)."""
    if option is None:
        return ()
    by_id = {d.id: d for d in definitions}
    shown = []
    for input_id in option.asks:
        d = by_id.get(input_id)
        value = value_at(dict(values), input_id)
        if d is None or value is None:
            continue
        shown.append(Shown(d.id, d.label, show_value(d, value)))
    return tuple(_answers_first(shown))


__all__ = [
    "Option",
    "Outcome",
    "Shown",
    "Summary",
    "emails_to_resolve",
    "requester",
    "show_value",
    "summarize",
]
