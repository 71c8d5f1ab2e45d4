"""Every main list is served by an index in its order (no table scan, no sort) and its total by
the execution_counts rows (never a count over the executions), checked with EXPLAIN on SQLite
and PostgreSQL. PostgreSQL runs with enable_seqscan off: on a near-empty table a sequential
scan is cheapest, so the question is whether an index *can* serve the query."""

from __future__ import annotations

import pytest

from engine.engine import Engine

LISTS = {
    "paused, first page": {"states": ["PAUSED"]},
    "everything, first page": {},
    "paused in one flow": {"states": ["PAUSED"], "namespace": "company.team", "flow_id": "f"},
    "one state in a namespace": {"states": ["SUCCESS"], "namespace": "company"},
}


def plan(engine: Engine, statement) -> str:  # type: ignore[no-untyped-def]
    sql = str(
        statement.compile(
            dialect=engine.store.engine.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    with engine.store.engine.connect() as connection:
        if engine.store.dialect == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            rows = connection.exec_driver_sql("EXPLAIN " + sql).all()
        else:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("name", list(LISTS))
def test_lists_are_served_by_an_index_in_order(engine: Engine, name: str) -> None:
    queries = engine.store.list_queries(**LISTS[name])
    page = plan(engine, queries["page"])
    if engine.store.dialect == "postgresql":
        assert "Seq Scan" not in page and "Sort" not in page, page
        assert "Index" in page, page
    else:
        assert "TEMP B-TREE" not in page, page
        # A SEARCH on an index, or the scan of the index in the page's order (it stops at
        # the page's end); never a scan of the table or of an index in another order.
        for line in page.splitlines():
            if "executions" in line:
                assert line.startswith("SEARCH") or "INDEX ix_executions_start" in line, page


@pytest.mark.parametrize("name", list(LISTS))
def test_totals_never_count_the_executions(engine: Engine, name: str) -> None:
    count = plan(engine, engine.store.list_queries(**LISTS[name])["count"])
    assert "execution_counts" in count, count
    assert " executions" not in count.replace("execution_counts", ""), count


def test_counts_match_the_executions(engine: Engine) -> None:
    engine.deploy_flow(
        "id: f\nnamespace: company.team\ntasks:\n  - id: wait\n"
        "    type: io.kestra.plugin.core.flow.Pause\n"
        "  - id: after\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    ids = [engine.start_execution("company.team", "f").id for _ in range(5)]
    for execution_id in ids:
        engine.run_until_blocked(execution_id)
    engine.resume_execution(ids[0], {})
    engine.run_until_blocked(ids[0])
    engine.kill_execution(ids[1])
    engine.run_until_blocked(ids[1])
    assert engine.store.count_executions_by_state() == {"PAUSED": 3, "SUCCESS": 1, "KILLED": 1}
    _, paused = engine.search_executions(states=["PAUSED"], size=1)
    assert paused == 3
    _, everything = engine.search_executions(namespace="company", size=2)
    assert everything == 5
    from datetime import timedelta

    engine.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    engine.purge_executions(end_date=engine.clock.now(), states=["SUCCESS", "KILLED"])
    assert engine.store.count_executions_by_state() == {"PAUSED": 3}
