"""The KV store and Kestra's kv tasks (Set / Get / Delete / GetKeys) and kv() function, on SQLite
and PostgreSQL: typed values, TTL on the engine's clock, overwrite, errorOnMissing, namespaces."""

from __future__ import annotations

import pytest
from run_support import messages, runs, start

from engine.clock import ManualClock
from engine.engine import Engine
from engine.kv import KVError
from engine.states import State


def flow(tasks: str, namespace: str = "company.team") -> str:
    return f"id: kv\nnamespace: {namespace}\ntasks:\n{tasks}"


def test_set_then_get_and_kv_function(engine: Engine) -> None:
    done = start(
        engine,
        flow(
            """
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: orders_file
    value: "{{ execution.id }}"
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: orders_file
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "kv={{ kv('orders_file') }}"
"""
        ),
    )
    assert done.state.current == State.SUCCESS
    assert runs(done, "get")[0].outputs == {"value": done.id}
    assert f"kv={done.id}" in messages(engine, done.id)


@pytest.mark.parametrize(
    ("kv_type", "value", "expected"),
    [
        ("NUMBER", "42", 42),
        ("NUMBER", "4.5", 4.5),
        ("BOOLEAN", "true", True),
        ("JSON", '{"a": [1, 2]}', {"a": [1, 2]}),
        ("DATETIME", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"),
        ("DATE", "2026-01-02", "2026-01-02"),
        ("DURATION", "PT5M", "PT5M"),
        ("STRING", "42", "42"),
    ],
)
def test_kv_types(engine: Engine, kv_type: str, value: str, expected: object) -> None:
    engine.services.kv.set("ns", "k", value, kv_type=kv_type)
    assert engine.services.kv.get("ns", "k") == expected
    assert engine.services.kv.entry("ns", "k").kv_type == kv_type


def test_non_string_values_keep_their_type(engine: Engine) -> None:
    done = start(
        engine,
        flow(
            """
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: cfg
    value:
      replicas: 3
      regions: ["eu", "us"]
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('cfg').regions[1] }} {{ kv('cfg').replicas + 1 }}"
"""
        ),
    )
    assert done.state.current == State.SUCCESS
    assert "us 4" in messages(engine, done.id)
    assert engine.services.kv.entry("company.team", "cfg").kv_type == "JSON"


def test_bad_number_fails_the_task(engine: Engine) -> None:
    done = start(
        engine,
        flow(
            """
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: n
    value: "not a number"
    kvType: NUMBER
"""
        ),
    )
    assert done.state.current == State.FAILED
    assert any("is not a valid NUMBER" in m for m in messages(engine, done.id))


def test_ttl_expires_on_the_engine_clock(engine: Engine, clock: ManualClock) -> None:
    engine.services.kv.set("ns", "short", "v", ttl="PT1M")
    assert engine.services.kv.get("ns", "short") == "v"
    assert engine.services.kv.keys("ns") == ["short"]
    clock.advance(61)
    assert engine.services.kv.get("ns", "short") is None
    assert engine.services.kv.keys("ns") == []
    assert engine.services.kv.delete("ns", "short") is False
    # an expired key can be set again even without overwrite
    engine.services.kv.set("ns", "short", "again", overwrite=False)
    assert engine.services.kv.get("ns", "short") == "again"


def test_overwrite_false_refuses_a_live_key(engine: Engine) -> None:
    engine.services.kv.set("company.team", "k", "first")
    done = start(
        engine,
        flow(
            """
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: k
    value: second
    overwrite: false
"""
        ),
    )
    assert done.state.current == State.FAILED
    assert engine.services.kv.get("company.team", "k") == "first"
    assert any("`overwrite` is set to `false`" in m for m in messages(engine, done.id))
    engine.services.kv.set("company.team", "k", "third", overwrite=True)
    assert engine.services.kv.get("company.team", "k") == "third"


def test_get_missing_key(engine: Engine) -> None:
    done = start(
        engine,
        flow(
            """
  - id: soft
    type: io.kestra.plugin.core.kv.Get
    key: missing
  - id: hard
    type: io.kestra.plugin.core.kv.Get
    key: missing
    errorOnMissing: true
"""
        ),
    )
    assert runs(done, "soft")[0].outputs == {"value": None}
    assert runs(done, "hard")[0].state.current == State.FAILED
    assert any(
        "No value found for key 'missing' in namespace 'company.team'" in m
        for m in messages(engine, done.id)
    )


def test_kv_function_missing_key(engine: Engine) -> None:
    done = start(
        engine,
        flow(
            """
  - id: soft
    type: io.kestra.plugin.core.log.Log
    message: "[{{ kv('nope', errorOnMissing=false) }}]"
  - id: hard
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('nope') }}"
"""
        ),
    )
    assert done.state.current == State.FAILED
    logs = messages(engine, done.id)
    assert "[]" in logs
    assert any("The key 'nope' does not exist in the namespace 'company.team'" in m for m in logs)


def test_namespaces_are_separate_and_can_be_named(engine: Engine) -> None:
    engine.services.kv.set("other", "k", "from other")
    engine.services.kv.set("company.team", "k", "mine")
    done = start(
        engine,
        flow(
            """
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: k
    namespace: other
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('k') }}/{{ kv('k', 'other') }}/{{ kv('k', namespace='other') }}"
"""
        ),
    )
    assert runs(done, "get")[0].outputs == {"value": "from other"}
    assert "mine/from other/from other" in messages(engine, done.id)


def test_delete_and_get_keys(engine: Engine) -> None:
    for key in ("my_var_1", "my_var_2", "other"):
        engine.services.kv.set("company.team", key, key)
    done = start(
        engine,
        flow(
            """
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
    prefix: my_var
  - id: delete
    type: io.kestra.plugin.core.kv.Delete
    key: my_var_1
  - id: again
    type: io.kestra.plugin.core.kv.Delete
    key: my_var_1
  - id: all
    type: io.kestra.plugin.core.kv.GetKeys
  - id: strict
    type: io.kestra.plugin.core.kv.Delete
    key: my_var_1
    errorOnMissing: true
"""
        ),
    )
    assert runs(done, "keys")[0].outputs == {"keys": ["my_var_1", "my_var_2"]}
    assert runs(done, "delete")[0].outputs == {"deleted": True}
    assert runs(done, "again")[0].outputs == {"deleted": False}
    assert runs(done, "all")[0].outputs == {"keys": ["my_var_2", "other"]}
    assert runs(done, "strict")[0].state.current == State.FAILED


@pytest.mark.parametrize("key", ["", "-x", "a b", "a/b", "x" * 256])
def test_invalid_keys_are_refused(engine: Engine, key: str) -> None:
    with pytest.raises(KVError, match="is invalid"):
        engine.services.kv.set("ns", key, "v")


def test_kestra_kv_flows_validate(engine: Engine) -> None:
    """Kestra's documented examples of the four tasks deploy as written."""
    engine.deploy_flow(
        flow(
            """
  - id: kv_set
    type: io.kestra.plugin.core.kv.Set
    key: orders_file
    value: "{{ execution.id }}"
    kvType: STRING
    ttl: P1D
    overwrite: true
  - id: kv_get
    type: io.kestra.plugin.core.kv.Get
    key: my_variable
    namespace: company
    errorOnMissing: false
  - id: kv_getkeys
    type: io.kestra.plugin.core.kv.GetKeys
    prefix: my_var
    namespace: dev
  - id: kv_delete
    type: io.kestra.plugin.core.kv.Delete
    key: my_variable
    namespace: dev
"""
        )
    )
