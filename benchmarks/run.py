"""pausebot's performance figures. Prints medians and percentiles; asserts nothing.

    python benchmarks/run.py [--executions 200] [--postgres URL]

1. resume -> next task done: the runner picks a resumed execution up without polling, runs the
   task after the Pause and commits SUCCESS; measured from the call to resume_execution until the
   engine's commit listener sees the `finished` event.
2. start -> paused: from start_execution until the `paused` event.
3. waiting costs a row: resident memory before and after parking N executions at a Pause.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.engine import Engine
from engine.runner import Runner

FLOW = (ROOT / "examples" / "pause_resume.yml").read_text()


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(url: str, count: int, label: str) -> None:
    engine = Engine(url)
    runner = Runner(engine, poll_interval=30.0)  # only direct wake-ups can be fast
    waiting: dict[tuple[str, str], threading.Event] = {}
    lock = threading.Lock()

    def on_commit(execution_id: str, events) -> None:  # type: ignore[no-untyped-def]
        for event in events:
            with lock:
                signal = waiting.get((execution_id, event.kind))
            if signal:
                signal.set()

    engine.add_listener(on_commit)
    runner.start()
    engine.deploy_flow(FLOW)
    started_ms, resumed_ms = [], []
    try:
        rss_before = rss_mib()
        ids = []
        for _ in range(count):
            paused = threading.Event()
            t0 = time.perf_counter()
            execution = engine.start_execution("company.team", "pause_resume")
            with lock:
                waiting[(execution.id, "paused")] = paused
            if (
                not paused.wait(10)
                and engine.get_execution(execution.id).state.current.value != "PAUSED"
            ):
                raise SystemExit("an execution did not pause")
            started_ms.append((time.perf_counter() - t0) * 1000)
            ids.append(execution.id)
        rss_parked = rss_mib()
        for execution_id in ids:
            finished = threading.Event()
            with lock:
                waiting[(execution_id, "finished")] = finished
            t0 = time.perf_counter()
            engine.resume_execution(execution_id, {}, via="bench")
            if not finished.wait(10):
                raise SystemExit("an execution did not finish")
            resumed_ms.append((time.perf_counter() - t0) * 1000)
    finally:
        runner.stop()
        engine.close()
    print(f"\n[{label}] {count} executions")
    print(
        f"  start -> paused        median {statistics.median(started_ms):6.2f} ms   "
        f"p95 {percentile(started_ms, 0.95):6.2f} ms"
    )
    print(
        f"  resume -> next task done   median {statistics.median(resumed_ms):6.2f} ms   "
        f"p95 {percentile(resumed_ms, 0.95):6.2f} ms"
    )
    print(
        f"  resident memory: {rss_before:.1f} MiB before, {rss_parked:.1f} MiB with {count} paused "
        f"({(rss_parked - rss_before) * 1024 / count:.1f} KiB per waiting execution)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "PAUSEBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL URL ('' to skip)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{tmp}/bench.db", args.executions, "SQLite file")
    if args.postgres:
        try:
            import psycopg

            with psycopg.connect(
                args.postgres.replace("+psycopg", ""), autocommit=True, connect_timeout=3
            ) as conn:
                conn.execute("DROP DATABASE IF EXISTS pausebot_bench WITH (FORCE)")
                conn.execute("CREATE DATABASE pausebot_bench")
        except Exception as error:  # noqa: BLE001
            print(f"\n[PostgreSQL] skipped: {error}")
            return
        measure(args.postgres.rsplit("/", 1)[0] + "/pausebot_bench", args.executions, "PostgreSQL")


if __name__ == "__main__":
    main()
