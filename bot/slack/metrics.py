"""Counters the Slack bot keeps (posts, updates, retries, failures, refusals, decisions).

In-process and dependency-free; ``render()`` gives Prometheus text so the service can expose it
next to its own metrics. Outbox backlog and failed deliveries come from the database (they
survive restarts and cover every replica): see ``SlackBot.delivery_status``.
"""

from __future__ import annotations

import threading
from collections import Counter

PREFIX = "pausebot_slack_"

# name -> help text; every counter the bot increments is declared here.
COUNTERS = {
    "messages_posted_total": "Approval messages posted.",
    "messages_updated_total": "Messages updated after a decision or a change.",
    "delivery_retries_total": "Deliveries put back for a retry, by reason (ratelimited, server, network).",
    "delivery_failures_total": "Deliveries given up, by Slack error.",
    "decisions_total": "Pauses decided in Slack, by action (approved, rejected, killed).",
    "refusals_total": "Clicks refused, by reason (not_assigned, self_approval, lookup_failed).",
    "home_publishes_total": "App Home views published.",
    "direct_messages_total": "Direct messages sent to assignees (first messages and reminders).",
    "reminders_posted_total": "Reminders re-announced (each in its thread and to the assignees).",
}


class SlackMetrics:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self._lock = threading.Lock()

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        if name not in COUNTERS:
            raise KeyError(f"undeclared metric {name!r}")
        with self._lock:
            self._counts[(name, tuple(sorted(labels.items())))] += amount

    def value(self, name: str, **labels: str) -> int:
        """The counter summed over every label set that includes ``labels``."""
        wanted = set(labels.items())
        with self._lock:
            return sum(
                n for (key, lbls), n in self._counts.items() if key == name and wanted <= set(lbls)
            )

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            counts = dict(self._counts)
        for name, help_text in COUNTERS.items():
            lines.append(f"# HELP {PREFIX}{name} {help_text}")
            lines.append(f"# TYPE {PREFIX}{name} counter")
            for (key, labels), count in sorted(counts.items()):
                if key == name:
                    rendered = ",".join(f'{k}="{_label(v)}"' for k, v in labels)
                    lines.append(
                        f"{PREFIX}{name}{{{rendered}}} {count}"
                        if rendered
                        else f"{PREFIX}{name} {count}"
                    )
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
