"""The engine's services that tasks may use beyond their own I/O: the file storage
(``kestra:///`` URIs) and the KV store. Tasks reach them through ``RunContext.services``; the
expression context reaches the KV store through the ``kv()`` function."""

from __future__ import annotations

from typing import Any


class TaskServices:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.storage: Any = None
        self.kv: Any = None
