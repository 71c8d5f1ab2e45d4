"""The internal file storage behind Kestra's ``kestra:///…`` URIs, one interface, two backends:

* the database (the default): table ``stored_files``, so every replica reads the same files;
  each file at most ``PAUSEBOT_STORAGE_MAX_BYTES`` (10 MiB by default);
* a local directory (``PAUSEBOT_STORAGE_DIR``): no size limit beyond the disk's, but only one
  machine (or a shared volume) sees the files.

URIs follow Kestra's layout: ``kestra:///<namespace as folders>/<flowId>/executions/<id>/…``,
``…/inputs/<inputId>/<file name>`` for FILE inputs and ``…/tasks/<taskId>/<taskRunId>/<name>``
for task outputs. A task reads only files of its own namespace (its flow's executions).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from engine.clock import Clock
from engine.errors import NotFoundError, TaskFailure

SCHEME = "kestra://"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


class StorageError(TaskFailure):
    """A file that cannot be stored or read (too large, missing, outside the namespace)."""


class FileNotFound(NotFoundError):
    def __init__(self, uri: str) -> None:
        self.uri = uri
        super().__init__(f"File '{uri[:300]}' not found.")


@dataclass(frozen=True)
class UploadedFile:
    """A FILE input's content as received (API multipart part, CLI path), before storage."""

    name: str
    data: bytes


class FileStorage(Protocol):
    def put(self, uri: str, data: bytes) -> str: ...
    def put_in(self, tx: Any, uri: str, data: bytes) -> str: ...
    def get(self, uri: str) -> bytes: ...
    def size(self, uri: str) -> int: ...


def check_uri(uri: str) -> str:
    """The path part of a ``kestra:///`` URI, refusing ``..`` and other escapes."""
    if not isinstance(uri, str) or not uri.startswith(SCHEME + "/"):
        raise StorageError(f"not an internal storage URI (kestra:///...): {str(uri)[:200]!r}")
    path = uri[len(SCHEME) :]
    parts = PurePosixPath(path).parts
    if ".." in parts or "\x00" in path or len(uri) > 1024 or len(parts) < 2:
        raise StorageError(f"invalid internal storage URI: {uri[:200]!r}")
    return path


def safe_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name or "file"
    return _SAFE_NAME.sub("_", base)[:200]


def execution_prefix(namespace: str, flow_id: str, execution_id: str) -> str:
    return f"{SCHEME}/{namespace.replace('.', '/')}/{flow_id}/executions/{execution_id}"


def namespace_prefix(namespace: str) -> str:
    return f"{SCHEME}/{namespace.replace('.', '/')}/"


class DatabaseStorage:
    def __init__(self, store: Any, clock: Clock, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.store = store
        self.clock = clock
        self.max_bytes = max_bytes

    def put(self, uri: str, data: bytes) -> str:
        check_uri(uri)
        if len(data) > self.max_bytes:
            raise StorageError(
                f"file of {len(data):,} bytes is larger than the database storage's limit of "
                f"{self.max_bytes:,} bytes (PAUSEBOT_STORAGE_MAX_BYTES, or use "
                "PAUSEBOT_STORAGE_DIR for a directory)"
            )
        self.store.put_file(uri, data, self.clock.now())
        return uri

    def put_in(self, tx: Any, uri: str, data: bytes) -> str:
        """Stores inside the caller's transaction (files a decision writes)."""
        check_uri(uri)
        if len(data) > self.max_bytes:
            raise StorageError(f"file of {len(data):,} bytes is larger than {self.max_bytes:,}")
        tx.put_file(uri, data)
        return uri

    def get(self, uri: str) -> bytes:
        check_uri(uri)
        data = self.store.get_file(uri)
        if data is None:
            raise StorageError(f"no such file in the internal storage: {uri}")
        return data  # type: ignore[no-any-return]

    def size(self, uri: str) -> int:
        check_uri(uri)
        size = self.store.file_size(uri)
        if size is None:
            raise StorageError(f"no such file in the internal storage: {uri}")
        return int(size)


class DirectoryStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, uri: str) -> Path:
        return self.root / check_uri(uri).lstrip("/")

    def put(self, uri: str, data: bytes) -> str:
        path = self._path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".part")
        temporary.write_bytes(data)
        temporary.replace(path)  # readers never see half a file
        return uri

    def put_in(self, tx: Any, uri: str, data: bytes) -> str:
        return self.put(uri, data)  # a directory is outside any transaction

    def get(self, uri: str) -> bytes:
        try:
            return self._path(uri).read_bytes()
        except OSError:
            raise StorageError(f"no such file in the internal storage: {uri}") from None

    def size(self, uri: str) -> int:
        try:
            return self._path(uri).stat().st_size
        except OSError:
            raise StorageError(f"no such file in the internal storage: {uri}") from None


def storage_from_environment(store: Any, clock: Clock) -> FileStorage:
    directory = os.environ.get("PAUSEBOT_STORAGE_DIR", "").strip()
    if directory:
        return DirectoryStorage(directory)
    limit = os.environ.get("PAUSEBOT_STORAGE_MAX_BYTES", "").strip()
    return DatabaseStorage(store, clock, int(limit) if limit.isdigit() else DEFAULT_MAX_BYTES)


class TaskFiles:
    """What tasks use (``RunContext.services.storage``): files named after the task run, and
    reads limited to the task's own namespace."""

    def __init__(self, backend: FileStorage) -> None:
        self.backend = backend

    def put_for(self, context: Any, name: str, data: bytes) -> str:
        variables = context.variables
        flow, execution = variables.get("flow", {}), variables.get("execution", {})
        run = variables.get("taskrun", {})
        uri = (
            f"{execution_prefix(flow.get('namespace', ''), flow.get('id', ''), execution.get('id', ''))}"
            f"/tasks/{context.task_id}/{run.get('id', 'run')}/{safe_name(name)}"
        )
        return self.backend.put(uri, data)

    def get_for(self, context: Any, uri: str) -> bytes:
        self._check_namespace(context, uri)
        return self.backend.get(uri)

    def size_for(self, namespace: str, uri: str) -> int:
        _check_namespace_of(namespace, uri)
        return self.backend.size(uri)

    def read_for(self, namespace: str, uri: str) -> bytes:
        _check_namespace_of(namespace, uri)
        return self.backend.get(uri)

    @staticmethod
    def _check_namespace(context: Any, uri: str) -> None:
        _check_namespace_of(str(context.variables.get("flow", {}).get("namespace", "")), uri)


def _check_namespace_of(namespace: str, uri: str) -> None:
    check_uri(uri)
    if not uri.startswith(namespace_prefix(namespace)):
        raise StorageError(
            f"{uri[:200]} belongs to another namespace than {namespace!r}; tasks read only "
            "their own namespace's files"
        )
