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
from bot.slack.mrkdwn import (
    author_truncated,
    escape,
    fit,
    input_strings,
    truncate,
    value_truncated,
    when,
)
from bot.slack.pauses import Pause
from engine.states import State

APPROVE_ACTION = "pausebot.approve"
REJECT_ACTION = "pausebot.reject"
OPEN_ACTION = "pausebot.open"  # link buttons still send block_actions; acked and ignored
ATTACH_ACTION = "pausebot.open.file"  # the link to the web form for a FILE input; acked, ignored
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


# The approval message and what it becomes: bot/slack/messages.py; its modals: modals.py.


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
        f"*<{pause.url}|{value_truncated(pause.flow_name, 300)}>*  `{escape(pause.run.taskId)}`"
    ]
    description = pause.run.description or pause.task.description
    if description:
        values = input_strings(pause.execution.inputs)
        lines.append(author_truncated(description, values, SHORT_DESCRIPTION_MAX))
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


def _buttons(pause: Pause, *, block_id: str) -> ActionsBlock:
    from bot.slack.messages import option_buttons  # messages.py builds on this module

    return ActionsBlock(
        block_id=block_id[:255],
        elements=[
            *option_buttons(pause),
            ButtonElement(text=texts.OPEN_IN_PAUSEBOT, action_id=OPEN_ACTION, url=pause.url),
        ],
    )


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
