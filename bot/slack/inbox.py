"""What is waiting, for ``/paused [filter]`` and the App Home tab.

``/paused`` lists every paused execution matching the filter, newest first, a page at a time
(pages keep a message under Block Kit's 50 blocks); pauses the caller may not decide show why
instead of buttons. The Home tab lists only what the viewer may decide, and is re-published for
recent viewers whenever a pause changes (the notifier calls ``HomeTab.refresh_soon``).

Filter syntax: ``namespace:company.team`` (or ``ns:``; the namespace and its children),
``flow:deploy_approval``, and any other text, matched against execution ids, namespaces and
flow ids.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.authorization import Gatekeeper
from bot.slack.blocks import ListedPause, Message, home_view, paused_list
from bot.slack.metrics import SlackMetrics
from bot.slack.pauses import Pause, waiting_pauses
from engine.engine import Engine

log = logging.getLogger(__name__)

PAGE_SIZE = 8  # 3 blocks each + heading, footer and navigation: well under 50
HOME_ITEMS_MAX = 25  # 3 blocks each: under the Home tab's 100
HOME_SCAN_MAX = 200
HOME_VIEWER_TTL = 24 * 3600.0
HOME_VIEWERS_MAX = 200


@dataclass(frozen=True)
class PausedQuery:
    namespace: str | None = None
    flow_id: str | None = None
    text: str | None = None

    @classmethod
    def parse(cls, text: str) -> PausedQuery:
        namespace = flow_id = None
        words: list[str] = []
        for word in text.split():
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
        return cls(namespace, flow_id, " ".join(words) or None)


async def paused_page(
    engine: Engine, gatekeeper: Gatekeeper, user_id: str, query_text: str, page: int
) -> Message:
    query = PausedQuery.parse(query_text)
    page = max(1, page)

    def search() -> tuple[list[Pause], int]:
        executions, total = engine.search_executions(
            states=["PAUSED"],
            namespace=query.namespace,
            flow_id=query.flow_id,
            text=query.text,
            page=page,
            size=PAGE_SIZE,
        )
        return waiting_pauses(engine, executions), total

    pauses, total = await asyncio.to_thread(search)
    items = []
    for pause in pauses:
        refusal = await gatekeeper.check(user_id, pause)
        items.append(ListedPause(pause, refusal.text if refusal else None))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return paused_list(
        items, query=query_text.strip(), total=total, page=min(page, pages), pages=pages
    )


class HomeTab:
    def __init__(
        self, engine: Engine, client: AsyncWebClient, gatekeeper: Gatekeeper, metrics: SlackMetrics
    ) -> None:
        self.engine = engine
        self.client = client
        self.gatekeeper = gatekeeper
        self.metrics = metrics
        self._viewers: dict[str, float] = {}  # user id -> when they last opened the tab
        self._refresh: asyncio.Task[None] | None = None
        self._again = False

    def seen(self, user_id: str) -> None:
        self._viewers[user_id] = time.monotonic()
        if len(self._viewers) > HOME_VIEWERS_MAX:
            oldest = min(self._viewers, key=self._viewers.__getitem__)
            del self._viewers[oldest]

    async def publish(self, user_id: str) -> None:
        view = await self.view_for(user_id)
        try:
            await self.client.views_publish(user_id=user_id, view=view)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("Slack: could not publish the Home tab of %s: %s", user_id, error)
            return
        self.metrics.inc("home_publishes_total")

    async def view_for(self, user_id: str) -> dict:
        def scan() -> list[Pause]:
            executions, _ = self.engine.search_executions(states=["PAUSED"], size=HOME_SCAN_MAX)
            return waiting_pauses(self.engine, executions)

        mine: list[ListedPause] = []
        for pause in await asyncio.to_thread(scan):
            if await self.gatekeeper.check(user_id, pause) is None:
                mine.append(ListedPause(pause, None))
        return home_view(mine[:HOME_ITEMS_MAX], more=max(0, len(mine) - HOME_ITEMS_MAX))

    def refresh_soon(self) -> None:
        """Re-publish for recent viewers; coalesces bursts into one pass at a time."""
        if self._refresh is not None and not self._refresh.done():
            self._again = True
            return
        self._refresh = asyncio.get_running_loop().create_task(
            self._refresh_all(), name="pausebot-slack-home"
        )

    async def _refresh_all(self) -> None:
        while True:
            self._again = False
            cutoff = time.monotonic() - HOME_VIEWER_TTL
            for user_id in [u for u, seen in self._viewers.items() if seen >= cutoff]:
                try:
                    await self.publish(user_id)
                except Exception:
                    log.exception("Slack: Home tab refresh failed for %s", user_id)
            if not self._again:
                return

    async def stop(self) -> None:
        if self._refresh is not None and not self._refresh.done():
            self._refresh.cancel()
            try:
                await self._refresh
            except asyncio.CancelledError:
                pass
