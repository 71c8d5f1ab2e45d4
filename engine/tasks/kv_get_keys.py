"""io.kestra.plugin.core.kv.GetKeys: the live keys of a namespace, optionally by ``prefix``."""

from __future__ import annotations

from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class KVGetKeysTask(Task):
    type_names = ("io.kestra.plugin.core.kv.GetKeys",)
    prefix: str | None = None
    namespace: str = "{{ flow.namespace }}"

    def run(self, context: RunContext) -> TaskResult:
        prefix = context.render_text(self.prefix) if self.prefix is not None else None
        keys = context.services.kv.keys(context.render_text(self.namespace), prefix)
        return TaskResult(outputs={"keys": keys})
