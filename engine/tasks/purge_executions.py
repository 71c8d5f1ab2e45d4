"""Kestra's ``io.kestra.plugin.core.execution.PurgeExecutions``: deletes finished (or any
``states``) executions and their logs between ``startDate`` and ``endDate``, for all flows, a
namespace (a prefix without ``flowId``) or one flow. pausebot keeps no metrics and no internal
storage per execution, so ``purgeMetric``/``purgeStorage`` are accepted and count 0."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from engine.states import State
from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class PurgeExecutionsTask(Task):
    type_names = (
        "io.kestra.plugin.core.execution.PurgeExecutions",
        "io.kestra.plugin.core.storage.Purge",
        "io.kestra.core.tasks.storages.Purge",
    )
    endDate: str
    startDate: str | None = None
    namespace: str | None = None
    flowId: str | None = None
    states: list[str] = Field(default_factory=list)
    purgeExecution: bool = True
    purgeLog: bool = True
    purgeMetric: bool = True
    purgeStorage: bool = True
    batchSize: int = Field(default=100, ge=1)

    @field_validator("states")
    @classmethod
    def _states(cls, value: list[str]) -> list[str]:
        known = {s.value for s in State}
        unknown = [s for s in value if s.upper() not in known]
        if unknown:
            raise ValueError(
                f"unknown state(s) {', '.join(unknown)} (expected some of {', '.join(sorted(known))})"
            )
        return [s.upper() for s in value]

    def run(self, context: RunContext) -> TaskResult:
        store = getattr(context.services, "store", None)
        if store is None:  # pragma: no cover - the engine always equips its tasks
            raise context.fail("PurgeExecutions needs the engine's store")
        if self.flowId and not self.namespace:
            raise context.fail("PurgeExecutions: flowId needs namespace as well")
        end = _date(context, "endDate", self.endDate)
        start = _date(context, "startDate", self.startDate) if self.startDate else None
        namespace = context.render_text(self.namespace) if self.namespace else None
        flow_id = context.render_text(self.flowId) if self.flowId else None
        current: Any = (context.variables.get("execution") or {}).get("id")
        executions, logs = store.purge_executions(
            end_date=end,
            start_date=start,
            namespace=namespace,
            flow_id=flow_id,
            states=self.states,
            purge_execution=self.purgeExecution,
            purge_log=self.purgeLog,
            batch_size=self.batchSize,
            keep=[current] if current else [],  # never the execution running this task
        )
        context.log("INFO", f"Purged {executions} execution(s) and {logs} log line(s).")
        return TaskResult(
            outputs={
                "executionsCount": executions,
                "logsCount": logs,
                "metricsCount": 0,
                "storagesCount": 0,
            }
        )


def _date(context: RunContext, name: str, value: str) -> datetime:
    from engine.clock import parse_iso

    text = context.render_text(value).strip()
    try:
        moment = parse_iso(text.replace("Z", "+00:00"))
    except ValueError:
        raise context.fail(f"PurgeExecutions: {name} {text!r} is not an ISO-8601 date") from None
    return moment
