"""io.kestra.plugin.core.kv.Get: reads a key of a namespace's KV store (output ``value``)."""

from __future__ import annotations

from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class KVGetTask(Task):
    type_names = ("io.kestra.plugin.core.kv.Get",)
    key: str
    namespace: str = "{{ flow.namespace }}"
    errorOnMissing: bool | str = False

    def run(self, context: RunContext) -> TaskResult:
        value = context.services.kv.get(
            context.render_text(self.namespace),
            context.render_text(self.key),
            error_on_missing=context.render_bool(self.errorOnMissing, "errorOnMissing"),
        )
        return TaskResult(outputs={"value": value})
