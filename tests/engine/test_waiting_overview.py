"""``Engine.waiting_overview``: the PAUSED executions of a filter, the soonest deadline first,
then the oldest, with per-flow counts from the database; parsed documents are reused only while
their version is current. SQLite and PostgreSQL."""

from __future__ import annotations

from engine.clock import ManualClock
from engine.engine import Engine

SOON = """
id: soon
namespace: company.a
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT1H
"""
LATE = """
id: late
namespace: company.b
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT5H
"""
NEVER = """
id: never
namespace: company.b
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
"""


def start(engine: Engine, namespace: str, flow_id: str) -> str:
    execution = engine.start_execution(namespace, flow_id, {}, via="test")
    return engine.run_until_blocked(execution.id).id


def test_most_urgent_first_with_counts(engine: Engine, clock: ManualClock) -> None:
    for source in (SOON, LATE, NEVER):
        engine.deploy_flow(source)
    never_old = start(engine, "company.b", "never")
    clock.advance(60)
    late = start(engine, "company.b", "late")
    clock.advance(60)
    soon = start(engine, "company.a", "soon")
    never_new = start(engine, "company.b", "never")
    overview = engine.waiting_overview()
    assert [e.id for e in overview.executions] == [soon, late, never_old, never_new]
    assert sorted(overview.by_flow) == [
        ("company.a", "soon", 1),
        ("company.b", "late", 1),
        ("company.b", "never", 2),
    ]
    assert overview.total == 4 and overview.complete
    only_b = engine.waiting_overview(namespace="company.b", limit=2)
    assert [e.id for e in only_b.executions] == [late, never_old]
    assert only_b.total == 3 and not only_b.complete
    assert [e.id for e in engine.waiting_overview(flow_id="never").executions] == [
        never_old,
        never_new,
    ]


def test_parsed_documents_are_reused_only_while_current(engine: Engine) -> None:
    engine.deploy_flow(NEVER)
    first = start(engine, "company.b", "never")
    before = engine.waiting_overview().executions[0]
    assert engine.waiting_overview().executions[0] is before  # same version: not parsed again
    engine.set_labels(first, {"team": "payments"})  # a write: a new version
    after = engine.waiting_overview().executions[0]
    assert after is not before and after.label_map().get("team") == "payments"
    engine.resume_execution(first, {}, via="test")
    engine.run_until_blocked(first)
    assert engine.waiting_overview().executions == []
