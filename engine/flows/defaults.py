"""``pluginDefaults`` (and the older ``taskDefaults``), applied as Kestra applies them, to the
document before it is validated, so a value a default supplies is there at validation and at run.

A default applies to every task or trigger whose ``type`` is its ``type``, or starts with it
followed by a dot (a package prefix such as ``io.kestra.plugin.core.log``). The task's own value
wins over a default, unless the default is ``forced``; of several matching defaults the first
written wins; maps merge key by key and lists are concatenated without duplicates.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_KEYS = ("pluginDefaults", "taskDefaults")


class PluginDefault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1)
    values: dict[str, Any] = Field(default_factory=dict)
    forced: bool = False

    def matches(self, type_name: str) -> bool:
        return type_name == self.type or type_name.startswith(self.type.rstrip(".") + ".")


def merge(base: Any, over: Any) -> Any:
    """``over`` wins, key by key in maps; lists are concatenated, duplicates dropped."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(over, list):
        return base + [item for item in over if item not in base]
    return over


# (path of the task in the document, key) -> where the value came from, e.g. "pluginDefaults[0]"
Origins = dict[tuple[tuple[Any, ...], str], str]


def apply_defaults(data: dict[str, Any]) -> Origins:
    """Applies the document's valid defaults to its tasks and triggers in place; entries that
    are not valid defaults are left for the Flow model to report."""
    defaults: list[tuple[str, PluginDefault]] = []
    for key in DEFAULT_KEYS:
        entries = data.get(key)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            try:
                defaults.append((f"{key}[{index}]", PluginDefault.model_validate(entry)))
            except ValueError:
                continue
    origins: Origins = {}
    if defaults:
        for name, node in data.items():
            if name not in DEFAULT_KEYS:
                _walk(node, (name,), defaults, origins)
    return origins


def _walk(
    node: Any, path: tuple[Any, ...], defaults: list[tuple[str, PluginDefault]], origins: Origins
) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, (*path, index), defaults, origins)
        return
    if not isinstance(node, dict):
        return
    type_name = node.get("type")
    if isinstance(type_name, str):
        _apply(node, path, type_name, defaults, origins)
    for key, value in node.items():
        _walk(value, (*path, key), defaults, origins)


def _apply(
    node: dict[str, Any],
    path: tuple[Any, ...],
    type_name: str,
    defaults: list[tuple[str, PluginDefault]],
    origins: Origins,
) -> None:
    matching = [(name, d) for name, d in defaults if d.matches(type_name)]
    if not matching:
        return
    own = dict(node)
    soft: dict[str, Any] = {}
    forced: dict[str, Any] = {}
    for name, default in reversed(matching):  # the first written is merged last: it wins
        target = forced if default.forced else soft
        target.update(merge(target, default.values))
        for key in default.values:
            if default.forced or key not in own:
                origins[(path, key)] = name
    merged = merge(merge(soft, own), forced)
    node.clear()
    node.update(merged)
