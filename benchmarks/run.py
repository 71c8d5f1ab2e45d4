"""pausebot's performance figures, measured from outside like a user would, beside floors
measured in the same run. Prints one table (or JSON with ``--json``); asserts nothing.

    make bench                                   # SQLite and PostgreSQL, full size
    .venv/bin/python benchmarks/run.py --quick   # smaller data, shorter windows
    .venv/bin/python benchmarks/run.py --json --only sqlite

For each database the real ``pausebot serve`` runs as a subprocess on a free port (Slack pointed
at the fake Web API of ``tests/bot/slack/fake_slack.py`` where Slack is measured). PostgreSQL runs
on a throwaway database created on the server of ``PAUSEBOT_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``; ``--postgres ''`` skips it) and dropped at
the end, even after a failure.

Phases per database: idle transactions (PostgreSQL), pipelined full cycles (4 starter, 4 resumer
and one watcher processes), resume -> next task latency, Slack clicks, then 100,000 paused
executions: /paused, API search, text search, RSS, stored bytes, bulk resume of 10,000.
Floors: a bare SQLAlchemy commit loop, a trivial FastAPI endpoint, a psycopg round trip.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "bot" / "slack"))  # the fake Slack Web API

import httpx
from fake_slack import FakeSlack, slack_user
from load import Pipeline, trivial_throughput
from service import SIGNING_SECRET, TOKEN, Service, cpu_seconds, rss_mib
from slack_sdk.signature import SignatureVerifier

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- small helpers -------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def note(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    figure: str
    database: str
    value: float
    unit: str
    target: str
    floor: float | None = None
    floor_what: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0) or math.isnan(self.value):
            return None
        return self.value / self.floor  # type: ignore[operator]


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.rows.append(Row(*args, **kwargs))


# -- the fake Slack, timing each call ----------------------------------------------------------------
class TimedSlack(FakeSlack):
    """The tests' fake Web API, remembering when each call (or response_url post) arrived."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrivals: list[tuple[float, Any]] = []
        self.arrived = threading.Condition()

    def record(self, call: Any) -> None:
        super().record(call)
        with self.arrived:
            self.arrivals.append((time.perf_counter(), call))
            self.arrived.notify_all()

    def wait_arrival(
        self, method: str, after: float, where: Callable[[Any], bool] | None = None
    ) -> tuple[float, dict[str, Any]]:
        """The first ``method`` call that arrived after ``after`` (perf_counter)."""
        deadline = time.perf_counter() + 20
        with self.arrived:
            while True:
                found = None
                for at, call in reversed(self.arrivals):  # in arrival order, so stop early
                    if at < after:
                        break
                    if call.method == method and (where is None or where(call)):
                        found = (at, call.params)
                if found is not None:
                    return found
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise SystemExit(f"no {method} within 20 s")
                self.arrived.wait(left)


# -- a sink the task after the Pause calls -----------------------------------------------------------
class Sink:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.signal = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                at = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with sink.signal:
                    sink.arrived[self.path.strip("/")] = at
                    sink.signal.notify_all()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait(self, key: str, timeout: float = 10) -> float:
        with self.signal:
            if not self.signal.wait_for(lambda: key in self.arrived, timeout):
                raise SystemExit(f"the task after the pause never ran for {key}")
            return self.arrived[key]

    def stop(self) -> None:
        self.server.shutdown()


# -- databases ------------------------------------------------------------------------------------------
@dataclass
class Database:
    name: str  # "SQLite" | "PostgreSQL"
    url: str
    admin_url: str | None = None  # PostgreSQL: the maintenance database, for pg_stat_database
    db_name: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.admin_url is not None

    def transactions(self) -> int:
        """Commits + rollbacks of the bench database, as PostgreSQL counts them (flushed when
        the backends exit, so read it after the service stopped)."""
        import psycopg

        time.sleep(0.3)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (self.db_name,),
            ).fetchone()
        return int(row[0]) if row else 0

    def used_bytes(self) -> int:
        from sqlalchemy import create_engine, text

        from engine.store.database import normalise_url

        engine = create_engine(normalise_url(self.url))
        try:
            with engine.connect() as conn:
                if self.is_postgres:
                    return int(
                        conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
                    )
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                pages = conn.execute(text("PRAGMA page_count")).scalar()
                free = conn.execute(text("PRAGMA freelist_count")).scalar()
                size = conn.execute(text("PRAGMA page_size")).scalar()
                return int((pages - free) * size)
        finally:
            engine.dispose()


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def postgres_database(server_url: str) -> Iterator[Database]:
    """A throwaway database on ``server_url``'s server, dropped afterwards whatever happens."""
    import psycopg
    from sqlalchemy import make_url

    admin = _psycopg_url(server_url)
    name = f"pausebot_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield Database("PostgreSQL", url, admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- floors ---------------------------------------------------------------------------------------------
def commit_loop_floor(db: Database, count: int = 1000) -> dict[str, float]:
    """A bare SQLAlchemy loop: one INSERT and COMMIT per iteration (WAL + synchronous=NORMAL on
    SQLite, as pausebot configures it)."""
    from sqlalchemy import create_engine, event, text

    from engine.store.database import normalise_url

    engine = create_engine(normalise_url(db.url))
    if not db.is_postgres:

        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record):  # type: ignore[no-untyped-def]
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, payload TEXT)"))
    times = []
    started = time.perf_counter()
    for index in range(count):
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO bench_floor (id, payload) VALUES (:id, :p)"),
                {"id": index, "p": "x" * 200},
            )
        times.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_floor"))
    engine.dispose()
    return {"commits_per_s": count / elapsed, "commit_ms_p50": median(times)}


def psycopg_floor(db: Database, count: int = 2000) -> float:
    import psycopg

    with psycopg.connect(_psycopg_url(db.url), autocommit=True) as conn:
        times = []
        for _ in range(count):
            t0 = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            times.append((time.perf_counter() - t0) * 1000)
    return median(times)


def fastapi_floor(tmp: Path, seconds: float) -> dict[str, float]:
    service = Service(
        "sqlite://",
        command=[sys.executable, str(HERE / "trivial_app.py"), "{port}"],
    ).start(tmp)
    try:
        times = []
        with httpx.Client(base_url=service.url) as client:
            for _ in range(200):
                client.get("/ping")
            for _ in range(1000):
                t0 = time.perf_counter()
                client.get("/ping")
                times.append((time.perf_counter() - t0) * 1000)
        cpu0 = cpu_seconds(service.pid)
        t0 = time.perf_counter()
        rate = trivial_throughput(service.url, "/ping", seconds, processes=8)
        cpu = cpu_seconds(service.pid) - cpu0
        elapsed = time.perf_counter() - t0
        return {
            "p50_ms": median(times),
            "p95_ms": pct(times, 0.95),
            "p99_ms": pct(times, 0.99),
            "req_per_s": rate,
            # CPU over the whole hammering (1 s warm-up + window) per request served
            "cpu_ms_per_req": cpu * 1000 / max(1.0, rate * elapsed),
            "rss_mib": rss_mib(service.pid),
        }
    finally:
        service.stop()


# -- the figures -----------------------------------------------------------------------------------------
def idle_transactions(db: Database, tmp: Path, seconds: float) -> float:
    """Transactions per second of a service with nothing to do: two lifetimes differ only in
    idle time, so start-up and shutdown cancel out."""
    runs = []
    for idle in (0.5, 0.5 + seconds):
        before = db.transactions()
        service = Service(db.url).start(tmp)
        t0 = time.perf_counter()
        time.sleep(idle)
        service.stop()
        lifetime = time.perf_counter() - t0
        runs.append((db.transactions() - before, lifetime))
    (short, short_t), (long, long_t) = runs
    return max(0.0, (long - short) / (long_t - short_t))


def startup_transactions(db: Database, tmp: Path) -> int:
    before = db.transactions()
    Service(db.url).start(tmp).stop()
    return db.transactions() - before


def pipelined(db: Database, tmp: Path, seconds: float) -> dict[str, float]:
    before = db.transactions() if db.is_postgres else 0
    service = Service(db.url).start(tmp)
    pipeline = Pipeline(service.url + "/api/v1", TOKEN)
    client = service.client()

    def successes() -> int:
        response = client.get(
            "/executions/search",
            params={"state": "SUCCESS", "namespace": "bench", "flowId": "bench_cycle", "size": 1},
        )
        return int(response.json()["total"])

    try:
        pipeline.start()
        deadline = time.monotonic() + 120
        while pipeline.snapshot()[1] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # the processes have started and a first cycle went round
        time.sleep(2.0)  # warm-up
        done0, cpu0, t0 = successes(), cpu_seconds(service.pid), time.perf_counter()
        time.sleep(seconds)
        done1, cpu1, t1 = successes(), cpu_seconds(service.pid), time.perf_counter()
        pipeline.finish()
        _, _, errors = pipeline.snapshot()
        # drain: everything started is resumed by nobody now; resume what is still paused
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = client.get(
                "/executions/search",
                params={
                    "state": "PAUSED",
                    "namespace": "bench",
                    "flowId": "bench_cycle",
                    "size": 500,
                },
            ).json()["results"]
            running = client.get(
                "/executions/search",
                params={
                    "state": "CREATED,RUNNING",
                    "namespace": "bench",
                    "flowId": "bench_cycle",
                    "size": 1,
                },
            ).json()["total"]
            for execution in found:
                client.post(f"/executions/{execution['id']}/resume", json={})
            if not found and not running:
                break
            time.sleep(0.2)
        total_cycles = successes()
    finally:
        client.close()
        service.stop()
    cycles = done1 - done0
    result = {
        "cycles_per_s": cycles / (t1 - t0),
        "cpu_ms_per_cycle": (cpu1 - cpu0) * 1000 / max(1, cycles),
        "errors": errors,
        "total_cycles": total_cycles,
    }
    if db.is_postgres:
        result["transactions"] = db.transactions() - before
    return result


def resume_latency(db: Database, tmp: Path, count: int) -> dict[str, float]:
    sink = Sink()
    service = Service(db.url).start(tmp)
    times = []
    try:
        with service.client() as client:
            for index in range(count + 10):
                execution = client.post(
                    "/executions/bench/bench_latency", json={"sink": sink.url}
                ).json()
                while (
                    client.get(f"/executions/{execution['id']}").json()["state"]["current"]
                    != "PAUSED"
                ):
                    time.sleep(0.003)
                time.sleep(0.02)  # let the runner let go of it
                t0 = time.perf_counter()
                response = client.post(f"/executions/{execution['id']}/resume", json={})
                assert response.status_code == 204, response.text
                done = sink.wait(execution["id"])
                if index >= 10:  # the first ones warm caches
                    times.append((done - t0) * 1000)
    finally:
        service.stop()
        sink.stop()
    return {"p50_ms": median(times), "p99_ms": pct(times, 0.99)}


def _signed_post(client: httpx.Client, body: str, content_type: str) -> httpx.Response:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    return client.post(
        "/slack/events",
        content=body.encode(),
        headers={
            "content-type": content_type,
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": signature,
        },
    )


def _click_payload(value: str, fake: FakeSlack, n: int) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U1", "username": "ada", "name": "ada", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "deprecated",
        "team": {"id": "T0TEAM", "domain": "acme"},
        "trigger_id": f"trigger-{n}-{time.monotonic_ns()}",
        "actions": [
            {
                "action_id": "pausebot.approve",
                "block_id": "b",
                "type": "button",
                "value": value,
                "text": {"type": "plain_text", "text": "Approve"},
                "action_ts": "1767225700.000001",
            }
        ],
        "container": {
            "type": "message",
            "message_ts": "1767225600.000001",
            "channel_id": "C0BENCH",
            "is_ephemeral": False,
        },
        "channel": {"id": "C0BENCH", "name": "bench"},
        "message": {"type": "message", "ts": "1767225600.000001", "text": "x", "blocks": []},
        "response_url": fake.response_url(f"click-{n}"),
        "state": {"values": {}},
    }


def _approve_value(params: dict[str, Any]) -> str:
    blocks = params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == "pausebot.approve":
                return str(element["value"])
    raise SystemExit("the approval message has no Approve button")


def make_fake_slack() -> TimedSlack:
    return TimedSlack(
        users={"U1": slack_user("U1", "Ada Lovelace", email="ada@example.com", display="Ada")},
        channels={"#bench": "C0BENCH"},
    ).start()


def slack_clicks(db: Database, tmp: Path, count: int) -> dict[str, float]:
    fake = make_fake_slack()
    service = Service(db.url, slack_url=fake.url).start(tmp)
    answers, opens = [], []
    try:
        with service.client() as api, httpx.Client(base_url=service.url, timeout=30) as http:
            for index in range(count + 5):
                t_start = time.perf_counter()
                api.post("/executions/bench/bench_slack", json={})
                _, posted = fake.wait_arrival("chat.postMessage", t_start)
                body = urlencode(
                    {"payload": json.dumps(_click_payload(_approve_value(posted), fake, index))}
                )
                time.sleep(0.02)
                t0 = time.perf_counter()
                response = _signed_post(http, body, "application/x-www-form-urlencoded")
                t1 = time.perf_counter()
                assert response.status_code == 200, response.text
                opened, _ = fake.wait_arrival("views.open", t0)
                if index >= 5:
                    answers.append((t1 - t0) * 1000)
                    opens.append((opened - t0) * 1000)
    finally:
        service.stop()
        fake.stop()
    return {"answer_p99_ms": pct(answers, 0.99), "views_open_p95_ms": pct(opens, 0.95)}


def seed_paused(db: Database, count: int) -> dict[str, float]:
    """``count`` paused executions, copies of one paused through the real engine: its row, logs,
    outbox events with their deliveries done, and a Slack notice, as a delivered pause has."""
    from sqlalchemy import insert, select

    from engine.engine import Engine
    from engine.model import new_id
    from engine.store import store as queries

    engine = Engine(db.url)
    try:
        engine.deploy_flow((HERE / "flows" / "bench_slack.yml").read_text())
        template = engine.start_execution("bench", "bench_slack")
        engine.run_until_blocked(template.id)
        tables = {
            "executions": queries.ex_t,
            "logs": queries.log_t,
            "events": queries.event_t,
        }
        with engine.store.engine.connect() as conn:
            execution = (
                conn.execute(select(tables["executions"]).where(queries.ex_t.c.id == template.id))
                .mappings()
                .one()
            )
            logs = (
                conn.execute(
                    select(queries.log_t).where(queries.log_t.c.execution_id == template.id)
                )
                .mappings()
                .all()
            )
            events = (
                conn.execute(
                    select(queries.event_t).where(queries.event_t.c.execution_id == template.id)
                )
                .mappings()
                .all()
            )
            consumers = [r.name for r in conn.execute(select(queries.consumer_t.c.name))]
        document = json.dumps(execution["document"])
        size_before = db.used_bytes()
        started = time.perf_counter()
        ids: list[str] = []
        chunk = 2000
        with engine.store.engine.begin() as conn:
            next_event = (
                conn.execute(
                    select(queries.event_t.c.id).order_by(queries.event_t.c.id.desc()).limit(1)
                ).scalar()
                or 0
            ) + 1
        for first in range(0, count, chunk):
            rows, log_rows, event_rows, delivery_rows, notice_rows = [], [], [], [], []
            for n in range(first, min(count, first + chunk)):
                execution_id = new_id()
                ids.append(execution_id)
                rows.append(
                    {
                        **execution,
                        "id": execution_id,
                        "document": json.loads(document.replace(template.id, execution_id)),
                    }
                )
                for entry in logs:
                    log_rows.append(
                        {
                            **{k: v for k, v in entry.items() if k != "id"},
                            "execution_id": execution_id,
                        }
                    )
                for event in events:
                    event_rows.append({**event, "id": next_event, "execution_id": execution_id})
                    for consumer in consumers:
                        delivery_rows.append(
                            {
                                "consumer": consumer,
                                "event_id": next_event,
                                "status": "done",
                                "attempts": 0,
                                "updated_at": execution["updated_at"],
                            }
                        )
                    next_event += 1
                notice_rows.append(
                    {
                        "consumer": "slack",
                        "execution_id": execution_id,
                        "task_run_id": events[-1]["task_run_id"],
                        "ref": {
                            "channel": "C0BENCH",
                            "ts": f"1767225600.{n:06d}",
                            "requested": "C0BENCH",
                        },
                        "created_at": execution["updated_at"],
                    }
                )
            with engine.store.engine.begin() as conn:
                conn.execute(insert(queries.ex_t), rows)
                if log_rows:
                    conn.execute(insert(queries.log_t), log_rows)
                conn.execute(insert(queries.event_t), event_rows)
                if delivery_rows:
                    conn.execute(insert(queries.delivery_t), delivery_rows)
                conn.execute(insert(queries.notice_t), notice_rows)
                # The copies count like executions the engine made (execution_counts).
                key = (execution["namespace"], execution["flow_id"], execution["state"])
                queries._apply_counts(conn, {key: len(rows)})
        if db.is_postgres:
            with engine.store.engine.connect() as conn:
                # The event ids were given explicitly: move the sequence past them.
                conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('outbox_events', 'id'), "
                    "(SELECT max(id) FROM outbox_events))"
                )
                conn.exec_driver_sql("COMMIT")
                conn.exec_driver_sql("ANALYZE")
        seeded = time.perf_counter() - started
        size_after = db.used_bytes()
    finally:
        engine.close()
    note(f"seeded {count} paused executions in {seeded:.1f} s")
    return {
        "ids": ids,  # type: ignore[dict-item]
        "bytes_per_paused": (size_after - size_before) / count,
        "document_bytes": len(document),
    }


def with_many_paused(
    db: Database, tmp: Path, ids: list[str], samples: int, bulk: int
) -> dict[str, float]:
    fake = make_fake_slack()
    service = Service(db.url, slack_url=fake.url).start(tmp)
    result: dict[str, float] = {}
    try:
        with service.client() as api, httpx.Client(base_url=service.url, timeout=120) as http:

            def timed(call: Callable[[], Any], n: int) -> list[float]:
                times = []
                for index in range(n + 3):
                    t0 = time.perf_counter()
                    call()
                    if index >= 3:
                        times.append((time.perf_counter() - t0) * 1000)
                return times

            def search() -> None:
                response = api.get("/executions/search", params={"state": "PAUSED"})
                assert response.status_code == 200 and response.json()["results"], response.text

            fragment = ids[len(ids) // 2][3:11]

            def text_search() -> None:
                response = api.get("/executions/search", params={"q": fragment})
                assert response.status_code == 200 and response.json()["results"], response.text

            result["search_p95_ms"] = pct(timed(search, samples), 0.95)
            result["text_search_p95_ms"] = pct(timed(text_search, samples), 0.95)

            counter = iter(range(1_000_000))

            def slash() -> None:
                n = next(counter)
                body = urlencode(
                    {
                        "token": "deprecated",
                        "team_id": "T0TEAM",
                        "team_domain": "acme",
                        "channel_id": "C0BENCH",
                        "channel_name": "bench",
                        "user_id": "U1",
                        "user_name": "ada",
                        "command": "/paused",
                        "text": "",
                        "api_app_id": "A0APP",
                        "response_url": fake.response_url(f"paused-{n}"),
                        "trigger_id": f"trigger-{n}",
                    }
                )
                t0 = time.perf_counter()
                response = _signed_post(http, body, "application/x-www-form-urlencoded")
                assert response.status_code == 200, response.text
                fake.wait_arrival("response", t0, lambda c: c.path.endswith(f"/paused-{n}"))

            result["paused_p95_ms"] = pct(timed(slash, samples), 0.95)
            result["rss_mib"] = rss_mib(service.pid)

            chosen = ids[:bulk]
            t0 = time.perf_counter()
            resumed = 0
            for first in range(0, len(chosen), 1000):
                response = api.post("/executions/resume/by-ids", json=chosen[first : first + 1000])
                assert response.status_code == 200, response.text
                resumed += response.json()["count"]
            result["bulk_s"] = time.perf_counter() - t0
            result["bulk_resumed"] = resumed
            result["bulk_count"] = len(chosen)
    finally:
        service.stop()
        fake.stop()
    return result


# -- one database ------------------------------------------------------------------------------------------
def measure(
    db: Database, args: argparse.Namespace, floors: dict[str, Any], results: Results
) -> None:
    name = db.name
    raw: dict[str, Any] = {}
    results.raw[name] = raw
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        commit = commit_loop_floor(db)
        raw["floor_commit"] = commit
        if db.is_postgres:
            raw["floor_psycopg_ms"] = psycopg_floor(db)
        note(f"{name}: floors {commit}")
        Service(db.url).start(tmp).stop()  # migrations and the flows, once
        if db.is_postgres:
            raw["idle_tx_per_s"] = idle_transactions(db, tmp, args.idle_seconds)
            raw["startup_tx"] = startup_transactions(db, tmp)
            note(f"{name}: idle {raw['idle_tx_per_s']:.2f} tx/s")
        raw["pipelined"] = pipelined(db, tmp, args.seconds)
        note(f"{name}: pipelined {raw['pipelined']}")
        raw["latency"] = resume_latency(db, tmp, args.samples)
        note(f"{name}: latency {raw['latency']}")
        raw["slack"] = slack_clicks(db, tmp, args.samples // 2)
        note(f"{name}: slack {raw['slack']}")
        seeded = seed_paused(db, args.paused)
        raw["bytes_per_paused"] = seeded["bytes_per_paused"]
        raw["document_bytes"] = seeded["document_bytes"]
        raw["many"] = with_many_paused(
            db,
            tmp,
            seeded["ids"],
            args.samples // 4,
            min(args.bulk, args.paused),  # type: ignore[arg-type]
        )
        note(f"{name}: with {args.paused} paused {raw['many']}")

    fast = floors["fastapi"]
    p = raw["pipelined"]
    sqlite = not db.is_postgres
    results.add(
        "pipelined full cycles/s",
        name,
        p["cycles_per_s"],
        "/s",
        "≥ 250" if sqlite else "≥ 150",
        fast["req_per_s"],
        "trivial FastAPI req/s",
        p["cycles_per_s"] >= (250 if sqlite else 150),
    )
    results.add(
        "server CPU per cycle",
        name,
        p["cpu_ms_per_cycle"],
        "ms",
        "",
        fast["cpu_ms_per_req"],
        "CPU per trivial request",
    )
    if db.is_postgres:
        per_cycle = (p["transactions"] - raw["startup_tx"]) / max(1, p["total_cycles"])
        raw["tx_per_cycle"] = per_cycle
        results.add(
            "database transactions per full cycle",
            name,
            per_cycle,
            "",
            "≤ 6",
            2,
            "one per API call",
            per_cycle <= 6,
        )
        results.add(
            "transactions per second while idle",
            name,
            raw["idle_tx_per_s"],
            "/s",
            "≤ 1",
            0,
            "LISTEN/NOTIFY only",
            raw["idle_tx_per_s"] <= 1,
        )
    lat = raw["latency"]
    floor_lat = fast["p50_ms"] + commit["commit_ms_p50"]
    results.add(
        "HTTP resume → next task done, p50",
        name,
        lat["p50_ms"],
        "ms",
        "≤ 5" if sqlite else "≤ 10",
        floor_lat,
        "trivial request + one commit",
        lat["p50_ms"] <= (5 if sqlite else 10),
    )
    results.add(
        "HTTP resume → next task done, p99",
        name,
        lat["p99_ms"],
        "ms",
        "≤ 25" if sqlite else "",
        fast["p99_ms"] + commit["commit_ms_p50"],
        "trivial request p99 + one commit",
        lat["p99_ms"] <= 25 if sqlite else None,
    )
    slack = raw["slack"]
    results.add(
        "Slack click → HTTP answer, p99",
        name,
        slack["answer_p99_ms"],
        "ms",
        "≤ 50",
        fast["p99_ms"],
        "trivial request p99",
        slack["answer_p99_ms"] <= 50,
    )
    results.add(
        "Slack click → views.open, p95",
        name,
        slack["views_open_p95_ms"],
        "ms",
        "≤ 100",
        fast["p95_ms"],
        "trivial request p95",
        slack["views_open_p95_ms"] <= 100,
    )
    many = raw["many"]
    for key, label in (
        ("paused_p95_ms", f"/paused list with {args.paused:,} paused, p95"),
        ("search_p95_ms", f"API search first page, {args.paused:,} paused, p95"),
        ("text_search_p95_ms", f"API text search (q=), {args.paused:,} paused, p95"),
    ):
        results.add(
            label,
            name,
            many[key],
            "ms",
            "≤ 100",
            fast["p95_ms"],
            "trivial request p95",
            many[key] <= 100,
        )
    results.add(
        f"bulk resume of {many['bulk_count']:,}",
        name,
        many["bulk_s"],
        "s",
        "≤ 20",
        many["bulk_count"] * commit["commit_ms_p50"] / 1000,
        "one bare commit each",
        many["bulk_s"] <= 20 and many["bulk_resumed"] == many["bulk_count"],
    )
    results.add(
        f"service RSS with {args.paused:,} paused",
        name,
        many["rss_mib"],
        "MiB",
        "≤ 150",
        fast["rss_mib"],
        "trivial FastAPI RSS",
        many["rss_mib"] <= 150,
    )
    results.add(
        "stored bytes per paused execution",
        name,
        raw["bytes_per_paused"],
        "B",
        "≤ 10 KB",
        raw["document_bytes"],
        "its JSON document",
        raw["bytes_per_paused"] <= 10_000,
    )


def render(results: Results) -> str:
    def fmt(value: float | None) -> str:
        if value is None or math.isnan(value):
            return "—"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"

    lines = [
        "| figure | database | measured | target | floor (what) | ratio | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results.rows:
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        floor = f"{fmt(row.floor)} ({row.floor_what})" if row.floor is not None else "—"
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        lines.append(
            f"| {row.figure} | {row.database} | {fmt(row.value)} {row.unit} | {row.target} "
            f"| {floor} | {ratio} | {met} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--quick", action="store_true", help="10,000 paused, 5 s windows")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument(
        "--postgres",
        default=os.environ.get("PAUSEBOT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server URL to create the throwaway database on ('' to skip); "
        "default $PAUSEBOT_BENCH_POSTGRES_URL or " + DEFAULT_POSTGRES,
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="pipelined window")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=200, help="sequential latency samples")
    parser.add_argument("--paused", type=int, default=100_000)
    parser.add_argument("--bulk", type=int, default=10_000)
    args = parser.parse_args()
    if args.quick:
        args.paused, args.seconds, args.idle_seconds, args.samples = 10_000, 5.0, 5.0, 100
        args.bulk = min(args.bulk, 2_000)
    results = Results()
    with tempfile.TemporaryDirectory() as tmp:
        fast = fastapi_floor(Path(tmp), min(args.seconds, 5.0))
    results.raw["floor_fastapi"] = fast
    note(f"trivial FastAPI floor {fast}")
    floors = {"fastapi": fast}
    if args.only != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            measure(Database("SQLite", f"sqlite:///{tmp}/bench.db"), args, floors, results)
    if args.only != "sqlite" and args.postgres:
        try:
            database = postgres_database(args.postgres)
            db = database.__enter__()
        except Exception as error:  # noqa: BLE001
            print(f"PostgreSQL skipped: {error}", file=sys.stderr)
        else:
            try:
                measure(db, args, floors, results)
            finally:
                database.__exit__(None, None, None)
    if args.json:
        print(
            json.dumps(
                {
                    "rows": [{**asdict(r), "ratio": r.ratio} for r in results.rows],
                    "raw": results.raw,
                },
                indent=2,
                default=str,
            )
        )
    else:
        print(render(results))


if __name__ == "__main__":
    main()
