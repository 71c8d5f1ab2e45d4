"""YAML text -> validated ``Flow``. Every problem carries the path (``tasks[2].onResume[0].type``)
and, where the YAML has it, the line and column, so nobody has to read a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.errors import FlowValidationError, Problem
from engine.inputs import InputDefinition
from engine.tasks import TASK_TYPES, AnyTask, Task

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"
WEBHOOK_TYPES = (
    "io.kestra.plugin.core.trigger.Webhook",
    "io.kestra.core.models.triggers.types.Webhook",
)


class Trigger(BaseModel):
    """Triggers are kept as written; the Webhook trigger's ``key`` is checked."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
    type: str
    key: str | None = None
    disabled: bool = False

    @property
    def is_webhook(self) -> bool:
        return self.type in WEBHOOK_TYPES


class Concurrency(BaseModel):
    """Kestra's flow ``concurrency``: at most ``limit`` executions of the flow at once (a PAUSED
    one holds its slot); a new one beyond it is QUEUED, CANCELLED or FAILED per ``behavior``."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(ge=1)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] = "QUEUE"


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=NAME_PATTERN, max_length=100)
    namespace: str = Field(pattern=NAME_PATTERN, max_length=150)
    revision: int | None = None
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    inputs: list[InputDefinition] = Field(default_factory=list)
    variables: dict[str, Any] = Field(default_factory=dict)
    tasks: list[AnyTask] = Field(min_length=1)
    errors: list[AnyTask] = Field(default_factory=list)
    finally_: list[AnyTask] = Field(default_factory=list, alias="finally")
    afterExecution: list[AnyTask] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    outputs: list[dict[str, Any]] = Field(default_factory=list)
    disabled: bool = False
    concurrency: Concurrency | None = None
    retry: dict[str, Any] | None = None
    pluginDefaults: list[dict[str, Any]] = Field(default_factory=list)
    sla: list[dict[str, Any]] = Field(default_factory=list)
    tenantId: str | None = None
    deleted: bool = False

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        # Kestra accepts a map or a list of {key, value}.
        if isinstance(value, list):
            return {
                str(item.get("key")): str(item.get("value"))
                for item in value
                if isinstance(item, dict)
            }
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value

    @property
    def uid(self) -> str:
        return f"{self.namespace}.{self.id}"

    def all_tasks(self) -> Iterator[Task]:
        """Every task of the flow, depth first, children after their parent."""
        for block in (self.tasks, self.errors, self.finally_, self.afterExecution):
            yield from _walk(block)

    def find_task(self, task_id: str) -> Task | None:
        return self._index().get(task_id)

    def _index(self) -> dict[str, Task]:
        index = self.__dict__.get("_task_index")
        if index is None:
            index = {task.id: task for task in self.all_tasks()}
            self.__dict__["_task_index"] = index
        return index

    def webhook(self, key: str) -> Trigger | None:
        for trigger in self.triggers:
            if trigger.is_webhook and not trigger.disabled and trigger.key == key:
                return trigger
        return None


def _walk(tasks: list[Task]) -> Iterator[Task]:
    for task in tasks:
        yield task
        for children in task.child_blocks().values():
            yield from _walk(children)


# -- loading ------------------------------------------------------------------------------

Path = tuple[Any, ...]

# Flows come from people and from the API: a small document must not be able to cost much.
MAX_SOURCE_CHARS = 1_000_000
MAX_NODES = 100_000  # counted with every alias expanded ("billion laughs")
MAX_DEPTH = 100


def parse_flow(source: str, source_name: str = "flow") -> Flow:
    """Parse and validate a flow; raises ``FlowValidationError`` listing every problem found."""
    if len(source) > MAX_SOURCE_CHARS:
        raise FlowValidationError(
            [Problem(f"the document is larger than {MAX_SOURCE_CHARS:,} characters")], source_name
        )
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise FlowValidationError([_yaml_problem(error)], source_name) from None
    except RecursionError:
        raise FlowValidationError(
            [Problem("the document is nested too deeply")], source_name
        ) from None
    if root is None:
        raise FlowValidationError([Problem("the document is empty", line=1, column=1)], source_name)
    too_big = _measure(root)
    if too_big:
        raise FlowValidationError([too_big], source_name)
    marks: dict[Path, tuple[int, int]] = {}
    problems: list[Problem] = []
    _index_marks(root, (), marks, problems, set())
    if problems:
        raise FlowValidationError(problems, source_name)
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as error:  # e.g. a !!python/object tag the safe loader refuses
        raise FlowValidationError([_yaml_problem(error)], source_name) from None
    if not isinstance(data, dict):
        line, column = marks.get((), (1, 1))
        raise FlowValidationError(
            [
                Problem(
                    "a flow must be a mapping with id, namespace and tasks",
                    line=line,
                    column=column,
                )
            ],
            source_name,
        )
    problems = _duplicate_task_ids(data, marks)
    try:
        flow = Flow.model_validate(data)
    except ValidationError as error:
        raise FlowValidationError(
            _pydantic_problems(error, data, marks) + problems, source_name
        ) from None
    problems += _semantic_problems(flow, marks)
    if problems:
        raise FlowValidationError(problems, source_name)
    return flow


def _yaml_problem(error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is not None:
        return Problem(message, line=mark.line + 1, column=mark.column + 1)
    return Problem(message)


def _measure(root: yaml.Node) -> Problem | None:
    """Refuses documents too deep, or too large once aliases are expanded, before anything
    walks them naively. Sizes are memoised per node, so this costs the unique nodes only."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _index_marks(
    node: yaml.Node,
    path: Path,
    marks: dict[Path, tuple[int, int]],
    problems: list[Problem],
    visited: set[int],
) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if id(node) in visited:
        return  # an alias of a node already indexed: its own location is enough
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(
                        "keys must be plain names, not lists or mappings",
                        path=_format_path(path),
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
                        path=_format_path((*path, key)),
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                    )
                )
            seen.add(key)
            marks[(*path, ("key", key))] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            _index_marks(value_node, (*path, key), marks, problems, visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _index_marks(child, (*path, index), marks, problems, visited)


def _format_path(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _locate(path: Path, marks: dict[Path, tuple[int, int]]) -> tuple[int | None, int | None]:
    # A key that is present points at its value; a missing one at its parent mapping.
    for end in range(len(path), -1, -1):
        if path[:end] in marks:
            return marks[path[:end]]
    return None, None


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Path:
    """Drop pydantic's union tags and map aliases back to the YAML keys."""
    cleaned: list[Any] = []
    node = data
    for part in loc:
        if isinstance(part, str) and (part in TASK_TYPES or _is_union_tag(part, node)):
            continue
        if part == "finally_":
            part = "finally"
        elif part == "else_":
            part = "else"
        cleaned.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(cleaned)


def _is_union_tag(part: str, node: Any) -> bool:
    # The tag of an unknown type is the type string itself.
    return isinstance(node, dict) and node.get("type") == part and "type" != part


def _pydantic_problems(
    error: ValidationError, data: Any, marks: dict[Path, tuple[int, int]]
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for item in error.errors(include_url=False):
        path = _clean_loc(tuple(item["loc"]), data)
        message = _message(item, path, data)
        key = (_format_path(path), message)
        if key in seen:
            continue
        seen.add(key)
        line, column = _locate(path, marks)
        problems.append(Problem(message, path=_format_path(path), line=line, column=column))
    return problems


def _message(item: Any, path: Path, data: Any) -> str:
    kind = item["type"]
    if kind == "union_tag_invalid":
        node = _get(data, path)
        type_name = node.get("type") if isinstance(node, dict) else None
        return f"unknown task type '{type_name}'"
    if kind == "union_tag_not_found":
        return "a task needs a 'type' (for example io.kestra.plugin.core.log.Log)"
    if kind == "missing":
        return f"'{path[-1] if path else 'field'}' is required"
    if kind == "extra_forbidden":
        return f"unknown property '{path[-1]}'" + _did_you_mean(path, data)
    if kind == "enum":
        expected = item.get("ctx", {}).get("expected", "")
        return f"{item.get('input')!r} is not valid here; expected {expected}"
    message = str(item["msg"])
    return message.removeprefix("Value error, ")


def _did_you_mean(path: Path, data: Any) -> str:
    import difflib

    from engine.tasks import TASK_TYPES as types

    node = _get(data, path[:-1])
    if not isinstance(node, dict):
        return ""
    cls = types.get(node.get("type", "")) if "type" in node else None
    fields = list(cls.model_fields) if cls else list(Flow.model_fields)
    aliases = [(f.alias or name) for name, f in (cls or Flow).model_fields.items()]
    match = difflib.get_close_matches(str(path[-1]), fields + aliases, n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _get(data: Any, path: Path) -> Any:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _duplicate_task_ids(data: Any, marks: dict[Path, tuple[int, int]]) -> list[Problem]:
    problems: list[Problem] = []
    first_seen: dict[str, Path] = {}
    for path, task_id in _task_id_paths(data, ()):
        if task_id in first_seen:
            line, column = _locate((*path, "id"), marks)
            problems.append(
                Problem(
                    f"duplicate task id '{task_id}' (first used at {_format_path(first_seen[task_id])})",
                    path=_format_path((*path, "id")),
                    line=line,
                    column=column,
                )
            )
        else:
            first_seen[task_id] = path
    return problems


def _semantic_problems(flow: Flow, marks: dict[Path, tuple[int, int]]) -> list[Problem]:
    problems: list[Problem] = []
    input_ids = set()
    for index, definition in enumerate(flow.inputs):
        if definition.id in input_ids:
            line, column = _locate(("inputs", index, "id"), marks)
            problems.append(
                Problem(
                    f"duplicate input id '{definition.id}'",
                    path=f"inputs[{index}].id",
                    line=line,
                    column=column,
                )
            )
        input_ids.add(definition.id)
    for index, trigger in enumerate(flow.triggers):
        if trigger.is_webhook and not trigger.key:
            line, column = _locate(("triggers", index), marks)
            problems.append(
                Problem(
                    "a Webhook trigger needs a 'key'",
                    path=f"triggers[{index}].key",
                    line=line,
                    column=column,
                )
            )
    return problems


_CHILD_KEYS = ("tasks", "then", "else", "errors", "finally", "defaults", "afterExecution")


def _task_id_paths(node: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """(path, id) of every task mapping in the raw document, in document order."""
    if not isinstance(node, dict):
        return
    for key in _CHILD_KEYS:
        children = node.get(key)
        if isinstance(children, list):
            for index, child in enumerate(children):
                if isinstance(child, dict):
                    if isinstance(child.get("id"), str) and "type" in child:
                        yield (*path, key, index), child["id"]
                    yield from _task_id_paths(child, (*path, key, index))
    on_pause = node.get("onPause")
    if isinstance(on_pause, dict):
        if isinstance(on_pause.get("id"), str):
            yield (*path, "onPause"), on_pause["id"]
        yield from _task_id_paths(on_pause, (*path, "onPause"))
    cases = node.get("cases")
    if isinstance(cases, dict):
        for case, children in cases.items():
            if isinstance(children, list):
                for index, child in enumerate(children):
                    if isinstance(child, dict):
                        if isinstance(child.get("id"), str):
                            yield (*path, "cases", case, index), child["id"]
                        yield from _task_id_paths(child, (*path, "cases", case, index))
