"""storage.LocalFiles (deprecated in Kestra for WorkingDirectory's ``inputFiles`` /
``outputFiles``): inside a WorkingDirectory, writes ``inputs`` (name → content, or a
``kestra:///`` URI) into the shared directory and stores the files matching ``outputs`` (globs)
in the file storage; output ``uris`` (name → URI)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from engine.tasks.base import RunContext, Task, TaskResult, register
from engine.tasks.script import MAX_OUTPUT_FILE, read_stored_file, safe_path


@register
class LocalFilesTask(Task):
    type_names = (
        "io.kestra.plugin.core.storage.LocalFiles",
        "io.kestra.core.tasks.storages.LocalFiles",
    )
    inputs: dict[str, Any] | str | None = None
    outputs: list[str] = Field(default_factory=list)

    def run(self, context: RunContext) -> TaskResult:
        directory = context.working_dir
        if directory is None:
            raise context.fail("LocalFiles runs inside a flow.WorkingDirectory")
        files = self.inputs
        if isinstance(files, str):
            files = json.loads(context.render_text(files))
        for name, content in (files or {}).items():
            target = safe_path(directory, context.render_text(name))
            target.parent.mkdir(parents=True, exist_ok=True)
            rendered = context.render(content)
            if isinstance(rendered, str) and rendered.startswith("kestra://"):
                target.write_bytes(read_stored_file(context, rendered))
            else:
                target.write_text(rendered if isinstance(rendered, str) else json.dumps(rendered))
        uris: dict[str, str] = {}
        storage = getattr(context.services, "storage", None)
        for pattern in self.outputs:
            if storage is None:
                raise context.fail("LocalFiles outputs need the engine's file storage")
            for path in sorted(directory.glob(context.render_text(pattern))):
                if not path.is_file() or path.is_symlink():
                    continue
                relative = path.relative_to(directory).as_posix()
                if path.stat().st_size > MAX_OUTPUT_FILE:
                    raise context.fail(f"{relative!r} is larger than {MAX_OUTPUT_FILE} bytes")
                uris[relative] = storage.put_for(context, relative, path.read_bytes())
        return TaskResult(outputs={"uris": uris})
