"""``/paused [mine] [filter]``: what is waiting, the nearest deadline first, then the oldest.

- Up to ``FLAT_MAX`` entries, or a filter on one flow: a flat list, ``PAGE_SIZE`` a page.
- More: grouped by flow with counts, the most urgent flow first, ``PER_GROUP`` entries each and
  a "Show all N" button that lists that flow page by page.
- ``mine`` (first word) keeps what the caller may decide (assignment, four-eyes rule).

Entries the caller may not decide say why and offer only "Open in pausebot". Filter syntax:
``namespace:company.team`` (or ``ns:``; the namespace and its children), ``flow:deploy_approval``,
and any other text, matched against execution ids, namespaces and flow ids. The Home tab is in
``bot/slack/home.py``; both are built by ``bot/slack/lists.py``.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from bot.slack import texts
from bot.slack.authorization import Gatekeeper
from bot.slack.blocks import Message
from bot.slack.lists import (
    FLAT_MAX,
    GROUPS_MAX,
    PAGE_SIZE,
    PER_GROUP,
    SCAN_MAX,
    Entry,
    Group,
    Shown,
    grouped,
    navigation,
    paused_message,
    shown_entries,
    waiting_entries,
)
from engine.engine import Engine
from engine.waiting import WaitingOverview

MINE = "mine"


@dataclass(frozen=True)
class PausedQuery:
    namespace: str | None = None
    flow_id: str | None = None
    text: str | None = None
    mine: bool = False

    @classmethod
    def parse(cls, text: str) -> PausedQuery:
        namespace = flow_id = None
        mine = False
        words: list[str] = []
        for index, word in enumerate(text.split()):
            if index == 0 and word.lower() == MINE:
                mine = True
                continue
            key, sep, value = word.partition(":")
            if not sep:
                key, sep, value = word.partition("=")
            key = key.lower()
            if sep and value and key in ("namespace", "ns"):
                namespace = value
            elif sep and value and key in ("flow", "flowid"):
                flow_id = value
            else:
                words.append(word)
        return cls(namespace, flow_id, " ".join(words) or None, mine)


async def paused_page(
    engine: Engine, gatekeeper: Gatekeeper, user_id: str, query_text: str, page: int
) -> Message:
    query = PausedQuery.parse(query_text)
    shown_query = query_text.strip()  # kept whole in page and "Show all" buttons
    words = shown_query.split()
    filter_text = " ".join(words[1:] if query.mine else words)  # what the heading quotes

    def read() -> tuple[WaitingOverview, list[Entry]]:
        overview = engine.waiting_overview(
            namespace=query.namespace, flow_id=query.flow_id, text=query.text, limit=SCAN_MAX
        )
        return overview, waiting_entries(engine, overview)

    overview, entries = await asyncio.to_thread(read)
    refusals: dict[str, str | None] = {}

    async def refuse(items: list[Entry]) -> None:
        for entry in items:
            if entry.pause.run.id not in refusals:
                refusal = await gatekeeper.check(user_id, entry.pause)
                refusals[entry.pause.run.id] = refusal.text if refusal else None

    if query.mine:
        await refuse(entries)
        entries = [e for e in entries if refusals[e.pause.run.id] is None]
    flows = len({e.flow_key for e in entries})
    footer: list[str] = []
    if not overview.complete:
        footer.append(texts.list_scanned(len(overview.executions), overview.total))
    if not entries:
        heading = texts.paused_none_at_volume(filter_text, mine=query.mine)
        footer.append(texts.paused_usage_at_volume())
        return paused_message(
            heading=heading, sections=[], footer=footer, nav=None, group_query=None
        )
    heading = texts.paused_heading_at_volume(
        len(entries), filter_text, mine=query.mine, flows=flows
    )
    if len(entries) <= FLAT_MAX or flows == 1 or query.flow_id:
        pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
        page = min(max(1, page), pages)
        on_page = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        await refuse(on_page)
        shown = await asyncio.to_thread(shown_entries, engine, on_page, refusals)
        if pages > 1:
            footer.append(texts.page_of(page, pages))
        return paused_message(
            heading=heading,
            sections=[(None, shown)],
            footer=footer,
            nav=navigation(shown_query, page, pages),
            group_query=None,
        )
    groups = grouped(entries, overview, PER_GROUP)
    listed = groups[:GROUPS_MAX]
    await refuse([e for g in listed for e in g.entries])
    drawn = await asyncio.to_thread(_draw_groups, engine, listed, refusals)
    return paused_message(
        heading=heading,
        sections=drawn,
        footer=footer,
        nav=None,
        group_query=shown_query,
        more_groups=max(0, len(groups) - GROUPS_MAX),
    )


def _draw_groups(
    engine: Engine, groups: list[Group], refusals: dict[str, str | None]
) -> list[tuple[Group | None, list[Shown]]]:
    return [(g, shown_entries(engine, g.entries, refusals)) for g in groups]
