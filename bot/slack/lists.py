"""Lists of waiting pauses at volume: ``/paused [mine] [filter]`` and the App Home tab.

One read serves a list whatever its size: ``Engine.waiting_overview`` returns the PAUSED
executions of the filter, soonest deadline first (then the oldest), with a per-flow count from
the database. Everything after that is in memory: the paused task runs are sorted by their own
deadline, then by how long they waited; only the entries shown are rendered in full
(``bot.slack.summary``), so 1,000 pauses cost what 30 do plus a sort.

Each entry is **one** section block: the question (linked to the web UI), who asked, how long
it waited, the deadline and what happens then, one or two key inputs, and an overflow menu (⋯)
with the same choices as the message's buttons plus "Open in pausebot". With many pauses the
list is grouped by flow with counts (the most urgent flow first, a few entries each), which
keeps ``/paused`` under Block Kit's 50 blocks and Home under its 100 at any volume.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack import texts
from bot.slack.blocks import PAGE_ACTION, Message
from bot.slack.messages import approval_message
from bot.slack.mrkdwn import ago, fit, truncate, value, value_truncated, when
from bot.slack.pauses import Pause, PauseGone, pause_of
from bot.slack.summary import Summary, summarize
from engine.clock import parse_iso
from engine.engine import Engine
from engine.errors import PausebotError
from engine.states import State
from engine.tasks.approval import ApprovalTask
from engine.tasks.pause import PauseTask
from engine.waiting import WaitingOverview

log = logging.getLogger(__name__)

LIST_ACTION = "pausebot.list"  # the overflow menu of an entry
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
OPTION_VALUE_MAX = 150  # Block Kit's limit for an overflow option's value
OPTION_TEXT_MAX = 75
OPTIONS_MAX = 4
OPEN_CHOICE = "open"
# Slack refuses a message whose blocks are much longer than ~13k characters of JSON, whatever
# the block count: lists are filled up to this budget and say what they left out.
MESSAGE_CHARS_BUDGET = 12_000

SCAN_MAX = 1000  # executions read for one list; beyond it the counts still say how many
FLAT_MAX = 10  # up to this many entries: one flat list, no grouping
PAGE_SIZE = 6  # a flat list of one flow (or a short one), a page at a time (~1.5k chars each)
GROUPS_MAX = 10
PER_GROUP = 2
HOME_MINE_FLAT_MAX = 10  # more: grouped by flow, so Home is never a wall of entries
HOME_MINE_PER_GROUP = 3
HOME_OTHER_GROUPS = 8
HOME_OTHER_PER_GROUP = 2
KEY_INPUTS_SHOWN = 2
KEY_VALUE_MAX = 80


@dataclass(frozen=True)
class Entry:
    """One waiting task run, as cheap to build as possible (no rendering)."""

    pause: Pause
    deadline: datetime | None
    asked: datetime | None

    @property
    def flow_key(self) -> tuple[str, str]:
        return (self.pause.execution.namespace, self.pause.execution.flowId)

    @property
    def urgency(self) -> tuple[bool, datetime, datetime]:
        far = datetime.max.replace(tzinfo=UTC)
        return (self.deadline is None, self.deadline or far, self.asked or far)


@dataclass(frozen=True)
class Shown:
    """An entry to draw: the full pause, its summary and the choices of its message."""

    entry: Entry
    summary: Summary
    choices: list[tuple[str, str, str]]  # (label, action_id, value) of the message's buttons
    refusal: str | None


@dataclass(frozen=True)
class Group:
    namespace: str
    flow_id: str
    count: int
    entries: list[Entry]

    @property
    def name(self) -> str:
        return f"{self.namespace}.{self.flow_id}"


# -- reading ------------------------------------------------------------------------------------


def waiting_entries(engine: Engine, overview: WaitingOverview) -> list[Entry]:
    """Every waiting Pause/Approval task run of the overview, most urgent first. Synchronous
    (flows come from the engine's cache); call it with ``asyncio.to_thread``."""
    found: list[Entry] = []
    for execution in overview.executions:
        if execution.state.current != State.PAUSED:
            continue
        try:
            flow = engine.flow_of(execution)
        except PausebotError:  # a flow revision that no longer parses: skip, never fail the list
            log.warning("Slack: cannot list %s: its flow cannot be read", execution.id)
            continue
        url = engine.url_of(execution)
        for run in execution.paused_task_runs():
            task = flow.find_task(run.taskId)
            if not isinstance(task, PauseTask | ApprovalTask):
                continue
            found.append(
                Entry(
                    Pause(execution, flow, task, run, url),
                    _moment(run.deadline),
                    _moment(run.state.entered(State.PAUSED)),
                )
            )
    found.sort(key=lambda e: e.urgency)
    return found


def shown_entries(
    engine: Engine, entries: Sequence[Entry], refusals: dict[str, str | None]
) -> list[Shown]:
    """The full rendering of the entries to draw (synchronous: ``asyncio.to_thread``)."""
    shown: list[Shown] = []
    for entry in entries:
        try:
            full = pause_of(engine, entry.pause.execution, entry.pause.run.id)
        except (PauseGone, PausebotError):
            continue
        summary = summarize(full)
        refusal = refusals.get(entry.pause.run.id)
        choices = [] if refusal else message_choices(approval_message(full, summary))
        shown.append(Shown(entry, summary, choices, refusal))
    return shown


def message_choices(message: Message) -> list[tuple[str, str, str]]:
    """The decision buttons of a message (label, action_id, value), so a list offers exactly
    what the message offers and a choice in the list runs the same listener."""
    found: list[tuple[str, str, str]] = []
    for block in message.blocks:
        for element in block.get("elements") or []:
            kind = element.get("type")
            if kind == "button" and element.get("value") and not element.get("url"):
                label = str((element.get("text") or {}).get("text") or "")
                found.append((label, str(element["action_id"]), str(element["value"])))
            elif kind == "static_select":  # many options: the message shows one menu
                for option in element.get("options") or []:
                    label = str((option.get("text") or {}).get("text") or "")
                    found.append((label, str(element["action_id"]), str(option.get("value"))))
    return found


def grouped(
    entries: Sequence[Entry], overview: WaitingOverview | None, per_group: int
) -> list[Group]:
    """Entries by flow, the flow with the most urgent entry first. Counts are the entries
    listed, or the database's per-flow count when the scan stopped at ``SCAN_MAX``."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.flow_key, []).append(entry)
    counted = (
        {(ns, fid): n for ns, fid, n in overview.by_flow}
        if overview is not None and not overview.complete
        else {}
    )
    return [
        Group(ns, fid, max(len(items), counted.get((ns, fid), 0)), items[:per_group])
        for (ns, fid), items in groups.items()
    ]


# -- drawing --------------------------------------------------------------------------------------


def entry_block(shown: Shown) -> SectionBlock:
    summary = shown.summary
    lines = [f"*<{summary.url}|{value(summary.question)}>*"]
    facts = [summary.requester, texts.list_asked(ago(summary.asked_at))]
    if summary.deadline:
        facts.append(texts.list_deadline(when(summary.deadline), summary.on_deadline))
    lines.append(" · ".join(facts))
    keys = [
        f"{value_truncated(k.label, 40)}: {fit(k.text, KEY_VALUE_MAX)}"
        for k in summary.key_inputs[:KEY_INPUTS_SHOWN]
    ]
    if keys:
        lines.append(" · ".join(keys))
    if shown.refusal:
        lines.append(f"_{shown.refusal}_")
    options = [
        Option(value=value, label=truncate(label, OPTION_TEXT_MAX))
        for label, value in ((label, choice_value(a, v)) for label, a, v in shown.choices)
        if len(value) <= OPTION_VALUE_MAX
    ][:OPTIONS_MAX]
    if not options:  # nothing to decide here: the menu still opens the pause
        options.append(Option(value=OPEN_CHOICE, label=texts.OPEN_IN_PAUSEBOT, url=summary.url))
    return SectionBlock(
        block_id=f"pausebot:entry:{shown.entry.pause.run.id}"[:255],
        text=MarkdownTextObject(text=fit("\n".join(lines), SECTION_TEXT_MAX)),
        accessory=OverflowMenuElement(action_id=LIST_ACTION, options=options),
    )


def choice_value(action_id: str, button_value: str) -> str:
    """An overflow option's value: the button it stands for, as ``<action_id> <value>``."""
    return f"{action_id} {button_value}"


def parse_choice(value: str) -> tuple[str, str] | None:
    action_id, sep, button_value = value.partition(" ")
    return (action_id, button_value) if sep and action_id and button_value else None


def group_block(group: Group, *, button_query: str | None, part: str = "all") -> SectionBlock:
    text = texts.list_group(value_truncated(group.name, 300), group.count)
    accessory = None
    if button_query is not None and group.count > len(group.entries):
        accessory = ButtonElement(
            text=texts.list_show_all(group.count),
            action_id=f"{PAGE_ACTION}.flow",
            value=page_value(button_query, 1),
        )
    return SectionBlock(
        block_id=f"pausebot:group:{part}:{group.name}"[:255],  # unique within a view
        text=MarkdownTextObject(text=fit(text, SECTION_TEXT_MAX)),
        accessory=accessory,
    )


def page_value(query: str, page: int) -> str:
    return json.dumps({"q": query[:500], "p": page}, separators=(",", ":"))


def navigation(query: str, page: int, pages: int) -> ActionsBlock | None:
    buttons = []
    if page > 1:
        buttons.append(
            ButtonElement(
                text=texts.LIST_PREVIOUS,
                action_id=f"{PAGE_ACTION}.previous",
                value=page_value(query, page - 1),
            )
        )
    if page < pages:
        buttons.append(
            ButtonElement(
                text=texts.LIST_NEXT,
                action_id=f"{PAGE_ACTION}.next",
                value=page_value(query, page + 1),
            )
        )
    return ActionsBlock(block_id=f"pausebot:pages:{page}", elements=buttons) if buttons else None


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=fit(text, SECTION_TEXT_MAX))])


def serialise(blocks: Sequence[Block], limit: int) -> list[dict[str, Any]]:
    if len(blocks) > limit:
        raise ValueError(f"{len(blocks)} blocks, more than {limit}")
    return [block.to_dict() for block in blocks]


def paused_message(
    *,
    heading: str,
    sections: Sequence[tuple[Group | None, list[Shown]]],
    footer: Sequence[str],
    nav: ActionsBlock | None,
    group_query: str | None,
    more_groups: int = 0,
) -> Message:
    """The ephemeral answer to ``/paused``: ``sections`` is one flat ``(None, entries)`` or one
    ``(group, entries)`` per flow. Filled up to ``MESSAGE_CHARS_BUDGET``: a flow that no longer
    fits is counted in the "more flows" line, and its header keeps its count."""
    head = SectionBlock(text=MarkdownTextObject(text=fit(heading, SECTION_TEXT_MAX)))
    tail: list[Block] = []
    if footer:
        tail.append(context("  ·  ".join(footer)))
    if nav is not None:
        tail.append(nav)
    blocks: list[Block] = [head]
    used = _size(head) + sum(_size(b) for b in tail) + 400  # room for the "more flows" line
    hidden_groups = more_groups
    hidden_entries = 0
    for group, entries in sections:
        if group is not None:
            query = (
                f"{group_query} namespace:{group.namespace} flow:{group.flow_id}".strip()
                if group_query is not None
                else None
            )
            header = group_block(group, button_query=query)
            if used + _size(header) > MESSAGE_CHARS_BUDGET or len(blocks) + len(tail) >= 48:
                hidden_groups += 1
                continue
            blocks.append(header)
            used += _size(header)
        for shown in entries:
            block = entry_block(shown)
            if used + _size(block) > MESSAGE_CHARS_BUDGET or len(blocks) + len(tail) >= 48:
                hidden_entries += 1
                continue
            blocks.append(block)
            used += _size(block)
    if hidden_groups:
        blocks.append(context(texts.list_more_flows(hidden_groups)))
    elif hidden_entries and all(g is None for g, _ in sections):
        blocks.append(context(texts.list_cut(hidden_entries)))
    blocks.extend(tail)
    return Message(truncate(_plain(heading), 3000), serialise(blocks, MESSAGE_BLOCKS_MAX))


def _size(block: Block) -> int:
    return len(json.dumps(block.to_dict()))


def home_view(
    *,
    mine_total: int,
    mine_flat: Sequence[Shown] | None,
    mine_groups: Sequence[tuple[Group, list[Shown]]] | None,
    mine_more_groups: int,
    others_total: int,
    other_groups: Sequence[tuple[Group, list[Shown]]],
    others_more_groups: int,
    mine_more: int = 0,
) -> dict[str, Any]:
    blocks: list[Block] = [
        HeaderBlock(text=truncate(texts.home_mine_header(mine_total), 150)),
        context(texts.home_intro_at_volume()),
    ]
    if not mine_total:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=texts.home_empty())))
    if mine_flat is not None:
        blocks.extend(entry_block(s) for s in mine_flat)
        if mine_more:
            blocks.append(context(texts.home_more(mine_more)))
    for group, entries in mine_groups or []:
        blocks.append(group_block(group, button_query=None, part="mine"))
        blocks.extend(entry_block(s) for s in entries)
    if mine_more_groups:
        blocks.append(context(texts.list_more_flows(mine_more_groups)))
    if others_total:
        blocks.append(DividerBlock())
        blocks.append(HeaderBlock(text=truncate(texts.home_others_header(others_total), 150)))
        for group, entries in other_groups:
            blocks.append(group_block(group, button_query=None, part="others"))
            blocks.extend(entry_block(s) for s in entries)
        if others_more_groups:
            blocks.append(context(texts.list_more_flows(others_more_groups)))
    view = View(type="home", blocks=blocks[:HOME_BLOCKS_MAX])
    if len(blocks) > HOME_BLOCKS_MAX:
        raise ValueError(f"{len(blocks)} blocks, more than {HOME_BLOCKS_MAX}")
    data = view.to_dict()
    if len(json.dumps(data)) > 250_000:
        raise ValueError("view larger than 250 KB")
    return data


def _plain(mrkdwn: str) -> str:
    return mrkdwn.replace("*", "")


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_iso(text)
    except (ValueError, TypeError):
        return None
