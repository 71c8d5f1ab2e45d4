"""Flows read the way Kestra reads them: YAML 1.2 scalars, numeric ids, nulls, pluginDefaults,
listeners, flow outputs, the runIf error, and warnings for what is accepted but not enforced."""

from __future__ import annotations

import pytest
from run_support import messages, start

from engine.engine import Engine
from engine.errors import FlowValidationError
from engine.flows import parse_flow, split_documents
from engine.flows.defaults import merge
from engine.flows.yaml_reader import load_yaml
from engine.states import State

HEAD = "id: t\nnamespace: tests\n"
LOG = "io.kestra.plugin.core.log.Log"


def flow(body: str):  # type: ignore[no-untyped-def]
    return parse_flow(HEAD + body)


def problems(body: str) -> list[str]:
    with pytest.raises(FlowValidationError) as caught:
        parse_flow(HEAD + body)
    return [str(p) for p in caught.value.problems]


# -- YAML 1.2 scalars ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("OFF", "OFF"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("2022-11-28", "2022-11-28"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("0o17", 15),
        ("0x1F", 31),
        ("010", 10),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("-12", -12),
        ("1.5e3", 1500.0),
        (".inf", float("inf")),
        ("~", None),
        ("null", None),
        ("", None),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    assert load_yaml(f"v: {text}\n") == {"v": value}


def test_keys_are_always_strings() -> None:
    assert load_yaml("on: a\n1: b\ntrue: c\nYES: d\n") == {
        "on": "a",
        "1": "b",
        "true": "c",
        "YES": "d",
    }


def test_a_header_date_a_trigger_on_key_and_yes_no_cases() -> None:
    parsed = flow(
        f"""tasks:
  - id: sw
    type: io.kestra.plugin.core.flow.Switch
    value: "{{{{ 'YES' }}}}"
    cases:
      YES:
        - id: y
          type: {LOG}
          message: yes
      NO:
        - id: n
          type: {LOG}
          message: no
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: https://api.github.com
    headers:
      X-GitHub-Api-Version: 2022-11-28
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: k
    on: push
"""
    )
    switch, request = parsed.tasks
    assert set(switch.cases) == {"YES", "NO"}
    assert switch.cases["YES"][0].message == "yes"
    assert request.headers == {"X-GitHub-Api-Version": "2022-11-28"}


def test_yaml_errors_keep_line_and_column() -> None:
    found = problems("tasks:\n  - id: a\n    type: [unclosed\n")
    assert found[0].startswith("line ") and "invalid YAML" in found[0]


def test_documents_are_split_on_separator_lines_only() -> None:
    assert split_documents("a: 1\n---\nb: x---y\n--- # two\nc: 3\n") == [
        "a: 1\n",
        "\nb: x---y\n",
        "\nc: 3\n",
    ]


# -- ids, nulls, retry ----------------------------------------------------------------------


def test_numeric_task_ids_are_strings() -> None:
    parsed = flow(f"tasks:\n  - id: 1\n    type: {LOG}\n    message: one\n")
    assert parsed.tasks[0].id == "1"


def test_defaults_null_on_switch_and_null_blocks() -> None:
    parsed = flow(
        f"""tasks:
  - id: sw
    type: io.kestra.plugin.core.flow.Switch
    value: a
    cases:
      a:
        - id: x
          type: {LOG}
          message: x
    defaults: null
errors: null
"""
    )
    assert parsed.tasks[0].defaults == [] and parsed.errors == []


def test_retry_create_new_execution_is_named_as_not_supported() -> None:
    found = problems(
        f"tasks:\n  - id: a\n    type: {LOG}\n    message: m\n    retry:\n      type: constant\n"
        "      interval: PT1S\n      maxAttempts: 2\n      behavior: CREATE_NEW_EXECUTION\n"
    )
    assert len(found) == 1
    assert "tasks[0].retry.behavior" in found[0]
    assert "CREATE_NEW_EXECUTION is not supported" in found[0]


# -- pluginDefaults -------------------------------------------------------------------------


def test_a_default_supplies_a_required_value() -> None:
    parsed = flow(
        f"""pluginDefaults:
  - type: {LOG}
    values:
      message: from the default
      level: WARN
tasks:
  - id: a
    type: {LOG}
  - id: b
    type: {LOG}
    message: own
"""
    )
    a, b = parsed.tasks
    assert (a.message, a.level) == ("from the default", "WARN")
    assert (b.message, b.level) == ("own", "WARN")  # the task's own value wins


def test_defaults_by_prefix_first_wins_forced_wins_and_lists_concatenate() -> None:
    parsed = flow(
        f"""pluginDefaults:
  - type: io.kestra.plugin.core.log
    values:
      level: ERROR
  - type: {LOG}
    values:
      level: DEBUG
      message: second
  - type: io.kestra.plugin.core.http.Request
    forced: true
    values:
      method: PUT
      headers:
        X-A: forced
tasks:
  - id: a
    type: {LOG}
  - id: r
    type: io.kestra.plugin.core.http.Request
    uri: https://example.org
    method: POST
    headers:
      X-A: own
      X-B: own
"""
    )
    log, request = parsed.tasks
    assert (log.level, log.message) == ("ERROR", "second")
    assert request.method == "PUT"
    assert request.headers == {"X-A": "forced", "X-B": "own"}
    assert merge([1, 2], [2, 3]) == [1, 2, 3]
    assert merge({"a": [1], "b": 1}, {"a": [1, 2]}) == {"a": [1, 2], "b": 1}


def test_a_prefix_matches_at_a_dot_only() -> None:
    found = problems(
        f"pluginDefaults:\n  - type: io.kestra.plugin.core.lo\n    values:\n      message: m\n"
        f"tasks:\n  - id: a\n    type: {LOG}\n"
    )
    assert any("'message' is required" in p for p in found)


def test_task_defaults_is_the_older_name_and_a_bad_value_names_its_default() -> None:
    parsed = flow(
        f"taskDefaults:\n  - type: {LOG}\n    values:\n      message: old\ntasks:\n  - id: a\n    type: {LOG}\n"
    )
    assert parsed.tasks[0].message == "old"
    found = problems(
        f"taskDefaults:\n  - type: {LOG}\n    values:\n      invalid: Default\n"
        f"tasks:\n  - id: a\n    type: {LOG}\n    message: m\n"
    )
    assert any("unknown property 'invalid'" in p and "taskDefaults[0]" in p for p in found)


def test_defaults_apply_at_run(engine: Engine) -> None:
    done = start(
        engine,
        f"id: d\nnamespace: tests\npluginDefaults:\n  - type: {LOG}\n    values:\n"
        f"      message: hello from the default\ntasks:\n  - id: a\n    type: {LOG}\n",
    )
    assert done.state.current == State.SUCCESS
    assert "hello from the default" in messages(engine, done.id)


# -- listeners, warnings --------------------------------------------------------------------


def test_listeners_are_validated_accepted_and_reported_as_not_run() -> None:
    parsed = flow(
        f"""listeners:
  - conditions:
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [FAILED]
    tasks:
      - id: l
        type: {LOG}
        message: failed
tasks:
  - id: a
    type: {LOG}
    message: m
"""
    )
    assert [w.path for w in parsed.warnings] == ["listeners"]
    assert "never run" in parsed.warnings[0].message
    found = problems(
        f"listeners:\n  - tasks:\n      - id: l\n        type: {LOG}\ntasks:\n  - id: a\n    type: {LOG}\n    message: m\n"
    )
    assert any("listeners[0].tasks[0].message" in p and "required" in p for p in found)


def test_accepted_but_not_enforced_properties_are_warnings() -> None:
    parsed = flow(
        f"""concurrency:
  limit: 1
sla:
  - id: s
    type: MAX_DURATION
    duration: PT1H
retry:
  type: constant
  interval: PT1S
  maxAttempts: 2
triggers:
  - id: every
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
  - id: off
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
    disabled: true
tasks:
  - id: a
    type: {LOG}
    message: m
    workerGroup:
      key: gpu
"""
    )
    by_path = {w.path: w for w in parsed.warnings}
    # concurrency is enforced (engine/concurrency.py): no warning for it
    assert set(by_path) == {"sla", "retry", "triggers[0]", "tasks"}
    assert "not enforced" in by_path["sla"].message
    assert "Schedule" in by_path["triggers[0]"].message
    assert by_path["sla"].line == 5


def test_working_directory_output_files_are_a_warning() -> None:
    parsed = flow(
        f"""tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    outputFiles: [out.txt]
    tasks:
      - id: a
        type: {LOG}
        message: m
"""
    )
    (warning,) = parsed.warnings
    assert "'outputFiles' of WorkingDirectory 'wd' is accepted but not collected" in warning.message


def test_a_plain_flow_has_no_warnings() -> None:
    assert flow(f"tasks:\n  - id: a\n    type: {LOG}\n    message: m\n").warnings == []


# -- runIf and flow outputs at run ----------------------------------------------------------


def test_a_run_if_that_cannot_render_fails_its_task(engine: Engine) -> None:
    done = start(
        engine,
        f"""id: r
namespace: tests
tasks:
  - id: a
    type: {LOG}
    runIf: "{{{{ nope.missing }}}}"
    message: never
""",
    )
    assert done.state.current == State.FAILED
    assert [(r.taskId, r.state.current) for r in done.taskRunList] == [("a", State.FAILED)]
    assert any("nope" in m for m in messages(engine, done.id))


def test_flow_outputs_are_rendered_when_the_execution_succeeds(engine: Engine) -> None:
    done = start(
        engine,
        """id: o
namespace: tests
tasks:
  - id: r
    type: io.kestra.plugin.core.debug.Return
    format: "{{ 40 + 2 }}"
outputs:
  - id: answer
    type: STRING
    value: "{{ outputs.r.value }}"
  - id: number
    type: INT
    value: "{{ outputs.r.value }}"
""",
    )
    assert done.state.current == State.SUCCESS
    assert done.outputs == {"answer": "42", "number": 42}


def test_a_flow_output_of_the_wrong_type_fails_the_execution(engine: Engine) -> None:
    done = start(
        engine,
        f"""id: o
namespace: tests
tasks:
  - id: a
    type: {LOG}
    message: m
outputs:
  - id: count
    type: INT
    value: "many"
""",
    )
    assert done.state.current == State.FAILED
    assert any("Flow outputs" in m and "count" in m for m in messages(engine, done.id))
    assert any(
        "'STRNG' is not valid" in p
        for p in problems(
            "tasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
            "outputs:\n  - id: x\n    type: STRNG\n    value: v\n"
        )
    )


def test_a_flow_output_that_cannot_render_fails_the_execution(engine: Engine) -> None:
    done = start(
        engine,
        f"""id: o
namespace: tests
tasks:
  - id: a
    type: {LOG}
    message: m
outputs:
  - id: broken
    value: "{{{{ outputs.nothing.value }}}}"
""",
    )
    assert done.state.current == State.FAILED
    assert done.outputs == {}
    assert any("Flow output 'broken'" in m for m in messages(engine, done.id))


def test_duplicate_ids_are_found_among_numeric_ids_approval_branches_and_listeners() -> None:
    found = problems(
        f"""tasks:
  - id: 1
    type: {LOG}
    message: a
  - id: "1"
    type: {LOG}
    message: b
  - id: review
    type: io.kestra.plugin.core.flow.Approval
    onApprove:
      - id: review
        type: {LOG}
        message: c
listeners:
  - tasks:
      - id: 1
        type: {LOG}
        message: d
"""
    )
    duplicates = [p for p in found if "duplicate task id" in p]
    assert len(duplicates) == 3, found
