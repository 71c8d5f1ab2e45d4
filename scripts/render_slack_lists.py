"""Renders `/paused` and the App Home tab at volume to PNG pictures for docs/slack.md.

    .venv/bin/python scripts/render_slack_lists.py [--out docs/images] [--chromium /usr/bin/chromium]

Thirty pauses in three flows (two with deadlines, one assigned to Ada) on a throwaway SQLite
database with a fixed clock; the very payloads the bot sends (``bot.slack.inbox.paused_page``,
``bot.slack.home.HomeTab.view_for``), drawn with the simplified Slack rendering of
``scripts/render_slack.py`` (an overflow menu is drawn as "⋯") and screenshotted in headless
Chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from render_slack import ADA, BOB, NOW, message_page
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.authorization import Directory, Gatekeeper
from bot.slack.home import HomeTab
from bot.slack.inbox import paused_page
from bot.slack.metrics import SlackMetrics
from engine.clock import ManualClock
from engine.engine import Engine

FLOWS = ROOT / "tests" / "bot" / "slack" / "flows"
VIEWER = "U0CY123456"  # not Ada: the security flow waits for someone else


def drawable(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The renderer knows button accessories; an overflow menu is drawn as a "⋯" button."""
    out = []
    for block in blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "overflow":
            block = {
                **block,
                "accessory": {"type": "button", "text": {"type": "plain_text", "text": "⋯"}},
            }
        out.append(block)
    return out


def scenes() -> list[tuple[str, str, int]]:
    clock = ManualClock(NOW)
    directory = Path(tempfile.mkdtemp(prefix="pausebot-render-"))
    engine = Engine(f"sqlite:///{directory / 'render.db'}", clock=clock)
    for name in ("list_deploys", "list_expenses", "list_access"):
        engine.deploy_flow((FLOWS / f"{name}.yml").read_text())
    flows = [
        ("company.platform", "deploys"),
        ("company.finance", "expenses"),
        ("company.security", "access"),
    ]
    for index in range(30):
        namespace, flow_id = flows[index % 3]
        execution = engine.start_execution(
            namespace, flow_id, {}, via="api", by=ADA if index % 2 else BOB
        )
        engine.run_until_blocked(execution.id)
        clock.advance(97)
    gatekeeper = Gatekeeper(
        Directory(AsyncWebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")),
        forbid_self_approval=False,
    )
    home = HomeTab(engine, AsyncWebClient(token="xoxb-unused"), gatekeeper, SlackMetrics())

    async def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        grouped = await paused_page(engine, gatekeeper, VIEWER, "", 1)
        one_flow = await paused_page(engine, gatekeeper, VIEWER, "flow:deploys", 1)
        view = await home.view_for(VIEWER)
        return grouped.blocks, one_flow.blocks, view["blocks"]

    grouped, one_flow, home_blocks = asyncio.run(build())
    engine.close()
    return [
        ("list-paused-grouped.png", message_page(drawable(grouped)), 640),
        ("list-paused-one-flow.png", message_page(drawable(one_flow)), 640),
        ("list-home.png", message_page(drawable(home_blocks)), 640),
    ]


def render(out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    pages = scenes()  # before Playwright's own event loop runs
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            for name, page_html, width in pages:
                page = browser.new_page(viewport={"width": width, "height": 200})
                page.set_content(f"<!doctype html><meta charset=utf-8>{page_html}")
                target = out / name
                page.screenshot(path=str(target), full_page=True)
                page.close()
                written.append(target)
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    for path in render(args.out, args.chromium):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
