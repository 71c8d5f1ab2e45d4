"""``GET /metrics`` in the Prometheus text format (version 0.0.4), written by hand: four families
do not earn a dependency.

Read from the database at scrape time (the same for every replica):
    pausebot_executions{state}             gauge    executions by current state
    pausebot_outbox_backlog{consumer}      gauge    events a consumer (Slack, ...) has yet to deliver
    pausebot_outbox_failed{consumer}       gauge    events it gave up on
    pausebot_database_up                   gauge    1 when the scrape could read the database
Counted by this process from the engine's commit events (sum them over replicas):
    pausebot_resumes_total{via}            counter  pauses resumed, by surface (api, slack, link, ...)
    pausebot_pause_decisions_total{via,outcome}  counter  resumed or killed pauses
    pausebot_pause_wait_seconds{via}       histogram  seconds from PAUSED to the decision
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.clock import parse_iso
from engine.engine import Engine
from engine.model import Execution
from engine.outbox import NewEvent
from engine.states import State

log = logging.getLogger(__name__)

# From a minute's glance to a week-long approval.
WAIT_BUCKETS: tuple[float, ...] = (
    10,
    60,
    300,
    900,
    1800,
    3600,
    4 * 3600,
    12 * 3600,
    86400,
    3 * 86400,
    7 * 86400,
    30 * 86400,
)


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(WAIT_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        for index, bound in enumerate(WAIT_BUCKETS):
            if value <= bound:
                self.buckets[index] += 1


class Metrics:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._decisions: dict[tuple[str, str], int] = defaultdict(int)
        self._waits: dict[str, _Histogram] = defaultdict(_Histogram)
        engine.add_listener(self.on_commit)

    # -- counting (called by the engine after each commit) --------------------------------
    def on_commit(self, execution_id: str, events: Sequence[NewEvent]) -> None:
        decisions = [e for e in events if e.kind in ("resumed", "killed")]
        if not decisions:
            return
        execution: Execution | None = None
        try:
            execution = self.engine.get_execution(execution_id)
        except Exception:  # a metric must never fail a resume
            log.warning("metrics: cannot read execution %s", execution_id, exc_info=True)
        for event in decisions:
            via = str(event.payload.get("via") or "unknown")
            waited = self._waited(execution, event) if execution is not None else None
            with self._lock:
                self._decisions[(via, event.kind)] += 1
                if waited is not None:
                    self._waits[via].observe(waited)

    @staticmethod
    def _waited(execution: Execution, event: NewEvent) -> float | None:
        decided = event.payload.get("on")
        if event.task_run_id is not None:
            run = execution.task_run(event.task_run_id)
            paused = run.state.entered(State.PAUSED) if run is not None else None
        else:  # a manual pause of the whole execution
            paused = execution.state.entered(State.PAUSED)
        if not paused or not decided:
            return None
        return max(0.0, (parse_iso(decided) - parse_iso(paused)).total_seconds())

    # -- the exposition -------------------------------------------------------------------
    def render(self) -> str:
        lines: list[str] = []
        outbox = self.engine.outbox
        try:
            by_state = self.engine.count_executions_by_state()
            backlog = {c: outbox.backlog(c) for c in outbox.consumers()}
            failed = {c: outbox.failed(c) for c in backlog}
            database_up = 1
        except Exception:  # the scrape still answers, saying the database is down
            log.warning("metrics: database unavailable", exc_info=True)
            by_state, backlog, failed, database_up = {}, {}, {}, 0

        _family(
            lines, "pausebot_database_up", "gauge", "1 when this scrape could read the database."
        )
        lines.append(f"pausebot_database_up {database_up}")
        if database_up:
            _family(lines, "pausebot_executions", "gauge", "Executions by current state.")
            for state in State:
                lines.append(
                    f"pausebot_executions{_labels(state=state.value)} {by_state.get(state.value, 0)}"
                )
            _family(
                lines,
                "pausebot_outbox_backlog",
                "gauge",
                "Outbox events a consumer has yet to deliver.",
            )
            for consumer, count in backlog.items():
                lines.append(f"pausebot_outbox_backlog{_labels(consumer=consumer)} {count}")
            _family(
                lines, "pausebot_outbox_failed", "gauge", "Outbox events a consumer gave up on."
            )
            for consumer, count in failed.items():
                lines.append(f"pausebot_outbox_failed{_labels(consumer=consumer)} {count}")

        with self._lock:
            decisions = dict(self._decisions)
            waits = {via: (list(h.buckets), h.count, h.total) for via, h in self._waits.items()}

        _family(
            lines,
            "pausebot_resumes_total",
            "counter",
            "Pauses resumed, by surface (since this process started).",
        )
        resumed: dict[str, int] = defaultdict(int)
        for (via, outcome), count in decisions.items():
            if outcome == "resumed":
                resumed[via] += count
        for via in sorted(resumed):
            lines.append(f"pausebot_resumes_total{_labels(via=via)} {resumed[via]}")
        _family(
            lines,
            "pausebot_pause_decisions_total",
            "counter",
            "Pauses decided, by surface and outcome.",
        )
        for (via, outcome), count in sorted(decisions.items()):
            lines.append(
                f"pausebot_pause_decisions_total{_labels(via=via, outcome=outcome)} {count}"
            )
        _family(
            lines,
            "pausebot_pause_wait_seconds",
            "histogram",
            "Seconds from PAUSED to the decision.",
        )
        for via in sorted(waits):
            buckets, count, total = waits[via]
            for bound, cumulative in zip(WAIT_BUCKETS, buckets, strict=True):
                lines.append(
                    f"pausebot_pause_wait_seconds_bucket{_labels(via=via, le=_number(bound))} {cumulative}"
                )
            lines.append(f"pausebot_pause_wait_seconds_bucket{_labels(via=via, le='+Inf')} {count}")
            lines.append(f"pausebot_pause_wait_seconds_sum{_labels(via=via)} {_number(total)}")
            lines.append(f"pausebot_pause_wait_seconds_count{_labels(via=via)} {count}")
        return "\n".join(lines) + "\n"


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))
