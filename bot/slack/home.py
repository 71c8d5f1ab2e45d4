"""The App Home tab: "Waiting for you" first (what the viewer may decide, the nearest deadline
first), then everything else waiting, grouped by flow with counts. Under Block Kit's 100 blocks
at any volume (see ``bot/slack/lists.py``).

It is re-published for recent viewers whenever a pause changes (the notifier calls
``HomeTab.refresh_soon``); bursts coalesce into one pass at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.authorization import Gatekeeper
from bot.slack.lists import (
    GROUPS_MAX,
    HOME_MINE_FLAT_MAX,
    HOME_MINE_PER_GROUP,
    HOME_OTHER_GROUPS,
    HOME_OTHER_PER_GROUP,
    SCAN_MAX,
    Entry,
    Group,
    Shown,
    grouped,
    home_view,
    shown_entries,
    waiting_entries,
)
from bot.slack.metrics import SlackMetrics
from engine.engine import Engine
from engine.waiting import WaitingOverview

log = logging.getLogger(__name__)

Snapshot = tuple[WaitingOverview, list[Entry]]
HOME_VIEWER_TTL = 24 * 3600.0
HOME_VIEWERS_MAX = 200


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

    async def publish(self, user_id: str, snapshot: Snapshot | None = None) -> None:
        view = await self.view_for(user_id, snapshot)
        try:
            await self.client.views_publish(user_id=user_id, view=view)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("Slack: could not publish the Home tab of %s: %s", user_id, error)
            return
        self.metrics.inc("home_publishes_total")

    def read(self) -> Snapshot:
        """What is waiting, for every viewer (blocking: call it from a thread)."""
        overview = self.engine.waiting_overview(limit=SCAN_MAX)
        return overview, waiting_entries(self.engine, overview)

    async def view_for(self, user_id: str, snapshot: Snapshot | None = None) -> dict:
        if snapshot is None:
            snapshot = await asyncio.to_thread(self.read)
        overview, entries = snapshot
        refusals: dict[str, str | None] = {}
        mine: list[Entry] = []
        others: list[Entry] = []
        for entry in entries:
            refusal = await self.gatekeeper.check(user_id, entry.pause)
            refusals[entry.pause.run.id] = refusal.text if refusal else None
            (others if refusal else mine).append(entry)
        unscanned = max(0, overview.total - len(overview.executions))

        def draw() -> dict:
            mine_flat: list[Shown] | None = None
            mine_groups: list[tuple[Group, list[Shown]]] | None = None
            mine_more_groups = 0
            if len(mine) <= HOME_MINE_FLAT_MAX:
                mine_flat = shown_entries(self.engine, mine, refusals)
            else:
                groups = grouped(mine, None, HOME_MINE_PER_GROUP)
                mine_groups = [
                    (g, shown_entries(self.engine, g.entries, refusals))
                    for g in groups[:GROUPS_MAX]
                ]
                mine_more_groups = max(0, len(groups) - GROUPS_MAX)
            other = grouped(others, None, HOME_OTHER_PER_GROUP)
            return home_view(
                mine_total=len(mine),
                mine_flat=mine_flat,
                mine_groups=mine_groups,
                mine_more_groups=mine_more_groups,
                others_total=len(others) + unscanned,
                other_groups=[
                    (g, shown_entries(self.engine, g.entries, refusals))
                    for g in other[:HOME_OTHER_GROUPS]
                ],
                others_more_groups=max(0, len(other) - HOME_OTHER_GROUPS),
            )

        return await asyncio.to_thread(draw)

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
            viewers = [u for u, seen in self._viewers.items() if seen >= cutoff]
            if not viewers:
                return
            try:
                snapshot = await asyncio.to_thread(self.read)  # one read for every viewer
            except Exception:
                log.exception("Slack: Home tab refresh could not read what is waiting")
                return
            for user_id in viewers:
                try:
                    await self.publish(user_id, snapshot)
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
