"""storage.Write: writes ``content`` (rendered) to a new file of the internal storage; output
``uri`` (a ``kestra:///`` URI that later tasks, ``read()`` and the API download read)."""

from __future__ import annotations

from engine.model import new_id
from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class StorageWriteTask(Task):
    type_names = ("io.kestra.plugin.core.storage.Write", "io.kestra.core.tasks.storages.Write")
    content: str
    extension: str = ".ion"

    def run(self, context: RunContext) -> TaskResult:
        storage = getattr(context.services, "storage", None)
        if storage is None:
            raise context.fail("storage.Write needs the engine's file storage")
        extension = context.render_text(self.extension)
        if extension and not extension.startswith("."):
            extension = "." + extension
        data = context.render_text(self.content).encode()
        uri = storage.put_for(context, f"{new_id()}{extension}", data)
        return TaskResult(outputs={"uri": uri})
