"""execution.Labels and flow.AllowFailure with Kestra's test flows."""

from __future__ import annotations

import json

from run_support import corpus_flow, messages, runs, start

from engine.engine import Engine
from engine.states import State


def test_labels_update_task(engine: Engine) -> None:
    done = start(
        engine,
        corpus_flow("labels-update-task.yml"),
        {
            "labelsJson": json.dumps({"keyFromJson": "valueFromJson"}),
            "labelsMapKey": "keyFromMap",
            "labelsMapValue": "valueFromMap",
            "labelsListKey": "keyFromList",
            "labelsListValue": "valueFromList",
        },
    )
    assert done.state.current == State.SUCCESS, messages(engine, done.id)
    labels = done.label_map()
    assert labels["flowLabelKey"] == "flowLabelValue"
    assert labels["keyFromJson"] == "valueFromJson"
    assert labels["keyFromMap"] == "valueFromMap"
    assert labels["keyFromList"] == "valueFromList"
    assert labels["overriddenFlowLabelKey"] == "io.kestra.tests.labels-update-task"
    assert labels["overriddenExecutionLabelKey"] == runs(done, "override-labels")[0].id


def test_primitive_labels(engine: Engine) -> None:
    done = start(
        engine,
        corpus_flow("primitive-labels-flow.yml"),
        {"intLabel": "42", "floatLabel": "4.2", "boolLabel": "true"},
    )
    assert done.state.current == State.SUCCESS, messages(engine, done.id)
    labels = done.label_map()
    assert (labels["intValue"], labels["floatValue"], labels["boolValue"]) == ("42", "4.2", "true")


def test_system_labels_are_refused(engine: Engine) -> None:
    done = start(
        engine,
        """
id: sneaky
namespace: test
tasks:
  - id: labels
    type: io.kestra.plugin.core.execution.Labels
    labels:
      system.correlationId: mine
""",
    )
    assert done.state.current == State.FAILED
    assert any("system labels cannot be set" in m for m in messages(engine, done.id))


def test_allow_failure(engine: Engine) -> None:
    # Kestra's test runs it without `crash`; here an input is required unless it says otherwise.
    # (and an input left out is null here, which Jinja's `is defined` counts as defined).
    source = (
        corpus_flow("allow-failure.yaml")
        .replace("type: STRING", "type: STRING\n    required: false")
        .replace("inputs.crash is defined", "inputs.crash is not none")
    )
    done = start(engine, source)
    assert done.state.current == State.WARNING, messages(engine, done.id)
    assert runs(done, "1-1-allow-failure")[0].state.current == State.WARNING
    assert runs(done, "local-error")[0].state.current == State.SUCCESS
    assert runs(done, "1-1-1-3") == []
    assert runs(done, "1-2-todo")[0].state.current == State.SUCCESS
    assert runs(done, "last")[0].state.current == State.SUCCESS
    assert runs(done, "global-error") == []
