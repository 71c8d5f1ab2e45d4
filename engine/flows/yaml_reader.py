"""YAML as Kestra reads it: the YAML 1.2 core schema (Kestra parses flows with Jackson), with
PyYAML's line/column marks, and bounds on what a small document may cost.

What differs from PyYAML's YAML 1.1 ``SafeLoader``:

- booleans are only ``true``/``false`` (any case Jackson knows): ``yes``, ``no``, ``on``, ``off``,
  ``y``, ``n`` stay strings, so a trigger key ``on:`` and a Switch case ``YES:`` are text;
- no implicit timestamps: ``2022-11-28`` is a string, as a Kestra header value must be;
- integers are ``123``, ``0o17`` (octal), ``0x1F``: ``010`` is ten, ``1_000`` and ``1:30`` are text;
- mapping keys are always strings (Jackson's are field names): ``1:`` is ``"1"``, ``true:`` is
  ``"true"``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.errors import Problem

Path = tuple[Any, ...]

# Flows come from people and from the API: a small document must not be able to cost much.
MAX_SOURCE_CHARS = 1_000_000
MAX_NODES = 100_000  # counted with every alias expanded ("billion laughs")
MAX_DEPTH = 100

_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class KestraLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's implicit types."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)  # `<<` merge keys, which Jackson's SnakeYAML also reads
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "keys must be plain names, not lists or mappings",
                    key_node.start_mark,
                )
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: ScalarNode) -> int:  # type: ignore[override]
        text = str(self.construct_scalar(node))
        if text.startswith(("0o", "0x")):
            return int(text, 0)
        return int(text, 10)  # "010" is ten in YAML 1.2, not eight


KestraLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
KestraLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
KestraLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
KestraLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
KestraLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
KestraLoader.add_constructor("tag:yaml.org,2002:int", KestraLoader.construct_yaml_int)


def load_yaml(source: str) -> Any:
    """One YAML document as Kestra reads it (no size checks: for text already validated)."""
    return yaml.load(source, Loader=KestraLoader)


def compose(source: str) -> Node | None:
    return yaml.compose(source, Loader=KestraLoader)


def yaml_problem(error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is not None:
        return Problem(message, line=mark.line + 1, column=mark.column + 1)
    return Problem(message)


def measure(root: Node) -> Problem | None:
    """Refuses documents too deep, or too large once aliases are expanded, before anything
    walks them naively. Sizes are memoised per node, so this costs the unique nodes only."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if depth > MAX_DEPTH:
            mark = node.start_mark
            return Problem(
                f"the document is nested more than {MAX_DEPTH} levels deep",
                line=mark.line + 1,
                column=mark.column + 1,
            )
        children = _children(node)
        if children_done:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[id(node)] > MAX_NODES:
                return Problem(
                    f"the document has more than {MAX_NODES:,} values once its aliases are expanded"
                )
            continue
        if id(node) in sizes:
            continue
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)
    return None


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def index_marks(
    node: Node,
    path: Path,
    marks: dict[Path, tuple[int, int]],
    problems: list[Problem],
    visited: set[int],
) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if id(node) in visited:
        return  # an alias of a node already indexed: its own location is enough
    visited.add(id(node))
    if isinstance(node, MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                problems.append(
                    Problem(
                        "keys must be plain names, not lists or mappings",
                        path=format_path(path),
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                    )
                )
                continue
            key = key_node.value
            if key in seen:
                problems.append(
                    Problem(
                        f"duplicate key '{key}'",
                        path=format_path((*path, key)),
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                    )
                )
            seen.add(key)
            marks[(*path, ("key", key))] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            index_marks(value_node, (*path, key), marks, problems, visited)
    elif isinstance(node, SequenceNode):
        for index, child in enumerate(node.value):
            index_marks(child, (*path, index), marks, problems, visited)


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text
