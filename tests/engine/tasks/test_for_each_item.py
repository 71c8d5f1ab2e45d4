"""ForEachItem over Kestra's for-each-item* test flows on SQLite and PostgreSQL: a FILE input split
into batches of rows, one subflow execution per batch (created with the parent's decision),
Kestra's <id>_split/_items/_merge outputs, transmitFailed, and a batch subflow that pauses."""

from __future__ import annotations

import json

from run_support import corpus_flow, messages, runs

from engine.engine import Engine
from engine.states import State
from engine.storage import UploadedFile

LINES = b"".join(f"line {i}\n".encode() for i in range(1, 11))


def test_batches_of_rows(engine: Engine) -> None:
    engine.deploy_flow(corpus_flow("for-each-item-subflow.yaml"))
    engine.deploy_flow(corpus_flow("for-each-item.yaml"))
    execution = engine.start_execution(
        "io.kestra.tests", "for-each-item", {"file": UploadedFile("items.txt", LINES), "batch": 4}
    )
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.SUCCESS, messages(engine, done.id)
    outputs = done.outputs_by_task()
    assert outputs["each_items"] == {"numberOfBatches": 3, "iterations": {"SUCCESS": 3}}
    assert len(outputs["each_split"]["splits"]) == 3
    children = [engine.get_execution(i) for i in runs(done, "each")[0].outputs["executions"]]
    batches = [engine.services.storage.backend.get(c.inputs["items"]) for c in children]
    assert batches == [
        b"line 1\nline 2\nline 3\nline 4\n",
        b"line 5\nline 6\nline 7\nline 8\n",
        b"line 9\nline 10\n",
    ]
    assert all(c.trigger["variables"]["executionId"] == done.id for c in children)
    assert [c.trigger["variables"]["iteration"] for c in children] == [1, 2, 3]


def test_merged_subflow_outputs(engine: Engine) -> None:
    engine.deploy_flow(corpus_flow("for-each-item-outputs-subflow.yaml"))
    engine.deploy_flow(corpus_flow("for-each-item-outputs.yaml"))
    execution = engine.start_execution(
        "io.kestra.tests", "for-each-item-outputs", {"file": UploadedFile("items.txt", LINES)}
    )
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.SUCCESS, messages(engine, done.id)
    merged_uri = runs(done, "return")[0].outputs["value"]
    lines = engine.services.storage.backend.get(merged_uri).decode().splitlines()
    assert [json.loads(line)["value"] for line in lines] == [
        "line 1\nline 2\nline 3\nline 4\n",
        "line 5\nline 6\nline 7\nline 8\n",
        "line 9\nline 10\n",
    ]


PARENT = """
id: waves
namespace: company.team
inputs:
  - id: hosts
    type: FILE
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ inputs.hosts }}"
    batch:
      partitions: 2
    namespace: company.team
    flowId: wave
    inputs:
      hosts: "{{ read(taskrun.items) }}"
      number: "{{ taskrun.iteration }}"
"""

WAVE = """
id: wave
namespace: company.team
inputs:
  - id: hosts
    type: STRING
  - id: number
    type: INT
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    description: "Wave {{ inputs.number }}: {{ inputs.hosts }}"
  - id: check
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.number == 2 }}"
"""


def test_a_gate_per_wave_and_transmit_failed(engine: Engine) -> None:
    engine.deploy_flow(WAVE)
    engine.deploy_flow(PARENT)
    execution = engine.start_execution(
        "company.team", "waves", {"hosts": UploadedFile("hosts.txt", b"a\nb\nc\n")}
    )
    waiting = engine.run_until_blocked(execution.id)
    assert waiting.state.current == State.RUNNING
    ids = runs(waiting, "each")[0].outputs["executions"]
    waves = [engine.get_execution(i) for i in ids]
    assert [w.state.current for w in waves] == [State.PAUSED, State.PAUSED]
    assert [w.taskRunList[0].description for w in waves] == ["Wave 1: a\nb\n", "Wave 2: c\n"]
    for wave in waves:
        engine.resume_execution(wave.id, {}, via="test")
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.FAILED
    assert done.outputs_by_task()["each_items"]["iterations"] == {"SUCCESS": 1, "FAILED": 1}
    assert any("1 of 2 subflow executions failed" in m for m in messages(engine, done.id))


def test_killing_the_parent_kills_every_batch(engine: Engine) -> None:
    engine.deploy_flow(WAVE)
    engine.deploy_flow(PARENT)
    execution = engine.start_execution(
        "company.team", "waves", {"hosts": UploadedFile("hosts.txt", b"a\nb\n")}
    )
    waiting = engine.run_until_blocked(execution.id)
    engine.kill_execution(execution.id, via="test")
    for child_id in runs(waiting, "each")[0].outputs["executions"]:
        assert engine.get_execution(child_id).state.current == State.KILLED
