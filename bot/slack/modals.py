"""The modal of one chosen option: only what that outcome needs, never the decision itself.

The option was chosen by the button pressed, so the decision input is not a field; the fields
are the inputs the option asks (``Summary`` decides which, from the flow's labels), then the
Approval reviewer's comment or the kill's reason when there is one. The full request comes
last, below the fields, in a section Slack shows collapsed ("See more") when it is long.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack import texts
from bot.slack.blocks import (
    DECIDE_CALLBACK,
    OPEN_ACTION,
    SECTION_TEXT_MAX,
    _view,
    notice_view,
)
from bot.slack.forms import Form, build_form
from bot.slack.mrkdwn import author_truncated, fit, truncate, value
from bot.slack.pauses import Pause
from bot.slack.summary import Option, Summary

COMMENT_BLOCK = "pausebot:comment"
TITLE_MAX = 24
FULL_SECTIONS_MAX = 8
RAW_CHUNK = 2000


def form_for(pause: Pause, option: Option) -> Form:
    """The same form for opening and for reading back: the inputs this option asks."""
    asked = set(option.asks)
    return build_form([d for d in pause.inputs if d.id in asked])


def decision_modal(pause: Pause, summary: Summary, option: Option, form: Form) -> dict[str, Any]:
    title = truncate(option.label, TITLE_MAX)
    intro: list[Block] = [
        SectionBlock(
            block_id="pausebot:intro",
            text=fit(texts.modal_choosing(option.label, summary.question), SECTION_TEXT_MAX),
        )
    ]
    if form.needs_web_form:
        return notice_view(
            texts.web_form_only(len(form.web_only)), title=title, intro=intro, link=pause.url
        )
    blocks: list[Block] = [*intro, *form.blocks()]
    if form.web_only:
        blocks.append(
            SectionBlock(
                block_id="pausebot:web-form",
                text=texts.web_form_rest(len(form.web_only)),
                accessory=ButtonElement(
                    text=texts.OPEN_WEB_FORM, action_id=OPEN_ACTION, url=pause.url
                ),
            )
        )
    comment = comment_block(option)
    if comment is not None:
        blocks.append(comment)
    blocks.extend(full_request_blocks(summary))
    view = View(
        type="modal",
        callback_id=DECIDE_CALLBACK,
        title=title,
        submit=truncate(option.label, TITLE_MAX),
        close=texts.CANCEL,
        private_metadata=pause.ref.encode(o=option.key),
        blocks=blocks,
    )
    return _view(view)


def comment_block(option: Option) -> InputBlock | None:
    if option.comment == "none":
        return None
    kill = option.choice == "kill"
    return InputBlock(
        block_id=COMMENT_BLOCK,
        label=texts.REASON_LABEL if kill else texts.COMMENT_LABEL,
        hint=texts.REASON_HINT
        if kill
        else texts.COMMENT_HINT_REQUIRED
        if option.comment == "required"
        else None,
        optional=option.comment != "required",
        element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
    )


def full_request_blocks(summary: Summary) -> list[Block]:
    """The whole description, below the fields: Slack collapses a long section ("See more")."""
    text = summary.description
    if not text:
        return []
    # Cut the raw text, then escape each piece: a cut never falls inside an entity.
    chunks = [
        author_truncated(text[i : i + RAW_CHUNK], summary.input_values, SECTION_TEXT_MAX)
        for i in range(0, len(text), RAW_CHUNK)
    ][:FULL_SECTIONS_MAX]
    blocks: list[Block] = [
        DividerBlock(block_id="pausebot:full-divider"),
        ContextBlock(
            block_id="pausebot:full-title",
            elements=[MarkdownTextObject(text=f"*{texts.FULL_REQUEST}*")],
        ),
    ]
    for index, chunk in enumerate(chunks):
        blocks.append(
            SectionBlock(block_id=f"pausebot:full:{index}", text=fit(chunk, SECTION_TEXT_MAX))
        )
    return blocks


def full_request_view(summary: Summary) -> dict[str, Any]:
    """What "Full request" opens: the question and the whole description, nothing to submit."""
    blocks: list[Block] = [
        SectionBlock(block_id="pausebot:question", text=f"*{value(summary.question)}*"),
        *full_request_blocks(summary)[2:],
    ]
    view = View(type="modal", title=texts.FULL_REQUEST, close=texts.CLOSE, blocks=blocks)
    return _view(view)
