"""Load-generator processes (never threads of the measuring process): starters, resumers and a
watcher listing PAUSED, as a user's scripts would drive the API. Each process has one keep-alive
HTTP connection; they meet through a multiprocessing queue and a semaphore that bounds how many
executions are in flight, so the service, not the generators, sets the pace."""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import time
from dataclasses import dataclass
from typing import Any

import httpx

TOKEN_HEADER = "Authorization"


def _client(base: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base, headers={TOKEN_HEADER: f"Bearer {token}"}, timeout=60, http2=False
    )


def starter(base: str, token: str, stop: Any, slots: Any, counts: Any, flow: str) -> None:
    with _client(base, token) as client:
        while not stop.is_set():
            if not slots.acquire(timeout=0.2):
                continue
            response = client.post(f"/executions/bench/{flow}", json={})
            if response.status_code != 200:
                slots.release()
                with counts.get_lock():
                    counts[2] += 1
                time.sleep(0.05)
                continue
            with counts.get_lock():
                counts[0] += 1


def watcher(base: str, token: str, stop: Any, queue: Any, flow: str) -> None:
    """Lists PAUSED back to back (a short nap when nothing new appeared) and hands new ids on."""
    seen: set[str] = set()
    with _client(base, token) as client:
        while not stop.is_set():
            response = client.get(
                "/executions/search",
                params={"state": "PAUSED", "namespace": "bench", "flowId": flow, "size": 100},
            )
            fresh = 0
            if response.status_code == 200:
                for execution in response.json()["results"]:
                    if execution["id"] not in seen:
                        seen.add(execution["id"])
                        queue.put(execution["id"])
                        fresh += 1
            if not fresh:
                time.sleep(0.005)


def resumer(base: str, token: str, stop: Any, queue: Any, slots: Any, counts: Any) -> None:
    with _client(base, token) as client:
        while not stop.is_set():
            try:
                execution_id = queue.get(timeout=0.2)
            except queue_module.Empty:
                continue
            response = client.post(f"/executions/{execution_id}/resume", json={})
            slots.release()
            with counts.get_lock():
                counts[1 if response.status_code == 204 else 2] += 1


def hammer(base: str, path: str, stop: Any, counts: Any) -> None:
    """Back-to-back GETs (the trivial-endpoint floor)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get(path)
        with counts.get_lock():
            counts[1] += 1  # ready
        done = 0
        while not stop.is_set():
            client.get(path)
            done += 1
            if done % 50 == 0:
                with counts.get_lock():
                    counts[0] += 50
        with counts.get_lock():
            counts[0] += done % 50


@dataclass
class Pipeline:
    """4 starters, 4 resumers and one watcher against ``base`` (the /api/v1 URL)."""

    base: str
    token: str
    flow: str = "bench_cycle"
    starters: int = 4
    resumers: int = 4
    in_flight: int = 64

    def __post_init__(self) -> None:
        context = mp.get_context("spawn")
        self.stop = context.Event()
        self.slots = context.Semaphore(self.in_flight)
        self.queue = context.Queue()
        self.counts = context.Array("q", 3)  # started, resumed, errors
        self.processes = [
            *(
                context.Process(
                    target=starter,
                    args=(self.base, self.token, self.stop, self.slots, self.counts, self.flow),
                )
                for _ in range(self.starters)
            ),
            context.Process(
                target=watcher, args=(self.base, self.token, self.stop, self.queue, self.flow)
            ),
            *(
                context.Process(
                    target=resumer,
                    args=(self.base, self.token, self.stop, self.queue, self.slots, self.counts),
                )
                for _ in range(self.resumers)
            ),
        ]

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def snapshot(self) -> tuple[int, int, int]:
        with self.counts.get_lock():
            return int(self.counts[0]), int(self.counts[1]), int(self.counts[2])

    def finish(self) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()


def trivial_throughput(base: str, path: str, seconds: float, processes: int) -> float:
    context = mp.get_context("spawn")
    stop = context.Event()
    counts = context.Array("q", 2)  # requests, processes ready
    workers = [
        context.Process(target=hammer, args=(base, path, stop, counts)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    while counts[1] < processes:  # interpreters started, connections up
        time.sleep(0.05)
    time.sleep(0.5)
    with counts.get_lock():
        before = counts[0]
    started = time.perf_counter()
    time.sleep(seconds)
    with counts.get_lock():
        after = counts[0]
    elapsed = time.perf_counter() - started
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    return (after - before) / elapsed
