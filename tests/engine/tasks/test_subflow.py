"""flow.Subflow with Kestra's semantics on SQLite and PostgreSQL: children created in the parent's
transaction, inputs/labels/outputs, wait and transmitFailed, a child that pauses making its parent
wait (across an engine restart), and kill/pause cascading to children."""

from __future__ import annotations

from run_support import corpus_flow, messages, runs, start

from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution
from engine.states import State

CHILD = """
id: child
namespace: company.team
inputs:
  - id: user
    type: STRING
outputs:
  - id: greeting
    type: STRING
    value: "{{ outputs.hello.value }}"
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "hello {{ inputs.user }} from {{ labels.team }}"
"""

PAUSING_CHILD = """
id: gated
namespace: company.team
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: done
outputs:
  - id: result
    type: STRING
    value: "{{ outputs.after.value }}"
"""

FAILING_CHILD = """
id: failing
namespace: company.team
tasks:
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: nope
"""


def parent(body: str, flow_id: str = "parent") -> str:
    return f"""
id: {flow_id}
namespace: company.team
labels:
  team: platform
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
{body}
  - id: next
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.call.state ?? 'none' }}}}"
"""


def child_of(engine: Engine, execution: Execution) -> Execution:
    (run,) = runs(execution, "call")
    return engine.get_execution(run.outputs["executionId"])


def test_inputs_labels_and_outputs(engine: Engine) -> None:
    engine.deploy_flow(CHILD)
    done = start(
        engine,
        parent(
            """    flowId: child
    inputs:
      user: "{{ flow.id }}"
    inheritLabels: true
    labels:
      extra: x"""
        ),
    )
    assert done.state.current == State.SUCCESS, messages(engine, done.id)
    (call,) = runs(done, "call")
    child = engine.get_execution(call.outputs["executionId"])
    assert call.outputs == {
        "executionId": child.id,
        "state": "SUCCESS",
        "outputs": {"greeting": "hello parent from platform"},
    }
    assert runs(done, "next")[0].outputs["value"] == "SUCCESS"
    assert child.outputs == {"greeting": "hello parent from platform"}
    assert child.label_map() == {
        "team": "platform",
        "extra": "x",
        "system.correlationId": done.id,
    }
    assert child.trigger["type"] == "io.kestra.plugin.core.flow.Subflow"
    assert child.trigger["variables"]["executionId"] == done.id
    assert child.trigger["variables"]["taskRunId"] == call.id


def test_kestra_subflow_chain(engine: Engine) -> None:
    engine.deploy_flow(corpus_flow("subflow-grand-child.yaml"))
    engine.deploy_flow(corpus_flow("subflow-child.yaml"))
    done = start(engine, corpus_flow("subflow-parent.yaml"))
    assert done.state.current == State.SUCCESS
    child = child_of_task(engine, done, "subflow")
    grandchild = child_of_task(engine, child, "subflow")
    assert grandchild.state.current == State.SUCCESS
    assert f"My grandparent is {done.id}" in messages(engine, grandchild.id)


def child_of_task(engine: Engine, execution: Execution, task_id: str) -> Execution:
    (run,) = runs(execution, task_id)
    return engine.get_execution(run.outputs["executionId"])


def test_missing_subflow_fails_the_task(engine: Engine) -> None:
    done = start(engine, corpus_flow("each-parallel-subflow-notfound.yml"))
    assert done.state.current == State.FAILED
    assert any("Unable to find the subflow" in m for m in messages(engine, done.id))


def test_invalid_inputs_fail_the_task(engine: Engine) -> None:
    engine.deploy_flow(CHILD)
    done = start(engine, parent("    flowId: child\n    inputs:\n      nobody: x"))
    assert done.state.current == State.FAILED
    assert any(
        "Invalid inputs for subflow company.team.child" in m for m in messages(engine, done.id)
    )


def test_transmit_failed(engine: Engine) -> None:
    engine.deploy_flow(FAILING_CHILD)
    failed = start(engine, parent("    flowId: failing", "strict"))
    assert failed.state.current == State.FAILED
    assert runs(failed, "call")[0].outputs["state"] == "FAILED"
    assert any("ends in FAILED state" in m for m in messages(engine, failed.id))
    tolerant = start(engine, parent("    flowId: failing\n    transmitFailed: false", "tolerant"))
    assert tolerant.state.current == State.SUCCESS
    assert runs(tolerant, "next")[0].outputs["value"] == "FAILED"
    allowed = start(engine, parent("    flowId: failing\n    allowFailure: true", "allowed"))
    assert allowed.state.current == State.WARNING


def test_no_wait_continues_at_once(engine: Engine) -> None:
    engine.deploy_flow(PAUSING_CHILD)
    done = start(engine, parent("    flowId: gated\n    wait: false"))
    assert done.state.current == State.SUCCESS
    (call,) = runs(done, "call")
    assert set(call.outputs) == {"executionId"}
    child_id = call.outputs["executionId"]
    assert engine.get_execution(child_id).state.current == State.CREATED  # due for the runner
    assert child_id in engine.due_executions()
    assert engine.run_until_blocked(child_id).state.current == State.PAUSED


def test_paused_child_makes_the_parent_wait_across_a_restart(
    database_url: str, clock: ManualClock
) -> None:
    first = Engine(database_url, clock=clock)
    first.deploy_flow(PAUSING_CHILD)
    waiting = start(first, parent("    flowId: gated"))
    assert waiting.state.current == State.RUNNING
    child = child_of(first, waiting)
    assert child.state.current == State.PAUSED
    paused = [e for e in first.store.events_for(child.id) if e.kind == "paused"]
    assert paused[0].payload["parent"] == {
        "executionId": waiting.id,
        "namespace": "company.team",
        "flowId": "parent",
        "taskId": "call",
    }
    first.close()

    second = Engine(database_url, clock=clock)
    assert second.due_executions() == []  # the parent waits without a timer
    second.resume_execution(child.id, {}, via="test")
    assert second.run_until_blocked(child.id).state.current == State.SUCCESS
    assert waiting.id in second.due_executions()  # the child's end woke its parent
    done = second.run_until_blocked(waiting.id)
    assert done.state.current == State.SUCCESS
    assert runs(done, "call")[0].outputs["outputs"] == {"result": "done"}
    second.close()


def test_killing_the_parent_kills_its_children(engine: Engine) -> None:
    engine.deploy_flow(PAUSING_CHILD)
    waiting = start(engine, parent("    flowId: gated"))
    child = child_of(engine, waiting)
    engine.kill_execution(waiting.id, via="test")
    assert engine.get_execution(child.id).state.current == State.KILLED
    assert engine.get_execution(waiting.id).state.current == State.KILLED


def test_killing_the_child_fails_the_waiting_parent(engine: Engine) -> None:
    engine.deploy_flow(PAUSING_CHILD)
    waiting = start(engine, parent("    flowId: gated"))
    child = child_of(engine, waiting)
    engine.kill_execution(child.id, via="test")
    done = engine.run_until_blocked(waiting.id)
    assert done.state.current == State.FAILED
    assert runs(done, "call")[0].outputs["state"] == "KILLED"


def test_runner_drives_parent_and_child(engine: Engine) -> None:
    """With the runner (as `pausebot serve`): the child's end wakes the parent by itself."""
    from engine.runner import Runner

    engine.deploy_flow(CHILD)
    engine.deploy_flow(
        parent("    flowId: child\n    inheritLabels: true\n    inputs:\n      user: bob")
    )
    runner = Runner(engine, workers=2, poll_interval=0.05)
    runner.start()
    try:
        execution = engine.start_execution("company.team", "parent", {}, via="test")
        import time

        for _ in range(400):
            current = engine.get_execution(execution.id)
            if current.state.current.is_terminal:
                break
            time.sleep(0.05)
        assert current.state.current == State.SUCCESS
    finally:
        runner.stop()
