"""The store on real databases: migrations match the models, the outbox delivers each event to
each consumer once with retries, leases are exclusive."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.clock import ManualClock
from engine.engine import Engine
from engine.store.models import Base
from engine.store.store import NewEvent, Store


def test_migrations_match_models(database_url: str) -> None:
    store = Store(database_url)
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        store.close()


def test_migrating_twice_is_harmless(database_url: str) -> None:
    Store(database_url).close()
    Store(database_url).close()


def _emit(store: Store, clock: ManualClock, kind: str) -> None:
    with store.transaction(clock.now()) as tx:
        tx.emit([NewEvent(kind, "exec-1", None, {"n": kind})])


def test_outbox_consumers_see_events_once(database_url: str, clock: ManualClock) -> None:
    store = Store(database_url)
    try:
        _emit(store, clock, "before")
        store.register_consumer("slack", clock.now())
        _emit(store, clock, "paused")
        _emit(store, clock, "resumed")
        assert store.outbox_backlog("slack") == 2
        first = store.claim_events("slack", clock.now(), limit=10)
        assert [e.kind for e in first] == ["paused", "resumed"]
        # Leased: a second replica gets nothing until the lease runs out.
        assert store.claim_events("slack", clock.now()) == []
        store.finish_delivery("slack", first[0].id, clock.now())
        store.retry_delivery(
            "slack", first[1].id, clock.now(), clock.now() + timedelta(seconds=30), "429"
        )
        assert store.claim_events("slack", clock.now()) == []
        clock.advance(31)
        again = store.claim_events("slack", clock.now())
        assert [e.kind for e in again] == ["resumed"] and again[0].attempts == 1
        store.fail_delivery("slack", again[0].id, clock.now(), "channel_not_found")
        clock.advance(3600)
        assert store.claim_events("slack", clock.now()) == []
        assert store.outbox_backlog("slack") == 0
        assert store.failed_deliveries("slack") == 1
        # Another consumer registered from the start sees everything.
        store.register_consumer("audit", clock.now(), from_start=True)
        assert len(store.claim_events("audit", clock.now())) == 3
    finally:
        store.close()


def test_expired_delivery_lease_is_reclaimed(database_url: str, clock: ManualClock) -> None:
    store = Store(database_url)
    try:
        store.register_consumer("slack", clock.now())
        _emit(store, clock, "paused")
        assert len(store.claim_events("slack", clock.now(), lease=timedelta(seconds=10))) == 1
        clock.advance(11)  # the replica that claimed it died
        assert len(store.claim_events("slack", clock.now())) == 1
    finally:
        store.close()


def test_execution_lease_is_exclusive(database_url: str, clock: ManualClock) -> None:
    engine = Engine(database_url, clock=clock)
    try:
        deployed = engine.deploy_flow(
            "id: f\nnamespace: n\ntasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Pause\n"
        )
        execution = engine.start_execution("n", "f")
        store = engine.store
        assert store.claim_execution(execution.id, "a", clock.now(), timedelta(seconds=30))
        assert not store.claim_execution(execution.id, "b", clock.now(), timedelta(seconds=30))
        store.release_execution(execution.id, "a")
        assert store.claim_execution(execution.id, "b", clock.now(), timedelta(seconds=30))
        assert deployed.revision == 1
    finally:
        engine.close()


def test_notices_and_tokens(database_url: str, clock: ManualClock) -> None:
    store = Store(database_url)
    try:
        store.add_notice("slack", "e1", "t1", {"channel": "C1", "ts": "1.0"}, clock.now())
        assert store.notices("slack", "e1") == [("t1", {"channel": "C1", "ts": "1.0"})]
        with store.transaction(clock.now()) as tx:
            assert tx.spend_token("tok", "e1")
        with store.transaction(clock.now()) as tx:
            assert not tx.spend_token("tok", "e1")
    finally:
        store.close()


def test_flow_revisions_and_deletion(database_url: str, clock: ManualClock) -> None:
    store = Store(database_url)
    try:
        assert store.save_flow("n", "f", "v1", clock.now()) == (1, True)
        assert store.save_flow("n", "f", "v1", clock.now()) == (1, False)
        assert store.save_flow("n", "f", "v2", clock.now()) == (2, True)
        assert store.delete_flow("n", "f", clock.now())
        assert store.latest_flow_revision("n", "f") is None
        assert store.flow_revision("n", "f", 1) == "v1"  # kept for executions that use it
        assert store.list_flows() == []
        assert store.save_flow("n", "f", "v2", clock.now()) == (4, True)
    finally:
        store.close()
