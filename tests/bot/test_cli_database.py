"""Which CLI commands may write the schema: read-only ones never create or migrate a database,
state-changing ones and `pausebot db upgrade` do, and a newer pausebot's database is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from support import EXAMPLES

from engine.store.database import normalise_url

PAUSEBOT = [sys.executable, "-m", "bot.cli"]
READ_ONLY = [
    ["flows", "list"],
    ["executions", "list"],
    ["executions", "show", "nope"],
    ["logs", "nope"],
    ["db", "status"],
]


def pausebot(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAUSEBOT_", "SLACK_"))}
    result = subprocess.run(
        [*PAUSEBOT, "--database", url, *args], text=True, capture_output=True, env=env, timeout=60
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def tables(url: str) -> set[str]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = create_engine(normalise_url(url))
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def empty(url: str) -> None:
    """An empty database: none of pausebot's tables (the PostgreSQL fixture comes migrated)."""
    if url.startswith("sqlite"):
        execute(url, "CREATE TABLE scratch (x INTEGER)", "DROP TABLE scratch")
    else:
        execute(url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_sqlite_file(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "missing" / "pausebot.db"
    result = pausebot(f"sqlite:///{path}", *command)
    assert result.returncode == 6
    assert "there is no pausebot database" in result.stderr and "db upgrade" in result.stderr
    assert not path.exists() and not path.parent.exists()


def test_read_only_commands_refuse_an_empty_database(database_url: str) -> None:
    empty(database_url)
    for command in READ_ONLY:
        result = pausebot(database_url, *command)
        assert result.returncode == 6, (command, result.stderr)
        assert "is empty" in result.stderr
    assert tables(database_url) == set()


def test_read_only_commands_refuse_a_foreign_database(database_url: str) -> None:
    empty(database_url)
    execute(database_url, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    result = pausebot(database_url, "executions", "list")
    assert result.returncode == 6
    assert "is not a pausebot database" in result.stderr
    assert tables(database_url) == {"invoices"}


def test_state_changing_commands_and_db_upgrade_migrate(database_url: str) -> None:
    empty(database_url)
    upgraded = pausebot(database_url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert {"flows", "executions", "alembic_version"} <= tables(database_url)
    assert pausebot(database_url, "db", "status").returncode == 0
    assert pausebot(database_url, "flows", "list").stdout == "no flows deployed\n"

    empty(database_url)
    deployed = pausebot(database_url, "flows", "deploy", str(EXAMPLES / "pause_resume.yml"))
    assert deployed.returncode == 0, deployed.stderr
    assert "company.team.pause_resume" in pausebot(database_url, "flows", "list").stdout


def test_a_newer_pausebots_database_is_refused_never_downgraded(database_url: str) -> None:
    assert pausebot(database_url, "db", "upgrade").returncode == 0
    execute(database_url, "UPDATE alembic_version SET version_num = '9999'")
    for command in [
        *READ_ONLY,
        ["db", "upgrade"],
        ["flows", "deploy", str(EXAMPLES / "pause_resume.yml")],
    ]:
        result = pausebot(database_url, *command)
        assert result.returncode == 6, (command, result.stderr)
        assert "newer pausebot" in result.stderr and "'9999'" in result.stderr
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "9999"
        )
    engine.dispose()
