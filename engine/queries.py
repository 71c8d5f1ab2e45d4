"""What a search of executions can ask for, in Kestra's names (``GET /executions/search``).

The surfaces parse their parameters into these; ``engine.store`` turns them into SQL (text
filters through ``engine.store.filters``, which escapes LIKE wildcards).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Kestra's sortable fields of an execution (``sort=state.startDate:desc``).
SORT_FIELDS = (
    "id",
    "state.startDate",
    "state.endDate",
    "state.duration",
    "namespace",
    "flowId",
    "state.current",
)


@dataclass(frozen=True)
class SortKey:
    field: str  # one of SORT_FIELDS
    descending: bool = False


@dataclass(frozen=True)
class DateRange:
    """Kestra's ``startDate`` (state.startDate at or after) and ``endDate`` (state.endDate at
    or before; an execution that has not ended has none, so it does not match)."""

    start_after: datetime | None = None
    end_before: datetime | None = None
