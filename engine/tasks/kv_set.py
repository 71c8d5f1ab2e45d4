"""io.kestra.plugin.core.kv.Set: stores ``value`` under ``key`` in a namespace's KV store."""

from __future__ import annotations

from typing import Any

from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class KVSetTask(Task):
    type_names = ("io.kestra.plugin.core.kv.Set",)
    key: str
    value: Any
    namespace: str = "{{ flow.namespace }}"
    overwrite: bool | str = True
    ttl: str | None = None
    kvType: str | None = None
    kvDescription: str | None = None

    def run(self, context: RunContext) -> TaskResult:
        namespace = context.render_text(self.namespace)
        key = context.render_text(self.key)
        context.services.kv.set(
            namespace,
            key,
            context.render(self.value),
            kv_type=context.render_text(self.kvType) if self.kvType else None,
            ttl=context.render_text(self.ttl) if self.ttl else None,
            overwrite=context.render_bool(self.overwrite, "overwrite"),
            description=context.render_text(self.kvDescription) if self.kvDescription else None,
        )
        context.log("INFO", f"Set key '{key}' in namespace '{namespace}'.")
        return TaskResult()
