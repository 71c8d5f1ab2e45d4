"""YAML text -> validated ``Flow``. Every problem carries the path (``tasks[2].onResume[0].type``)
and, where the YAML has it, the line and column, so nobody has to read a traceback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.errors import FlowValidationError, Problem
from engine.flows.defaults import Origins, PluginDefault, apply_defaults
from engine.flows.warnings import flow_warnings
from engine.flows.yaml_reader import (
    MAX_SOURCE_CHARS,
    Path,
    compose,
    format_path,
    index_marks,
    load_yaml,
    measure,
    yaml_problem,
)
from engine.inputs import InputDefinition, InputType
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


class Listener(BaseModel):
    """Kestra's deprecated ``listeners`` entry: tasks run after the execution when every
    condition holds. Kestra disables listeners by default since 0.12; so does pausebot: they
    are validated and reported as not run (use ``afterExecution`` or ``errors``)."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    tasks: list[AnyTask] = Field(min_length=1)


class FlowOutput(BaseModel):
    """One flow output (Kestra's ``outputs``): rendered when the execution succeeds."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
    type: InputType = InputType.STRING  # typed and checked like an input of that type
    value: Any = None
    description: str | None = None
    displayName: str | None = None
    required: bool = True


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
    outputs: list[FlowOutput] = Field(default_factory=list)
    disabled: bool = False
    concurrency: Concurrency | None = None
    retry: dict[str, Any] | None = None
    pluginDefaults: list[PluginDefault] = Field(default_factory=list)
    taskDefaults: list[PluginDefault] = Field(default_factory=list)  # Kestra's older name
    listeners: list[Listener] = Field(default_factory=list)
    sla: list[dict[str, Any]] = Field(default_factory=list)
    tenantId: str | None = None
    deleted: bool = False
    _warnings: list[Problem] = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list[Problem]:
        """Properties accepted as Kestra writes them but not enforced here, each named."""
        return self._warnings

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_unset(cls, value: Any) -> Any:
        if isinstance(value, dict):  # Jackson reads `errors: null` as "not given"
            return {key: item for key, item in value.items() if item is not None}
        return value

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


_DOCUMENT_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)


def split_documents(source: str) -> list[str]:
    """The YAML documents of a ``---``-separated stream (as ``/flows/validate`` reads a body),
    blank ones dropped."""
    return [doc for doc in _DOCUMENT_SEPARATOR.split(source) if doc.strip()]


def parse_flow(source: str, source_name: str = "flow") -> Flow:
    """Parse and validate a flow; raises ``FlowValidationError`` listing every problem found."""
    if len(source) > MAX_SOURCE_CHARS:
        raise FlowValidationError(
            [Problem(f"the document is larger than {MAX_SOURCE_CHARS:,} characters")], source_name
        )
    try:
        root = compose(source)
    except yaml.YAMLError as error:
        raise FlowValidationError([yaml_problem(error)], source_name) from None
    except RecursionError:
        raise FlowValidationError(
            [Problem("the document is nested too deeply")], source_name
        ) from None
    if root is None:
        raise FlowValidationError([Problem("the document is empty", line=1, column=1)], source_name)
    too_big = measure(root)
    if too_big:
        raise FlowValidationError([too_big], source_name)
    marks: dict[Path, tuple[int, int]] = {}
    problems: list[Problem] = []
    index_marks(root, (), marks, problems, set())
    if problems:
        raise FlowValidationError(problems, source_name)
    try:
        data = load_yaml(source)
    except yaml.YAMLError as error:  # e.g. a !!python/object tag the safe loader refuses
        raise FlowValidationError([yaml_problem(error)], source_name) from None
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
    origins = apply_defaults(data)
    problems = _duplicate_task_ids(data, marks)
    try:
        flow = Flow.model_validate(data)
    except ValidationError as error:
        raise FlowValidationError(
            _pydantic_problems(error, data, marks, origins) + problems, source_name
        ) from None
    problems += _semantic_problems(flow, marks)
    if problems:
        raise FlowValidationError(problems, source_name)
    flow._warnings = flow_warnings(flow, marks)
    return flow


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
    error: ValidationError, data: Any, marks: dict[Path, tuple[int, int]], origins: Origins
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for item in error.errors(include_url=False):
        path = _clean_loc(tuple(item["loc"]), data)
        message = _message(item, path, data)
        origin = _origin(path, origins)
        if origin:
            message += f" (the value comes from {origin})"
        key = (format_path(path), message)
        if key in seen:
            continue
        seen.add(key)
        line, column = _locate(path, marks)
        problems.append(Problem(message, path=format_path(path), line=line, column=column))
    return problems


def _origin(path: Path, origins: Origins) -> str | None:
    for end in range(len(path) - 1, 0, -1):
        origin = origins.get((path[:end], path[end]))
        if origin:
            return origin
    return None


def _message(item: Any, path: Path, data: Any) -> str:
    kind = item["type"]
    if kind == "union_tag_invalid":
        node = _get(data, path)
        type_name = node.get("type") if isinstance(node, dict) else None
        return f"unknown task type '{type_name}'" + _did_you_mean_type(type_name)
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


def _did_you_mean_type(type_name: Any) -> str:
    """``io.kestra.plugin.core.flow.Pauze`` (or plain ``Pauze``) → ``…flow.Pause``: the class
    name is compared (a whole-string match would be dominated by the shared package prefix),
    and the current Kestra names are offered before their legacy aliases."""
    import difflib

    from engine.tasks import TASK_TYPES as types

    if not isinstance(type_name, str) or not type_name:
        return ""
    by_short: dict[str, str] = {}
    for name in sorted(types, key=lambda n: (not n.startswith("io.kestra.plugin."), n)):
        by_short.setdefault(name.rsplit(".", 1)[-1], name)
    short = difflib.get_close_matches(
        type_name.rsplit(".", 1)[-1], list(by_short), n=1, cutoff=0.75
    )
    return f" (did you mean '{by_short[short[0]]}'?)" if short else ""


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
                    f"duplicate task id '{task_id}' (first used at {format_path(first_seen[task_id])})",
                    path=format_path((*path, "id")),
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


_CHILD_KEYS = (
    "tasks",
    "then",
    "else",
    "errors",
    "finally",
    "defaults",
    "afterExecution",
    "onWait",
    "onApprove",
    "onDeny",
    "listeners",  # entries hold tasks; their ids share the flow's namespace of ids, as in Kestra
)


def _id_of(node: dict[str, Any]) -> str | None:
    value = node.get("id")
    if isinstance(value, bool):
        return None
    return str(value) if isinstance(value, (str, int)) else None


def _task_id_paths(node: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """(path, id) of every task mapping in the raw document, in document order."""
    if not isinstance(node, dict):
        return
    for key in _CHILD_KEYS:
        children = node.get(key)
        if isinstance(children, list):
            for index, child in enumerate(children):
                if isinstance(child, dict):
                    if (task_id := _id_of(child)) is not None and "type" in child:
                        yield (*path, key, index), task_id
                    yield from _task_id_paths(child, (*path, key, index))
    on_pause = node.get("onPause")
    if isinstance(on_pause, dict):
        if (task_id := _id_of(on_pause)) is not None:
            yield (*path, "onPause"), task_id
        yield from _task_id_paths(on_pause, (*path, "onPause"))
    cases = node.get("cases")
    if isinstance(cases, dict):
        for case, children in cases.items():
            if isinstance(children, list):
                for index, child in enumerate(children):
                    if isinstance(child, dict):
                        if (task_id := _id_of(child)) is not None:
                            yield (*path, "cases", case, index), task_id
                        yield from _task_id_paths(child, (*path, "cases", case, index))
