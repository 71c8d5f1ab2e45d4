"""WaitFor with the results of Kestra's LoopUntilCaseTest over its test flows (on the engine's
manual clock), plus Echo and Assert."""

from __future__ import annotations

from run_support import corpus_flow, messages, runs

from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution
from engine.states import TERMINAL, State


def run_to_end(engine: Engine, clock: ManualClock, source: str, step: float = 0.2) -> Execution:
    deployed = engine.deploy_flow(source)
    execution = engine.start_execution(deployed.flow.namespace, deployed.flow.id, {}, via="test")
    done = engine.run_until_blocked(execution.id, wait_sleeps=False)
    for _ in range(200):
        if done.state.current in TERMINAL:
            return done
        clock.advance(step)
        done = engine.run_until_blocked(execution.id, wait_sleeps=False)
    raise AssertionError(f"still {done.state.current}")


def iteration_count(execution: Execution) -> int:
    return runs(execution, "waitfor")[0].outputs["iterationCount"]


def test_waitfor_stops_when_the_condition_holds(engine: Engine, clock: ManualClock) -> None:
    done = run_to_end(engine, clock, corpus_flow("waitfor.yaml"))
    assert done.state.current == State.SUCCESS
    assert iteration_count(done) == 1


def test_waitfor_multiple_tasks(engine: Engine, clock: ManualClock) -> None:
    done = run_to_end(engine, clock, corpus_flow("waitfor-multiple-tasks.yaml"), step=1.0)
    assert done.state.current == State.SUCCESS
    assert iteration_count(done) == 3
    assert len(done.taskRunList) == 3  # one round kept, as in Kestra
    assert done.taskRunList[-1].outputs["values"]["count"] == "4"
    assert done.outputs_by_task()["waitfor"] == {"iterationCount": 3}


def test_waitfor_max_iterations_fails(engine: Engine, clock: ManualClock) -> None:
    done = run_to_end(engine, clock, corpus_flow("waitfor-max-iterations.yaml"))
    assert done.state.current == State.FAILED
    assert iteration_count(done) == 4
    assert "Max iterations reached." in messages(engine, done.id)


def test_waitfor_max_duration_fails(engine: Engine, clock: ManualClock) -> None:
    done = run_to_end(engine, clock, corpus_flow("waitfor-max-duration.yaml"))
    assert done.state.current == State.FAILED
    (run,) = runs(done, "waitfor")
    histories = run.state.histories
    from engine.clock import parse_iso

    assert (parse_iso(histories[-1].date) - parse_iso(histories[0].date)).total_seconds() >= 5


def test_waitfor_no_success_ends_in_success(engine: Engine, clock: ManualClock) -> None:
    done = run_to_end(engine, clock, corpus_flow("waitfor-no-success.yaml"))
    assert done.state.current == State.SUCCESS
    assert iteration_count(done) == 5


def test_waitfor_failing_child_fails_once(engine: Engine, clock: ManualClock) -> None:
    done = run_to_end(engine, clock, corpus_flow("waitfor-multiple-tasks-failed.yaml"))
    assert done.state.current == State.FAILED
    assert len(done.taskRunList[-1].attempts) == 1
    assert iteration_count(done) == 1


def test_waitfor_survives_a_restart_between_rounds(database_url: str, clock: ManualClock) -> None:
    source = """
id: poll
namespace: test
tasks:
  - id: waitfor
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ outputs.ret.value == '3' }}"
    checkFrequency:
      interval: PT1M
    tasks:
      - id: ret
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.waitfor.iterationCount }}"
"""
    first = Engine(database_url, clock=clock)
    first.deploy_flow(source)
    execution = first.start_execution("test", "poll", {}, via="test")
    waiting = first.run_until_blocked(execution.id, wait_sleeps=False)
    assert waiting.state.current == State.RUNNING
    first.close()
    second = Engine(database_url, clock=clock)
    clock.advance(60)
    assert second.due_executions() == [execution.id]
    second.run_until_blocked(execution.id, wait_sleeps=False)
    clock.advance(60)
    done = second.run_until_blocked(execution.id, wait_sleeps=False)
    assert done.state.current == State.SUCCESS
    assert iteration_count(done) == 3
    second.close()


def test_echo_logs_like_log(engine: Engine) -> None:
    from run_support import start

    done = start(
        engine,
        """
id: echo
namespace: test
tasks:
  - id: legacy
    type: io.kestra.core.tasks.debugs.Echo
    format: "hello {{ flow.id }}"
  - id: warn
    type: io.kestra.plugin.core.debug.Echo
    format: careful
    level: WARNING
""",
    )
    assert done.state.current == State.SUCCESS
    logs = [(e.level, e.message) for e in engine.logs(done.id)]
    assert ("INFO", "hello echo") in logs
    assert ("WARN", "careful") in logs


def test_assert(engine: Engine) -> None:
    from run_support import start

    passing = start(
        engine,
        """
id: ok
namespace: test
inputs:
  - id: n
    type: INT
    defaults: 3
tasks:
  - id: check
    type: io.kestra.plugin.core.execution.Assert
    conditions:
      - "{{ inputs.n == 3 }}"
      - "{{ inputs.n > 1 }}"
""",
    )
    assert passing.state.current == State.SUCCESS
    failing = start(
        engine,
        """
id: ko
namespace: test
tasks:
  - id: check
    type: io.kestra.plugin.core.execution.Assert
    conditions:
      - "{{ 1 == 2 }}"
      - "{{ true }}"
      - "{{ 'a' == 'b' }}"
""",
    )
    assert failing.state.current == State.FAILED
    logs = messages(engine, failing.id)
    assert "Assertion `{{ 1 == 2 }}` failed!" in logs
    assert "Assertion `{{ 'a' == 'b' }}` failed!" in logs
    assert "2 assertions failed!" in logs
    custom = start(
        engine,
        """
id: custom
namespace: test
tasks:
  - id: check
    type: io.kestra.plugin.core.execution.Assert
    errorMessage: "bad value in {{ flow.id }}"
    conditions:
      - "{{ false }}"
""",
    )
    assert "bad value in custom" in messages(engine, custom.id)
