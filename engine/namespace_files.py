"""Namespace files: files a deployer puts next to the flows of a namespace, in a local directory.

``PAUSEBOT_NAMESPACE_FILES_DIR`` names the directory; a file ``path`` of namespace ``ns`` is
``<dir>/<ns>/<path>``. Scripts copy them into their working directory (``namespaceFiles``).
Paths never leave the namespace's directory.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path

ENV_VAR = "PAUSEBOT_NAMESPACE_FILES_DIR"


def namespace_root(namespace: str) -> Path | None:
    base = os.environ.get(ENV_VAR)
    if not base:
        return None
    root = (Path(base) / namespace).resolve()
    if not root.is_relative_to(Path(base).resolve()):
        return None
    return root


def list_namespace_files(
    namespace: str, include: list[str] | None = None, exclude: list[str] | None = None
) -> Iterator[tuple[str, Path]]:
    """``(relative path, file)`` for the namespace's files matching the globs (Kestra's
    ``include``/``exclude``; a pattern without ``/`` also matches in sub-directories)."""
    root = namespace_root(namespace)
    if root is None or not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(root).as_posix()
        if include and not _matches(relative, include):
            continue
        if exclude and _matches(relative, exclude):
            continue
        yield relative, path


def _matches(relative: str, patterns: list[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        pattern = pattern.lstrip("/")
        if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(name, pattern):
            return True
        if pattern.endswith("/**") and relative.startswith(pattern[:-3] + "/"):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatchcase(relative, pattern[3:]):
            return True
    return False
