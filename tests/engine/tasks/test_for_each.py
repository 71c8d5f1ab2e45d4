"""ForEach / EachSequential / EachParallel with Kestra's semantics: task-run counts from Kestra's
ForEachTest, values as JSON text or a list, outputs keyed by value, pauses in iterations resumed
one by one, and an engine restart in the middle of a loop."""

from __future__ import annotations

import json

import pytest
from run_support import advance, corpus_flow, runs, start

from engine.clock import ManualClock
from engine.engine import Engine
from engine.errors import FlowValidationError
from engine.states import State


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("foreach-non-concurrent.yaml", 7),
        ("foreach-concurrent.yaml", 7),
        ("foreach-concurrent-parallel.yaml", 10),
        ("foreach-concurrent-no-limit.yaml", 7),
        ("each-empty.yaml", 2),
        ("each-switch.yaml", 12),
        ("each-parallel.yaml", 8),
        ("each-parallel-nested.yaml", 11),
    ],
)
def test_kestra_foreach_flows(engine: Engine, name: str, count: int) -> None:
    done = start(engine, corpus_flow(name))
    assert done.state.current == State.SUCCESS, [
        (r.taskId, r.state.current.value) for r in done.taskRunList
    ]
    assert len(done.taskRunList) == count


def test_object_values_are_json_text(engine: Engine) -> None:
    source = """
id: objects
namespace: test
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values:
      - plain
      - {"key": "k", "value": {"sub": 1}}
      - 3
    tasks:
      - id: ret
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
"""
    done = start(engine, source)
    assert [r.value for r in runs(done, "ret")] == [
        "plain",
        '{"key":"k","value":{"sub":1}}',
        "3",
    ]


def test_each_switch_outputs_and_parents(engine: Engine) -> None:
    done = start(engine, corpus_flow("each-switch.yaml"))
    (one,) = runs(done, "2-1-1_switch-number-1")
    (two,) = runs(done, "2-1-1_switch-number-2")
    assert one.outputs["value"] == "1"
    assert two.outputs["value"] == "2 b"
    outputs = done.outputs_by_task()
    assert outputs["2-1-1_switch-number-2"]["b"]["2"]["value"] == "2 b"


def test_nested_outputs_keyed_by_value(engine: Engine) -> None:
    done = start(engine, corpus_flow("each-sequential-nested.yaml"))
    assert done.state.current == State.SUCCESS
    (end,) = runs(done, "2_return")
    assert end.outputs["value"].startswith("2_return > 1-2-1_return > a a")
    third = next(r for r in runs(done, "1-3_return") if r.value == "s2")
    assert third.outputs["value"].startswith("1-3_return > 1-1_return > s2")


def test_null_value_fails_with_reason(engine: Engine) -> None:
    done = start(engine, corpus_flow("each-null.yaml"))
    assert done.state.current == State.FAILED
    assert any("null value" in e.message for e in engine.logs(done.id))


FLOW = """
id: loop
namespace: test
inputs:
  - id: envs
    type: JSON
    defaults: '["dev", "staging", "dev", "prod"]'
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ inputs.envs }}"
    tasks:
      - id: ret
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}#{{ taskrun.iteration }}"
      - id: check
        type: io.kestra.plugin.core.flow.If
        condition: "{{ taskrun.value == 'prod' }}"
        then:
          - id: inner
            type: io.kestra.plugin.core.debug.Return
            format: "{{ parent.taskrun.value }} {{ parents[0].taskrun.iteration }}"
  - id: summary
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.ret.staging.value }},{{ outputs.ret['prod'].value }},{{ outputs.inner.prod.value }}"
"""


def test_values_iteration_and_distinct(engine: Engine) -> None:
    done = start(engine, FLOW)
    assert done.state.current == State.SUCCESS
    assert [r.outputs["value"] for r in runs(done, "ret")] == ["dev#0", "staging#1", "prod#2"]
    assert [r.iteration for r in runs(done, "ret")] == [0, 1, 2]
    (summary,) = runs(done, "summary")
    assert summary.outputs["value"] == "staging#1,prod#2,prod 2"


def test_sequential_groups_stop_at_first_failure(engine: Engine) -> None:
    source = """
id: fails
namespace: test
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b, c]
    tasks:
      - id: maybe
        type: io.kestra.plugin.core.execution.Fail
        condition: "{{ taskrun.value == 'b' }}"
    errors:
      - id: handler
        type: io.kestra.plugin.core.log.Log
        message: failed
"""
    done = start(engine, source)
    assert done.state.current == State.FAILED
    assert [r.value for r in runs(done, "maybe")] == ["a", "b"]
    assert len(runs(done, "handler")) == 1


def test_concurrency_limit_starts_groups_in_waves(engine: Engine, clock: ManualClock) -> None:
    paused = start(engine, corpus_flow("foreach-concurrent-pause.yaml"))
    assert paused.state.current == State.PAUSED
    assert [r.value for r in paused.paused_task_runs()] == ["value 1", "value 2"]
    later = advance(engine, clock, 1.5, paused.id)
    assert [r.value for r in later.paused_task_runs()] == ["value 3"]
    done = advance(engine, clock, 1.5, paused.id)
    assert done.state.current == State.SUCCESS
    assert len(done.taskRunList) == 4


def test_pauses_in_iterations_are_resumed_one_by_one(engine: Engine) -> None:
    source = """
id: waves
namespace: test
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["eu", "us"]
    concurrencyLimit: 0
    tasks:
      - id: gate
        type: io.kestra.plugin.core.flow.Pause
        onResume:
          - id: ok
            type: BOOLEAN
      - id: deploy
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}={{ outputs.gate[taskrun.value].onResume.ok }}"
"""
    paused = start(engine, source)
    assert [r.value for r in paused.paused_task_runs()] == ["eu", "us"]
    engine.resume_execution(paused.id, {"ok": "true"})
    after_first = engine.run_until_blocked(paused.id)
    assert after_first.state.current == State.PAUSED
    assert [r.value for r in after_first.paused_task_runs()] == ["us"]
    assert [r.outputs["value"] for r in runs(after_first, "deploy")] == ["eu=true"]
    engine.resume_execution(paused.id, {"ok": "false"})
    done = engine.run_until_blocked(paused.id)
    assert done.state.current == State.SUCCESS
    assert [r.outputs["value"] for r in runs(done, "deploy")] == ["eu=true", "us=false"]


def test_restart_in_the_middle_of_a_loop(database_url: str, clock: ManualClock) -> None:
    source = """
id: restart
namespace: test
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.EachSequential
    value: '["one", "two", "three"]'
    tasks:
      - id: gate
        type: io.kestra.plugin.core.flow.Pause
      - id: after
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
"""
    first = Engine(database_url, clock=clock)
    paused = start(first, source)
    first.resume_execution(paused.id, {})
    second_pause = first.run_until_blocked(paused.id)
    assert [r.value for r in second_pause.paused_task_runs()] == ["two"]
    first.close()

    second = Engine(database_url, clock=clock)
    try:
        second.resume_execution(paused.id, {})
        third = second.run_until_blocked(paused.id)
        assert [r.value for r in third.paused_task_runs()] == ["three"]
        second.resume_execution(paused.id, {})
        done = second.run_until_blocked(paused.id)
        assert done.state.current == State.SUCCESS
        assert [r.outputs["value"] for r in runs(done, "after")] == ["one", "two", "three"]
        assert json.loads(json.dumps(done.to_api()))["taskRunList"][1]["iteration"] == 0
    finally:
        second.close()


def test_values_property_is_required(engine: Engine) -> None:
    with pytest.raises(FlowValidationError) as error:
        engine.validate_flow(
            "id: f\nnamespace: t\ntasks:\n  - id: e\n    type: io.kestra.plugin.core.flow.ForEach\n"
            "    tasks:\n      - id: l\n        type: io.kestra.plugin.core.log.Log\n        message: x\n"
        )
    assert "values" in str(error.value)
