"""ForEach and its deprecated forms EachSequential / EachParallel: the same child ``tasks`` once per
value. Each group runs its tasks one after the other; ``concurrencyLimit`` groups run at a time
(1 = one value after the other, 0 = all at once). The children of a group carry the value and the
iteration index (``taskrun.value``, ``taskrun.iteration``), and their outputs are keyed by value:
``outputs.<taskId>[<value>]``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.errors import ExpressionError
from engine.model import TaskRun
from engine.tasks.base import register
from engine.tasks.flowable import Block, FlowableTask

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask

MAX_VALUES = 10_000  # a loop over more belongs in a subflow per batch (ForEachItem)


class IteratingTask(FlowableTask):
    """What the executor needs of a loop: its values (rendered once) and how many groups at a time."""

    tasks: list[AnyTask] = Field(min_length=1)

    def values_source(self) -> Any:
        raise NotImplementedError

    def concurrency_limit(self) -> int:
        raise NotImplementedError

    def resolve_values(self, render: Callable[[Any], Any]) -> list[str]:
        return resolve_values(self.values_source(), render)

    def main_block(self, run: TaskRun, render: Any) -> Block:  # the executor walks iterations
        return Block("tasks", list(self.tasks))

    def child_blocks(self) -> dict[str, list[Any]]:
        return {"tasks": list(self.tasks), **super().child_blocks()}


@register
class ForEachTask(IteratingTask):
    type_names = ("io.kestra.plugin.core.flow.ForEach",)
    values: str | list[Any]
    concurrencyLimit: int = Field(default=1, ge=0)

    def values_source(self) -> Any:
        return self.values

    def concurrency_limit(self) -> int:
        return self.concurrencyLimit


@register
class EachSequentialTask(IteratingTask):
    """Deprecated in Kestra: ForEach with ``concurrencyLimit: 1``."""

    type_names = (
        "io.kestra.plugin.core.flow.EachSequential",
        "io.kestra.core.tasks.flows.EachSequential",
    )
    value: str | list[Any]

    def values_source(self) -> Any:
        return self.value

    def concurrency_limit(self) -> int:
        return 1


@register
class EachParallelTask(IteratingTask):
    """Deprecated in Kestra: ForEach with ``concurrencyLimit`` = ``concurrent`` (0 = all)."""

    type_names = (
        "io.kestra.plugin.core.flow.EachParallel",
        "io.kestra.core.tasks.flows.EachParallel",
    )
    value: str | list[Any]
    concurrent: int = Field(default=0, ge=0)

    def values_source(self) -> Any:
        return self.value

    def concurrency_limit(self) -> int:
        return self.concurrent


def resolve_values(source: Any, render: Callable[[Any], Any]) -> list[str]:
    """Kestra's rules: a string is rendered and read as a JSON array; list items are rendered;
    objects become JSON text; null is an error; duplicates are dropped (first one kept)."""
    if isinstance(source, str):
        rendered = render(source)
        if isinstance(rendered, str):
            try:
                items = json.loads(rendered)
            except ValueError as error:
                raise ExpressionError(source, f"values must be a JSON array: {error}") from None
        else:
            items = rendered
        if isinstance(items, dict):
            raise ExpressionError(source, "Maps are not supported in values; use a list")
        if not isinstance(items, list):
            raise ExpressionError(source, f"values must be a JSON array, got {rendered!r}")
        texts = [_as_text(item, source, render=None) for item in items]
    else:
        texts = [_as_text(item, source, render=render) for item in source]
    distinct = list(dict.fromkeys(texts))
    if len(distinct) > MAX_VALUES:
        raise ExpressionError(str(source)[:200], f"more than {MAX_VALUES} values")
    return distinct


def _as_text(item: Any, source: Any, render: Callable[[Any], Any] | None) -> str:
    if item is None:
        raise ExpressionError(str(source)[:200], "Found a null value inside the iteration values")
    if isinstance(item, str):
        if render is None:
            return item
        rendered = render(item)
        return rendered if isinstance(rendered, str) else json.dumps(rendered)
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, (int, float)):
        return str(item)
    if render is not None:
        item = render(item)
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))
