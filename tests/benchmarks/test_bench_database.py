"""`make bench` on PostgreSQL leaves nothing behind: its database is a throwaway one, created on
the server it is pointed at and dropped afterwards, even when the benchmark fails."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _bench_run():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_database_is_dropped_even_after_a_failure(postgres_url: str) -> None:
    import psycopg

    bench = _bench_run()
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def exists(name: str) -> bool:
        with psycopg.connect(admin, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return found.fetchone() is not None

    with pytest.raises(RuntimeError), bench.postgres_database(admin) as db:
        name = db.db_name
        assert name.startswith("pausebot_bench_") and exists(name)
        raise RuntimeError("the benchmark failed")
    assert not exists(name)
