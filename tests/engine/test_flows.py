"""Flow validation: every problem located by path, line and column; examples and fixtures load."""

from __future__ import annotations

import pytest
from support import EXAMPLES, FLOWS

from engine.errors import FlowValidationError
from engine.flows import parse_flow
from engine.tasks import TASK_TYPES
from engine.tasks.pause import PauseTask


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yml")), ids=lambda p: p.name)
def test_every_example_is_valid(path) -> None:  # type: ignore[no-untyped-def]
    flow = parse_flow(path.read_text(), path.name)
    assert flow.tasks


@pytest.mark.parametrize("path", sorted(FLOWS.glob("*.y*ml")), ids=lambda p: p.name)
def test_every_fixture_is_valid(path) -> None:  # type: ignore[no-untyped-def]
    parse_flow(path.read_text(), path.name)


def problems(source: str) -> list[tuple[str, int | None, int | None, str]]:
    with pytest.raises(FlowValidationError) as error:
        parse_flow(source)
    return [(p.path, p.line, p.column, p.message) for p in error.value.problems]


def test_yaml_syntax_error_has_line_and_column() -> None:
    found = problems("id: x\nnamespace: y\ntasks:\n  - id: a\n    type: [\n")
    assert found[0][1] == 6 and "invalid YAML" in found[0][3]


def test_schema_errors_carry_path_line_and_column() -> None:
    source = """id: bad
namespace: company.team
tasks:
  - id: p
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: x
        type: STRNG
  - id: q
    type: io.kestra.plugin.core.nope
  - id: p
    type: io.kestra.plugin.core.log.Log
    mesage: hi
"""
    found = {path: (line, column, message) for path, line, column, message in problems(source)}
    assert found["tasks[0].onResume[0].type"][:2] == (8, 15)
    assert "STRNG" in found["tasks[0].onResume[0].type"][2]
    assert found["tasks[1]"][2].startswith("unknown task type 'io.kestra.plugin.core.nope'")
    assert found["tasks[2].mesage"][2] == "unknown property 'mesage' (did you mean 'message'?)"
    assert found["tasks[2].message"][2] == "'message' is required"
    assert found["tasks[2].id"][:2] == (11, 9)
    assert "duplicate task id 'p'" in found["tasks[2].id"][2]


def test_missing_id_namespace_and_tasks() -> None:
    found = {path for path, *_ in problems("description: nothing\n")}
    assert {"id", "namespace", "tasks"} <= found


def test_duplicate_yaml_keys_are_refused() -> None:
    found = problems("id: a\nid: b\nnamespace: n\ntasks: []\n")
    assert found[0][3] == "duplicate key 'id'" and found[0][1] == 2


def test_non_mapping_and_empty_documents() -> None:
    assert "mapping" in problems("- just\n- a list\n")[0][3]
    assert "empty" in problems("")[0][3]


def test_nested_ids_and_legacy_aliases() -> None:
    flow = parse_flow(
        """id: nested
namespace: n
tasks:
  - id: branch
    type: io.kestra.core.tasks.flows.If
    condition: "{{ true }}"
    then:
      - id: wait
        type: io.kestra.core.tasks.flows.Pause
    else:
      - id: skip
        type: io.kestra.core.tasks.log.Log
        message: hi
"""
    )
    assert isinstance(flow.find_task("wait"), PauseTask)
    assert [t.id for t in flow.all_tasks()] == ["branch", "wait", "skip"]


def test_every_type_has_a_canonical_name_and_aliases() -> None:
    assert "io.kestra.plugin.core.flow.Pause" in TASK_TYPES
    assert "io.kestra.core.tasks.flows.Pause" in TASK_TYPES
    assert TASK_TYPES["io.kestra.core.tasks.flows.Pause"] is PauseTask


def test_invalid_pause_behavior_and_webhook_without_key() -> None:
    found = problems(
        """id: x
namespace: n
tasks:
  - id: p
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT1S
    behavior: EXPLODE
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
"""
    )
    messages = {path: message for path, _, _, message in found}
    assert "behavior" in messages["tasks[0].behavior"]


def test_webhook_trigger_lookup() -> None:
    flow = parse_flow(
        "id: x\nnamespace: n\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        "triggers:\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: s3cr3t\n"
    )
    assert flow.webhook("s3cr3t") is not None and flow.webhook("nope") is None


def test_hostile_documents_are_refused_cheaply() -> None:
    lines = ["id: x", "namespace: n", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    lines.append("tasks: *a9")
    assert "aliases are expanded" in problems("\n".join(lines))[0][3]  # "billion laughs"
    assert "nested" in problems("id: x\nnamespace: n\ntasks: " + "[" * 3000 + "]" * 3000)[0][3]
    tag = problems("id: x\nnamespace: n\ntasks: !!python/object/apply:os.system ['true']\n")
    assert "could not determine a constructor" in tag[0][3] and tag[0][1] == 3
    assert "plain names" in problems("id: x\nnamespace: n\n? [1, 2]\n: v\ntasks: []\n")[0][3]
    assert "special characters" in problems("id: x\x00\n")[0][3]
    assert "larger than" in problems("id: x\n" + "#" * 1_000_001)[0][3]


def test_aliases_within_limits_still_work() -> None:
    flow = parse_flow(
        """id: x
namespace: n
variables:
  common: &common {team: payments}
  again: *common
tasks:
  - id: l
    type: io.kestra.plugin.core.log.Log
    message: hi
"""
    )
    assert flow.variables["again"] == {"team": "payments"}
