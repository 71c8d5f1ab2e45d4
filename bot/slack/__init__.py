"""The Slack bot (placeholder until it lands).

Contract used by ``bot.server``: ``build_slack(settings, engine)`` returns None when Slack is not
configured, else an object with ``router`` (a FastAPI APIRouter serving ``POST /slack/events``),
``async start()`` and ``async stop()`` (the outbox notifier), and ``async run_socket_mode()``.
"""

from __future__ import annotations

from typing import Any


def build_slack(settings: Any, engine: Any) -> Any:
    return None
