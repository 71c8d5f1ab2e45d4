"""flow.ForEachItem: splits a file of the internal storage (``items``, a ``kestra:///`` URI) into
batches of lines (``batch.rows``, or ``batch.partitions`` batches) and starts one execution of
``namespace``.``flowId`` per batch, with ``inputs`` rendered per batch: ``taskrun.items`` is the
batch's file, ``taskrun.iteration`` its number (from 1). With ``wait`` it waits for all of them;
``transmitFailed`` fails it when one failed.

Outputs as Kestra's, on three task runs beside it: ``<id>_split.splits`` (the batch files),
``<id>_items.numberOfBatches`` / ``iterations`` (executions per state) and
``<id>_merge.subflowOutputs`` (a file with the children's ``outputs``, one JSON line each).
The children are created in the parent's transaction, as with Subflow; a child's end wakes the
parent. Batch files are written under the task run before the decision that starts them
(rewritten identically if that decision is retried)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from engine.tasks.base import Task, register

MAX_BATCHES = 1_000


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: int | str | None = None
    partitions: int | str | None = None
    bytes: str | None = None
    separator: str = "\n"

    @field_validator("bytes")
    @classmethod
    def _no_bytes(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("batch.bytes is not supported by pausebot: use rows or partitions")
        return value


@register
class ForEachItemTask(Task):
    kind: ClassVar[Literal["runnable", "flowable"]] = "flowable"
    type_names = ("io.kestra.plugin.core.flow.ForEachItem",)
    items: str
    batch: Batch = Batch()
    namespace: str
    flowId: str
    revision: int | None = None
    inputs: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    wait: bool = True
    transmitFailed: bool = True
    inheritLabels: bool | str = False
    scheduleDate: str | None = None
    restartBehavior: Literal["RETRY_FAILED", "NEW_EXECUTION"] = "RETRY_FAILED"

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {str(i.get("key")): str(i.get("value")) for i in value if isinstance(i, dict)}
        return value

    @field_validator("scheduleDate")
    @classmethod
    def _no_schedule(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("scheduleDate is not supported by pausebot: start the subflows now")
        return value


def split_lines(
    data: bytes, separator: str, rows: int | None, partitions: int | None
) -> list[bytes]:
    """The batches of a file: ``rows`` lines each, or ``partitions`` nearly equal batches."""
    sep = separator.encode()
    lines = [line for line in data.split(sep) if line]
    if not lines:
        return []
    if partitions:
        size = -(-len(lines) // partitions)
    else:
        size = rows or 1
    batches = [sep.join(lines[i : i + size]) + sep for i in range(0, len(lines), size)]
    return batches
