"""The approval message and what it becomes, rendered from a ``Summary`` (bot/slack/summary.py).

While it waits: the question as the header, the description (cut at ~300 characters, with a
"Full request" button), who asked, since when, the deadline and what happens then, the key
inputs, one button per option (an option that needs answers opens a modal; one that can be
taken as it is is one tap), and a small context line with the flow, execution and task ids.

Once over: the same header and key inputs, then the outcome, always true: who chose which
option (comments and reasons first, then what they gave), or "Nobody decided; …" with no value
shown as chosen.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot.slack import texts
from bot.slack.blocks import (
    ATTACH_ACTION,
    FALLBACK_MAX,
    FIELD_MAX,
    HEADER_MAX,
    MESSAGE_BLOCKS_MAX,
    OPEN_ACTION,
    SECTION_TEXT_MAX,
    Message,
    _serialise,
)
from bot.slack.mrkdwn import (
    ago,
    author_truncated,
    escape,
    fit,
    truncate,
    value,
    value_truncated,
    when,
)
from bot.slack.pauses import Pause
from bot.slack.summary import Option as Choice
from bot.slack.summary import Outcome, Summary, summarize

CHOOSE_ACTION = "pausebot.choose"  # + ".<option key>.<now|form>"
FULL_ACTION = "pausebot.full"
SHORT_DESCRIPTION = 300
KEY_FIELDS_MAX = 10  # a section holds at most 10 fields
BUTTONS_MAX = 5  # more options than this: one menu (a phone shows about five buttons)
MENU_MAX = 100  # Slack's limit of options in a select


def pause_message(pause: Pause, summary: Summary | None = None) -> Message:
    """The message that is true for this pause now: buttons while it waits, the outcome after."""
    summary = summary or summarize(pause)
    if summary.waiting:
        return approval_message(pause, summary)
    return decided_message(pause, summary)


def approval_message(pause: Pause, summary: Summary | None = None) -> Message:
    summary = summary or summarize(pause)
    blocks: list[Block] = [HeaderBlock(text=truncate(summary.question, HEADER_MAX))]
    blocks.extend(_description(pause, summary))
    blocks.append(SectionBlock(fields=_facts(summary)))
    key = _key_inputs(summary)
    if key is not None:
        blocks.append(key)
    notes = _notes(summary)
    if notes:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=fit(notes, SECTION_TEXT_MAX))])
        )
    blocks.append(
        ActionsBlock(
            block_id=f"pausebot:actions:{pause.run.id}"[:255],
            elements=[*option_buttons(pause, summary), _open_button(summary)],
        )
    )
    blocks.append(_context(summary))
    # notifications parse mrkdwn
    text = value(f"{summary.question} ({summary.flow_name})")  # the question is plain
    return Message(truncate(text, FALLBACK_MAX), _serialise(blocks, MESSAGE_BLOCKS_MAX))


def decided_message(pause: Pause, summary: Summary | None = None) -> Message:
    summary = summary or summarize(pause)
    outcome = summary.outcome or Outcome(False, nobody="gone")
    blocks: list[Block] = [
        HeaderBlock(text=truncate(summary.question, HEADER_MAX)),
        SectionBlock(text=fit(outcome_text(summary, outcome), SECTION_TEXT_MAX)),
    ]
    if outcome.decided and outcome.values:
        blocks.append(
            SectionBlock(
                fields=[
                    MarkdownTextObject(
                        text=fit(f"*{value_truncated(v.label, 200)}*\n{v.text}", FIELD_MAX)
                    )
                    for v in outcome.values[:KEY_FIELDS_MAX]
                ]
            )
        )
        if len(outcome.values) > KEY_FIELDS_MAX:
            more = texts.more_values(len(outcome.values) - KEY_FIELDS_MAX)
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    blocks.extend(_description(pause, summary, button=False))
    key = _key_inputs(summary)
    if key is not None:
        blocks.append(key)
    blocks.append(_context(summary))
    text = value(summary.question)
    text += escape(f": {outcome_plain(summary, outcome)}")
    return Message(truncate(text, FALLBACK_MAX), _serialise(blocks, MESSAGE_BLOCKS_MAX))


# -- the outcome, in words ---------------------------------------------------------------------------


def outcome_words(summary: Summary, option: Choice | None) -> str:
    if option is None:
        return "Decided"
    return texts.chosen_words(option.name, option.label, option.tone, summary.kind)


def outcome_text(summary: Summary, outcome: Outcome) -> str:
    """mrkdwn: the outcome line, then the comment or reason quoted (they come first)."""
    moment = when(outcome.on) if outcome.on else "at an unknown time"
    if outcome.decided:
        line = texts.decided_line(
            outcome.option.tone if outcome.option else "unknown",
            outcome_words(summary, outcome.option),
            outcome.who or "someone",
            outcome.via,
            moment,
            stopped=bool(outcome.option and outcome.option.choice == "kill"),
        )
    else:
        line = texts.nobody_decided(
            outcome.nobody or "gone",
            who=outcome.who,
            via=outcome.via,
            when=moment,
            then=outcome.then,
            approval=summary.kind == "approval",
        )
    if outcome.comment:
        line += "\n" + texts.quoted(truncate(outcome.comment, 1500))
    if outcome.ended:
        line += "\n" + texts.execution_ended(outcome.ended)
    return line


def outcome_plain(summary: Summary, outcome: Outcome) -> str:
    if outcome.decided:
        by = outcome.who or "someone"
        if by.startswith("<@"):
            by = "a Slack user"
        return texts.outcome_plain(outcome_words(summary, outcome.option), by)
    return texts.nobody_plain(outcome.nobody or "gone")


def already_text(summary: Summary) -> str:
    """mrkdwn: what a late click is told."""
    outcome = summary.outcome
    if outcome is None:
        return texts.not_a_pause()
    if outcome.decided:
        return texts.already_chosen(
            outcome_words(summary, outcome.option),
            outcome.who or "someone",
            outcome.via,
            when(outcome.on),
        )
    return texts.already_nobody(outcome_text(summary, outcome).split("\n", 1)[0])


# -- pieces -------------------------------------------------------------------------------------------


def _description(pause: Pause, summary: Summary, *, button: bool = True) -> list[Block]:
    text = summary.description
    if not text:
        return []
    cut = len(text) > SHORT_DESCRIPTION
    shown = author_truncated(text, summary.input_values, SHORT_DESCRIPTION)
    accessory = None
    if cut and button:
        accessory = ButtonElement(
            text=texts.FULL_REQUEST, action_id=FULL_ACTION, value=pause.ref.encode()
        )
    return [SectionBlock(block_id="pausebot:description", text=shown, accessory=accessory)]


def _facts(summary: Summary) -> list[MarkdownTextObject]:
    facts = [f"{texts.FIELD_REQUESTED_BY}\n{summary.requester}"]
    if summary.asked_at:
        facts.append(f"{texts.FIELD_WAITING_SINCE}\n{ago(summary.asked_at)}")
    if summary.deadline:
        facts.append(
            f"{texts.FIELD_DECIDES_ITSELF}\n"
            + texts.deadline_then(
                when(summary.deadline), summary.on_deadline, summary.kind == "approval"
            )
        )
    if summary.assignees:
        facts.append(f"{texts.FIELD_ASSIGNED}\n" + ", ".join(summary.assignees))
    return [MarkdownTextObject(text=fit(fact, FIELD_MAX)) for fact in facts]


def _key_inputs(summary: Summary) -> SectionBlock | None:
    if not summary.key_inputs:
        return None
    fields = [
        MarkdownTextObject(text=fit(f"*{value_truncated(s.label, 200)}*\n{s.text}", FIELD_MAX))
        for s in summary.key_inputs[:KEY_FIELDS_MAX]
    ]
    text = texts.FIELD_KEY_INPUTS
    if summary.more_inputs:
        text += "  " + texts.more_key_inputs(summary.more_inputs)
    return SectionBlock(block_id="pausebot:inputs", text=text, fields=fields)


def _notes(summary: Summary) -> str:
    notes = []
    approve = summary.approve
    if approve is not None and summary.as_is(approve) and summary.defaults:
        notes.append(
            texts.as_is_keeps(approve.label, [(d.label, d.text) for d in summary.defaults])
        )
    if summary.assignees:
        notes.append(texts.may_decide(list(summary.assignees)))
    return "\n".join(notes)


def _context(summary: Summary) -> ContextBlock:
    line = texts.context_line(summary.flow_name, summary.url, summary.execution_id, summary.task_id)
    if summary.iteration is not None:
        line += "\n" + texts.for_iteration(summary.iteration)
    if summary.parent is not None:
        parent = summary.parent
        line += "\n" + texts.for_parent(parent.flow_id, parent.url, parent.execution_id)
    return ContextBlock(
        block_id="pausebot:context",
        elements=[MarkdownTextObject(text=fit(line, SECTION_TEXT_MAX))],
    )


def _open_button(summary: Summary) -> ButtonElement:
    return ButtonElement(text=texts.OPEN_IN_PAUSEBOT, action_id=OPEN_ACTION, url=summary.url)


def option_buttons(pause: Pause, summary: Summary | None = None) -> list[InteractiveElement]:
    """One button per option (two for an approval that can also be taken as it is): what the
    message, the /paused list and direct messages show. Each value names the pause, the option
    and whether it decides at once (``now``) or opens the modal (``form``)."""
    summary = summary or summarize(pause)
    if len(summary.options) > BUTTONS_MAX:
        return [_menu(pause, summary)]
    buttons: list[InteractiveElement] = []
    attach = False  # a FILE input: that option's form is the web form, one link for all
    for option in summary.options:
        style = {"approve": "primary", "reject": "danger"}.get(option.tone)
        if summary.needs_file(option):
            if summary.as_is(option) and option.tone == "approve":
                buttons.append(
                    _button(pause, summary, option, "now", texts.as_is(option.label), style)
                )
            attach = True
        elif option.needs_modal and summary.as_is(option) and option.tone == "approve":
            buttons.append(_button(pause, summary, option, "now", texts.as_is(option.label), style))
            buttons.append(
                _button(pause, summary, option, "form", texts.with_changes(option.label), None)
            )
        elif option.needs_modal:
            buttons.append(
                _button(pause, summary, option, "form", texts.with_dialog(option.label), style)
            )
        else:
            buttons.append(_button(pause, summary, option, "now", option.label, style))
    if attach:
        buttons.append(
            ButtonElement(text=texts.ATTACH_IN_PAUSEBOT, action_id=ATTACH_ACTION, url=summary.url)
        )
    return buttons[:24]


def _menu(pause: Pause, summary: Summary) -> StaticSelectElement:
    """Many options (an ENUM with more values than fit as buttons): one menu, each entry opens
    that option's modal or, when it asks nothing, decides at once."""
    options = [
        Option(
            text=truncate(o.label, 75),
            value=pause.ref.encode(o=o.key, m="form" if o.needs_modal else "now"),
        )
        for o in summary.options[:MENU_MAX]
    ]
    return StaticSelectElement(
        action_id=f"{CHOOSE_ACTION}.menu",
        placeholder=texts.CHOOSE,
        options=options,
        confirm=ConfirmObject(
            title=texts.CONFIRM_TITLE,
            text=PlainTextObject(text=truncate(summary.question, 300)),
            confirm=texts.CHOOSE_CONFIRM,
            deny=texts.CONFIRM_NO,
        ),
    )


def _button(
    pause: Pause, summary: Summary, option: Choice, mode: str, label: str, style: str | None
) -> ButtonElement:
    confirm = None
    if mode == "now" and option.confirm:
        confirm = ConfirmObject(
            title=texts.CONFIRM_TITLE,
            text=PlainTextObject(text=texts.confirm_text(label, summary.question)),
            confirm=truncate(label, 30),
            deny=texts.CONFIRM_NO,
            style="danger" if option.tone == "reject" else None,
        )
    return ButtonElement(
        text=truncate(label, 75),
        action_id=f"{CHOOSE_ACTION}.{option.key}.{mode}"[:255],
        value=pause.ref.encode(o=option.key, m=mode),
        style=style,
        confirm=confirm,
    )


__all__: list[Any] = [
    "CHOOSE_ACTION",
    "FULL_ACTION",
    "already_text",
    "approval_message",
    "decided_message",
    "option_buttons",
    "outcome_text",
    "pause_message",
]
