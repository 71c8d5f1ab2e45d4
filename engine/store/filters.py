"""Text filters as SQL, matching what the user typed, literally.

Every text filter of pausebot (the API's ``q`` and ``namespace``, the by-query bulk actions,
Slack's ``/paused``, the web UI's list, the CLI) ends up in ``Store.search_executions``, which
builds its conditions with these functions and nothing else. LIKE treats ``%`` and ``_`` as
wildcards and ``\\`` as our escape character; ``literal_like`` escapes all three, so ``q=%``
finds only ids, namespaces and flow ids that contain a ``%``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_

ESCAPE = "\\"


def literal_like(text: str) -> str:
    """``text`` as a LIKE pattern that matches exactly these characters (used with ``ESCAPE``)."""
    return (
        text.replace(ESCAPE, ESCAPE + ESCAPE).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    )


def contains_text(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` contains ``text``, ignoring case, with no wildcard."""
    return func.lower(column).like(f"%{literal_like(text.lower())}%", escape=ESCAPE)


def in_namespace(column: Any, namespace: str) -> ColumnElement[bool]:
    """Kestra's namespace filter: the namespace itself and its children (``company.team``
    matches ``company.team.x``), with no wildcard."""
    return or_(column == namespace, column.like(f"{literal_like(namespace)}.%", escape=ESCAPE))
