"""The Slack bot: approval messages that stay true, modal forms, ``/paused`` and the App Home.

Contract used by ``bot.server``: ``build_slack(settings, engine)`` returns None when Slack is not
configured, else a ``SlackBot`` with ``router`` (a FastAPI APIRouter serving
``POST /slack/events``), ``async start()`` and ``async stop()`` (the outbox notifier), and
``async run_socket_mode()``.

Modules, one concern each:

    app.py            Bolt AsyncApp, listener registration, the route, Socket Mode
    decisions.py      Approve/Reject clicks and modal submissions -> the engine
    authorization.py  who may decide (assignment users/groups/emails, self-approval)
    inbox.py          /paused pages and the App Home tab
    notifier.py       the outbox consumer that posts and updates messages
    blocks.py         every message, modal and Home view (slack_sdk Block Kit models)
    forms.py          onResume inputs <-> Block Kit input elements and view.state.values
    pauses.py         a paused task run looked up from ids; the flow labels the bot reads
    texts.py          every sentence the bot says
    mrkdwn.py         escaping, truncation, mentions, dates
    metrics.py        counters
    manifest.py       the Slack app manifest with request URLs filled in
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.slack.app import SlackBot
    from engine.engine import Engine

log = logging.getLogger(__name__)


def build_slack(settings: Settings, engine: Engine) -> SlackBot | None:
    if not settings.slack_enabled:
        log.info("Slack not configured; running without the bot")
        return None
    oauth = [name for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET") if os.environ.get(name)]
    if oauth:
        # With both, Bolt would silently switch to multi-workspace OAuth and ignore
        # SLACK_BOT_TOKEN; one alone is a half-done OAuth set-up. Either way: say so.
        from bot.config import ConfigError

        raise ConfigError(
            [
                f"{' and '.join(oauth)} {'is' if len(oauth) == 1 else 'are'} set, but pausebot is a "
                "single-workspace app driven by SLACK_BOT_TOKEN: unset "
                + ("it" if len(oauth) == 1 else "them")
            ]
        )
    from bot.slack.app import SlackBot

    return SlackBot(settings, engine)


__all__ = ["build_slack"]
