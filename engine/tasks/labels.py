"""execution.Labels: adds or replaces labels of the running execution (a map, a list of
``{key, value}``, or a JSON string of either, keys and values rendered). ``system.*`` labels are
refused. Decided by the executor (it changes only the execution document)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from engine.errors import ExpressionError
from engine.tasks.base import Task, register


@register
class LabelsTask(Task):
    kind: ClassVar[Literal["runnable", "flowable"]] = "flowable"
    type_names = ("io.kestra.plugin.core.execution.Labels",)
    labels: dict[str, Any] | list[dict[str, Any]] | str

    def resolve(self, render: Callable[[Any], Any]) -> dict[str, str]:
        value: Any = self.labels
        if isinstance(value, str):
            text = render(value)
            try:
                value = json.loads(text) if isinstance(text, str) else text
            except ValueError as error:
                raise ExpressionError(
                    str(self.labels), f"labels must be a JSON map or list: {error}"
                ) from None
        if isinstance(value, dict):
            pairs = [(render(str(k)), render(v)) for k, v in value.items()]
        elif isinstance(value, list):
            pairs = []
            for item in value:
                if not isinstance(item, dict) or "key" not in item:
                    raise ExpressionError(
                        str(self.labels)[:200], "each label needs a key and a value"
                    )
                pairs.append((render(str(item["key"])), render(item.get("value"))))
        else:
            raise ExpressionError(str(self.labels)[:200], "labels must be a map or a list")
        labels: dict[str, str] = {}
        for key, raw in pairs:
            key = str(key)
            if key.startswith("system."):
                raise ExpressionError(key, "system labels cannot be set by a task")
            if raw is None:
                raise ExpressionError(key, f"label {key!r} has no value")
            labels[key] = _text(raw)
        return labels


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
