"""Every message, modal and Home tab the bot shows, built with slack_sdk's Block Kit models.

The models validate Slack's length limits when serialised (``to_dict``); on top of that every
builder here truncates flow and user text to the limits first, escapes it for mrkdwn, and keeps
messages well under the 50-block cap (and the ~13k characters of blocks Slack really accepts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack import texts
from bot.slack.forms import Form
from bot.slack.mrkdwn import (
    actor,
    actor_plain,
    assignee,
    escape,
    escape_truncated,
    fit,
    truncate,
    when,
)
from bot.slack.pauses import Decision, Pause, value_at
from engine.inputs import InputDefinition, InputType, flatten, form_value
from engine.states import TERMINAL, State

APPROVE_ACTION = "pausebot.approve"
REJECT_ACTION = "pausebot.reject"
OPEN_ACTION = "pausebot.open"  # link buttons still send block_actions; acked and ignored
PAGE_ACTION = "pausebot.page"
DECIDE_CALLBACK = "pausebot.decide"
REASON_CALLBACK = "pausebot.reason"
REASON_BLOCK = "reason"

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
FIELD_MAX = 2000
HEADER_MAX = 150
FALLBACK_MAX = 3000
DESCRIPTION_MAX = 2500  # keeps a whole message far below Slack's real block-size limit
SHORT_DESCRIPTION_MAX = 300
VALUE_MAX = 200
KEY_INPUTS_MAX = 6
VALUES_SHOWN_MAX = 10


@dataclass(frozen=True)
class Message:
    """``text`` is the notification fallback; ``blocks`` are validated Block Kit dicts."""

    text: str
    blocks: list[dict[str, Any]]


# -- the approval message and what it becomes --------------------------------------------------


def pause_message(pause: Pause) -> Message:
    """The message that is true for this pause now: buttons while it waits, the outcome after."""
    if pause.is_waiting:
        return approval_message(pause)
    return decided_message(pause)


def approval_message(pause: Pause) -> Message:
    blocks: list[Block] = [
        HeaderBlock(text=truncate(texts.approval_header(pause.flow_name), HEADER_MAX)),
        *_description(pause, DESCRIPTION_MAX),
        SectionBlock(fields=_facts(pause)),
    ]
    inputs = _key_inputs(pause)
    if inputs:
        blocks.append(SectionBlock(text=fit(texts.FIELD_INPUTS + "\n" + inputs, SECTION_TEXT_MAX)))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=fit(_notes(pause), SECTION_TEXT_MAX))])
    )
    blocks.append(_buttons(pause, block_id=f"pausebot:actions:{pause.run.id}"))
    description = truncate(pause.run.description or "", 200) or None
    return Message(
        truncate(texts.approval_fallback(pause.flow_name, description), FALLBACK_MAX),
        _serialise(blocks, MESSAGE_BLOCKS_MAX),
    )


def decided_message(pause: Pause) -> Message:
    decision = pause.decision
    outcome = _outcome(pause, decision)
    blocks: list[Block] = [
        HeaderBlock(text=truncate(pause.flow_name, HEADER_MAX)),
        *_description(pause, DESCRIPTION_MAX),
        SectionBlock(text=fit(outcome, SECTION_TEXT_MAX)),
    ]
    if decision is not None and decision.values:
        fields, hidden = _values(pause.inputs, decision.values)
        if fields:
            blocks.append(SectionBlock(fields=fields))
        if hidden:
            blocks.append(
                ContextBlock(elements=[MarkdownTextObject(text=texts.more_values(hidden))])
            )
    ended = pause.execution.state.current
    context = [f"<{pause.url}|{escape(texts.OPEN_IN_PAUSEBOT)}>", f"`{escape(pause.execution.id)}`"]
    if ended in TERMINAL:
        context.insert(0, texts.execution_ended(ended.value))
    blocks.append(
        ContextBlock(
            elements=[MarkdownTextObject(text=fit("  ·  ".join(context), SECTION_TEXT_MAX))]
        )
    )
    summary = _outcome_plain(decision, pause)
    return Message(
        truncate(texts.decided_fallback(pause.flow_name, summary), FALLBACK_MAX),
        _serialise(blocks, MESSAGE_BLOCKS_MAX),
    )


def already_decided_text(decision: Decision) -> str:
    return texts.already_decided(
        decision.action, actor(decision.by, decision.via), when(decision.on), decision.via
    )


def _description(pause: Pause, limit: int) -> list[Block]:
    description = pause.run.description or pause.task.description
    if not description:
        return []
    return [SectionBlock(text=escape_truncated(description, limit))]


def _facts(pause: Pause) -> list[MarkdownTextObject]:
    execution = pause.execution
    started = execution.startedBy
    who = actor(started, execution.startedVia) if started else texts.nobody_known()
    facts = [
        f"{texts.FIELD_FLOW}\n`{escape_truncated(pause.flow_name, 500)}`",
        f"{texts.FIELD_EXECUTION}\n<{pause.url}|{escape(execution.id)}>",
        f"{texts.FIELD_STARTED_BY}\n{texts.started_by(who, execution.startedVia)}",
    ]
    if pause.run.deadline:
        target = pause.run.deadlineTarget.value if pause.run.deadlineTarget else None
        facts.append(f"{texts.FIELD_DEADLINE}\n{texts.deadline(when(pause.run.deadline), target)}")
    return [MarkdownTextObject(text=fit(fact, FIELD_MAX)) for fact in facts]


def _key_inputs(pause: Pause) -> str:
    """The execution's inputs, first few, secrets masked."""
    secrets = {d.id for d in pause.flow.inputs if d.type is InputType.SECRET}
    flat = flatten(pause.execution.inputs)
    lines = []
    for key, value in list(flat.items())[:KEY_INPUTS_MAX]:
        shown = texts.SECRET_MASK if _is_secret(key, secrets) else _show(value)
        lines.append(f"• `{escape_truncated(key, 100)}`: {escape_truncated(shown, VALUE_MAX)}")
    if len(flat) > KEY_INPUTS_MAX:
        lines.append(texts.more_inputs(len(flat) - KEY_INPUTS_MAX))
    return "\n".join(lines)


def _notes(pause: Pause) -> str:
    inputs = pause.inputs
    notes = [texts.form_note(len(inputs)) if inputs else texts.no_form_note()]
    if any(d.type in (InputType.FILE, InputType.SECRET) for d in inputs):
        notes.append(texts.web_form_note())
    users, groups = pause.assignees
    if users or groups:
        notes.append(texts.assignment_note([assignee(e) for e in [*users, *groups]]))
    return " ".join(notes)


def _buttons(pause: Pause, *, block_id: str) -> ActionsBlock:
    value = pause.ref.encode()
    return ActionsBlock(
        block_id=block_id[:255],
        elements=[
            ButtonElement(
                text=texts.APPROVE, action_id=APPROVE_ACTION, value=value, style="primary"
            ),
            ButtonElement(text=texts.REJECT, action_id=REJECT_ACTION, value=value, style="danger"),
            ButtonElement(text=texts.OPEN_IN_PAUSEBOT, action_id=OPEN_ACTION, url=pause.url),
        ],
    )


def _outcome(pause: Pause, decision: Decision | None) -> str:
    if decision is None:
        return texts.no_longer_waiting(pause.run.state.current.value)
    who = actor(decision.by, decision.via)
    moment = when(decision.on)
    if decision.via == "timer":
        return texts.timed_out(moment, decision.to)
    if decision.to == State.KILLING.value:
        return texts.killed_by(who, moment, decision.via, decision.reason)
    if decision.rejected:
        return texts.rejected_by(who, moment, decision.via)
    return texts.approved_by(who, moment, decision.via)


def _outcome_plain(decision: Decision | None, pause: Pause) -> str:
    if decision is None:
        return pause.run.state.current.value
    if decision.via == "timer":
        return "timed out"
    return texts.outcome_summary(decision.action, actor_plain(decision.by, decision.via))


def _values(
    definitions: list[InputDefinition], values: dict[str, Any]
) -> tuple[list[MarkdownTextObject], int]:
    """The values a decision gave, as section fields (at most 10), secrets masked."""
    entries: list[tuple[str, str]] = []
    for d in definitions:
        value = value_at(values, d.id)
        if value is None:
            continue
        shown = texts.SECRET_MASK if d.type is InputType.SECRET else form_value(d, value)
        entries.append((d.label, shown))
    fields = [
        MarkdownTextObject(
            text=fit(
                f"*{escape_truncated(label, 200)}*\n{escape_truncated(shown, VALUE_MAX)}", FIELD_MAX
            )
        )
        for label, shown in entries[:VALUES_SHOWN_MAX]
    ]
    return fields, max(0, len(entries) - VALUES_SHOWN_MAX)


# -- modals ----------------------------------------------------------------------------------------


def decision_modal(pause: Pause, form: Form, *, rejecting: bool) -> dict[str, Any]:
    """The onResume form. Without a way to answer in Slack, a link to the web form instead."""
    intro: list[Block] = [
        SectionBlock(
            block_id="pausebot:intro",
            text=fit(texts.modal_intro(pause.flow_name, pause.run.description), SECTION_TEXT_MAX),
        )
    ]
    if rejecting:
        intro.append(
            ContextBlock(
                block_id="pausebot:rejecting",
                elements=[MarkdownTextObject(text=texts.rejecting_with_form())],
            )
        )
    title = texts.MODAL_TITLE_REJECT if rejecting else texts.MODAL_TITLE_APPROVE
    if form.needs_web_form or not form.fields:
        return notice_view(
            texts.web_form_only(len(form.web_only)), title=title, intro=intro, link=pause.url
        )
    notes: list[Block] = []
    if form.web_only:
        notes.append(
            SectionBlock(
                block_id="pausebot:web-form",
                text=texts.web_form_rest(len(form.web_only)),
                accessory=ButtonElement(
                    text=texts.OPEN_WEB_FORM, action_id=OPEN_ACTION, url=pause.url
                ),
            )
        )
    view = View(
        type="modal",
        callback_id=DECIDE_CALLBACK,
        title=title,
        submit=texts.REJECT if rejecting else texts.APPROVE,
        close=texts.CANCEL,
        private_metadata=pause.ref.encode(d="reject" if rejecting else "approve"),
        blocks=[*intro, *form.blocks(), *notes],
    )
    return _view(view)


def reason_modal(pause: Pause) -> dict[str, Any]:
    from slack_sdk.models.blocks import InputBlock, PlainTextInputElement

    view = View(
        type="modal",
        callback_id=REASON_CALLBACK,
        title=texts.MODAL_TITLE_REJECT,
        submit=texts.REJECT,
        close=texts.CANCEL,
        private_metadata=pause.ref.encode(d="reject"),
        blocks=[
            SectionBlock(
                block_id="pausebot:intro",
                text=fit(
                    texts.modal_intro(pause.flow_name, pause.run.description), SECTION_TEXT_MAX
                ),
            ),
            InputBlock(
                block_id=REASON_BLOCK,
                label=texts.REASON_LABEL,
                hint=texts.REASON_HINT,
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
            ),
        ],
    )
    return _view(view)


def notice_view(
    text: str,
    *,
    title: str = texts.MODAL_TITLE_NOTICE,
    intro: Sequence[Block] = (),
    link: str | None = None,
) -> dict[str, Any]:
    """A modal that only says something (and maybe links to the web UI); mrkdwn ``text``."""
    accessory = (
        ButtonElement(text=texts.OPEN_WEB_FORM, action_id=OPEN_ACTION, url=link) if link else None
    )
    view = View(
        type="modal",
        title=title,
        close=texts.CLOSE,
        blocks=[
            *intro,
            SectionBlock(
                block_id="pausebot:notice", text=fit(text, SECTION_TEXT_MAX), accessory=accessory
            ),
        ],
    )
    return _view(view)


# -- /paused and the App Home -----------------------------------------------------------------------


@dataclass(frozen=True)
class ListedPause:
    pause: Pause
    refusal: str | None  # mrkdwn: why the viewer may not decide it, shown instead of buttons


def paused_list(
    items: list[ListedPause], *, query: str, total: int, page: int, pages: int
) -> Message:
    """The ephemeral answer to ``/paused``: at most a page of pauses with their buttons."""
    blocks: list[Block] = [
        SectionBlock(text=texts.paused_heading(total, query) if total else texts.paused_none(query))
    ]
    for item in items:
        blocks.extend(_listed(item))
    footer = [texts.page_of(page, pages)] if pages > 1 else []
    if not total:
        footer.append(texts.paused_usage())
    if footer:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="  ·  ".join(footer))]))
    navigation = []
    if page > 1:
        navigation.append(
            ButtonElement(
                text=texts.PREVIOUS_PAGE,
                action_id=f"{PAGE_ACTION}.previous",
                value=_page_value(query, page - 1),
            )
        )
    if page < pages:
        navigation.append(
            ButtonElement(
                text=texts.NEXT_PAGE,
                action_id=f"{PAGE_ACTION}.next",
                value=_page_value(query, page + 1),
            )
        )
    if navigation:
        blocks.append(ActionsBlock(block_id=f"pausebot:pages:{page}", elements=navigation))
    text = texts.paused_heading(total, query) if total else texts.paused_none(query)
    return Message(truncate(text, FALLBACK_MAX), _serialise(blocks, MESSAGE_BLOCKS_MAX))


def home_view(items: list[ListedPause], *, more: int) -> dict[str, Any]:
    blocks: list[Block] = [
        HeaderBlock(text=texts.HOME_HEADER),
        ContextBlock(elements=[MarkdownTextObject(text=texts.home_intro())]),
    ]
    if not items:
        blocks.append(SectionBlock(text=texts.home_empty()))
    for item in items:
        blocks.extend(_listed(item))
    if more:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=texts.home_more(more))]))
    return _view(View(type="home", blocks=blocks))


def _listed(item: ListedPause) -> list[Block]:
    pause = item.pause
    lines = [
        f"*<{pause.url}|{escape_truncated(pause.flow_name, 300)}>*  `{escape(pause.run.taskId)}`"
    ]
    description = pause.run.description or pause.task.description
    if description:
        lines.append(escape_truncated(description, SHORT_DESCRIPTION_MAX))
    facts = [f"paused {when(pause.run.state.entered(State.PAUSED))}"]
    if pause.run.deadline:
        facts.append(f"deadline {when(pause.run.deadline)}")
    lines.append(" · ".join(facts))
    blocks: list[Block] = [SectionBlock(text=fit("\n".join(lines), SECTION_TEXT_MAX))]
    if item.refusal:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=fit(item.refusal, SECTION_TEXT_MAX))])
        )
    else:
        blocks.append(_buttons(pause, block_id=f"pausebot:list:{pause.run.id}"))
    blocks.append(DividerBlock())
    return blocks


def _page_value(query: str, page: int) -> str:
    return json.dumps({"q": query[:500], "p": page}, separators=(",", ":"))


# -- serialising ------------------------------------------------------------------------------------


class BlockLimitError(ValueError):
    """A message or view would break a Block Kit limit the SDK models do not check."""


def _serialise(blocks: Sequence[Block], limit: int) -> list[dict[str, Any]]:
    if len(blocks) > limit:
        raise BlockLimitError(f"{len(blocks)} blocks, more than {limit}")
    return [block.to_dict() for block in blocks]  # to_dict() runs the SDK's validators


def _view(view: View) -> dict[str, Any]:
    data = view.to_dict()
    if len(json.dumps(data)) > 250_000:
        raise BlockLimitError("view larger than 250 KB")
    return data


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_secret(key: str, secrets: set[str]) -> bool:
    return any(key == s or key.startswith(s + ".") for s in secrets)
