"""io.kestra.plugin.core.kv.Delete: removes a key (output ``deleted``: whether it was there)."""

from __future__ import annotations

from engine.kv import KVError, missing_message
from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class KVDeleteTask(Task):
    type_names = ("io.kestra.plugin.core.kv.Delete",)
    key: str
    namespace: str = "{{ flow.namespace }}"
    errorOnMissing: bool | str = False

    def run(self, context: RunContext) -> TaskResult:
        namespace = context.render_text(self.namespace)
        key = context.render_text(self.key)
        deleted = context.services.kv.delete(namespace, key)
        if not deleted and context.render_bool(self.errorOnMissing, "errorOnMissing"):
            raise KVError(missing_message(namespace, key))
        return TaskResult(outputs={"deleted": deleted})
