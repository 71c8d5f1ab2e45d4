"""``GET /metrics`` in the Prometheus text format, through prometheus_client (one registry per
service instance, so tests and several apps in one process don't share counters).

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
from collections.abc import Iterator, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.clock import parse_iso
from engine.engine import Engine, NewEvent
from engine.model import Execution
from engine.states import State

log = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series beside every counter and histogram

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


class _DatabaseCollector(Collector):
    """The gauges read from the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        outbox = self.engine.outbox
        try:
            by_state = self.engine.count_executions_by_state()
            backlog = {c: outbox.backlog(c) for c in outbox.consumers()}
            failed = {c: outbox.failed(c) for c in backlog}
            database_up = 1
        except Exception:  # the scrape still answers, saying the database is down
            log.warning("metrics: database unavailable", exc_info=True)
            by_state, backlog, failed, database_up = {}, {}, {}, 0
        yield GaugeMetricFamily(
            "pausebot_database_up", "1 when this scrape could read the database.", database_up
        )
        if not database_up:
            return
        executions = GaugeMetricFamily(
            "pausebot_executions", "Executions by current state.", labels=["state"]
        )
        for state in State:
            executions.add_metric([state.value], by_state.get(state.value, 0))
        yield executions
        pending = GaugeMetricFamily(
            "pausebot_outbox_backlog",
            "Outbox events a consumer has yet to deliver.",
            labels=["consumer"],
        )
        for consumer, count in backlog.items():
            pending.add_metric([consumer], count)
        yield pending
        gave_up = GaugeMetricFamily(
            "pausebot_outbox_failed", "Outbox events a consumer gave up on.", labels=["consumer"]
        )
        for consumer, count in failed.items():
            gave_up.add_metric([consumer], count)
        yield gave_up


class Metrics:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_DatabaseCollector(engine))
        self.resumes = Counter(
            "pausebot_resumes",
            "Pauses resumed, by surface (since this process started).",
            ["via"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "pausebot_pause_decisions",
            "Pauses decided, by surface and outcome.",
            ["via", "outcome"],
            registry=self.registry,
        )
        self.waits = Histogram(
            "pausebot_pause_wait_seconds",
            "Seconds from PAUSED to the decision.",
            ["via"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        engine.add_listener(self.on_commit)

    # -- counting (called by the engine after each commit) --------------------------------
    def on_commit(self, execution_id: str, events: Sequence[NewEvent]) -> None:
        decisions = [e for e in events if e.kind in ("resumed", "killed")]
        if not decisions:
            return
        execution: Execution | None = None
        if not all(e.payload.get("pausedAt") and e.payload.get("on") for e in decisions):
            try:  # a manual pause: when it paused is in the execution, not the event
                execution = self.engine.get_execution(execution_id)
            except Exception:  # a metric must never fail a resume
                log.warning("metrics: cannot read execution %s", execution_id, exc_info=True)
        for event in decisions:
            via = str(event.payload.get("via") or "unknown")
            waited = self._waited(execution, event)
            self.decisions.labels(via=via, outcome=event.kind).inc()
            if event.kind == "resumed":
                self.resumes.labels(via=via).inc()
            if waited is not None:
                self.waits.labels(via=via).observe(waited)

    @staticmethod
    def _waited(execution: Execution | None, event: NewEvent) -> float | None:
        decided = event.payload.get("on")
        paused = event.payload.get("pausedAt")
        if paused and decided:
            return max(0.0, (parse_iso(decided) - parse_iso(paused)).total_seconds())
        if execution is None:
            return None
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
        return generate_latest(self.registry).decode()
