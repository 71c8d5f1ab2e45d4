"""What the store keeps beside an execution's document so Kestra's filters are queries, not
scans: one row per label (looked up by digest) and the end date and duration columns."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from engine.clock import parse_iso
from engine.model import Execution


def label_digest(key: str, value: str) -> str:
    return hashlib.sha256(f"{key}\x00{value}".encode("utf-8", "surrogatepass")).hexdigest()


def label_pairs(execution: Execution) -> dict[str, tuple[str, str]]:
    """digest -> (key, value) of every label of the execution."""
    return {label_digest(k, v): (k, v) for k, v in execution.label_map().items()}


def label_rows(execution: Execution) -> list[dict[str, Any]]:
    return [
        {"execution_id": execution.id, "digest": digest, "key": key, "value": value}
        for digest, (key, value) in label_pairs(execution).items()
    ]


def execution_columns(execution: Execution, now: datetime) -> dict[str, Any]:
    """``end_date`` (Kestra's ``state.endDate``) and ``duration`` in seconds, as of ``now``."""
    start_text = execution.state.start_date
    end_text = execution.state.end_date
    end = parse_iso(end_text) if end_text else None
    duration = None
    if start_text:
        start = parse_iso(start_text)
        last = end or now
        if last.tzinfo is None:
            last = last.replace(tzinfo=start.tzinfo)
        duration = max(0.0, (last - start).total_seconds())
    return {"end_date": end, "duration": duration}
