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
    Block,
    ButtonElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack import texts
from bot.slack.mrkdwn import (
    fit,
)

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
