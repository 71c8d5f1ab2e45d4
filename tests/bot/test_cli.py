"""The `pausebot` command as a user runs it: a subprocess, a SQLite file, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import EXAMPLES, flow_source

PAUSEBOT = [sys.executable, "-m", "bot.cli"]


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {**os.environ, "PAUSEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*PAUSEBOT, *args], text=True, capture_output=True, env=env, timeout=60
        )
        assert "Traceback" not in result.stderr, result.stderr
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    return run


def test_vacation_flow_end_to_end(cli, standin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = tmp_path / "vacation.yml"
    flow.write_text(
        (EXAMPLES / "vacation_approval_process.yml")
        .read_text()
        .replace("http://127.0.0.1:8899", standin.url)
    )
    started = json.loads(cli("run", str(flow), "-i", "request.name=Ada", "--json").stdout)
    assert started["state"]["current"] == "PAUSED"
    assert started["url"].endswith(
        f"/ui/executions/company.team/vacation_approval_process/{started['id']}"
    )
    assert started["inputs"]["request"] == {
        "name": "Ada",
        "start_date": "2024-07-01",
        "end_date": "2024-07-07",
    }
    assert {h["state"] for h in started["state"]["histories"]} >= {"CREATED", "RUNNING", "PAUSED"}
    assert all(h["date"].endswith("Z") for h in started["state"]["histories"])

    shown = cli("executions", "show", started["id"]).stdout
    assert "waiting at 'waitForApproval'" in shown and "-i approved=<BOOLEAN>" in shown

    bad = cli("resume", started["id"], "-i", "approved=ture", ok=False)
    assert bad.returncode == 2 and "approved" in bad.stderr and "ture" in bad.stderr

    done = json.loads(
        cli("resume", started["id"], "-i", "approved=true", "-i", "reason=Enjoy", "--json").stdout
    )
    assert done["state"]["current"] == "SUCCESS"
    pause = next(r for r in done["taskRunList"] if r["taskId"] == "waitForApproval")
    assert pause["outputs"]["onResume"] == {"approved": True, "reason": "Enjoy"}
    assert pause["outputs"]["resumed"]["via"] == "cli"

    again = cli("resume", started["id"], ok=False)
    assert again.returncode == 4 and "already resumed by" in again.stderr

    logs = cli("logs", started["id"]).stdout
    assert "Status is Enjoy. Process finished with {" in logs

    listed = json.loads(cli("executions", "list", "--state", "SUCCESS", "--json").stdout)
    assert listed["total"] == 1 and listed["results"][0]["id"] == started["id"]


def test_validate_reports_every_problem(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "id: x\nnamespace: y\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n"
    )
    result = cli("flows", "validate", str(bad), str(EXAMPLES / "pause_resume.yml"), ok=False)
    assert result.returncode == 2
    assert "line 4" in result.stderr and "tasks[0].message" in result.stderr
    assert "pause_resume.yml: ok" in result.stdout


def test_validate_and_deploy_print_warnings(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = tmp_path / "sla.yml"
    flow.write_text(
        "id: x\nnamespace: y\nsla:\n  - id: s\n    type: MAX_DURATION\n    duration: PT1H\n"
        "tasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
    )
    checked = cli("flows", "validate", str(flow))
    assert "sla.yml: ok" in checked.stdout
    assert "sla.yml: warning: line 3, column 1 sla: 'sla' is accepted but not enforced" in (
        checked.stderr
    )
    assert "'sla' is accepted" in cli("flows", "deploy", str(flow)).stderr


def test_deploy_run_by_id_pause_kill(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = tmp_path / "sleep.yml"
    flow.write_text(flow_source("pause-kill-delay.yaml"))
    assert "revision 1 (deployed)" in cli("flows", "deploy", str(flow)).stdout
    assert "revision 1 (unchanged)" in cli("flows", "deploy", str(flow)).stdout
    started = json.loads(cli("run", "io.kestra.tests.pause-kill-delay", "--json").stdout)
    assert started["state"]["current"] == "PAUSED"
    paused_again = cli("pause", started["id"], ok=False)
    assert paused_again.returncode == 4 and "not running" in paused_again.stderr
    killed = json.loads(cli("kill", started["id"], "--reason", "obsolete", "--json").stdout)
    assert killed["state"]["current"] == "KILLED"
    assert "killed by" in cli("logs", started["id"]).stdout


def test_unknown_ids_and_bad_usage(cli) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")  # read-only commands need an existing database (test_cli_database.py)
    missing = cli("executions", "show", "nope", ok=False)
    assert missing.returncode == 3 and "Execution 'nope' not found" in missing.stderr
    unknown_flow = cli("run", "company.team.missing", ok=False)
    assert unknown_flow.returncode == 3 and "not found" in unknown_flow.stderr
    bad_pair = cli("run", "company.team.x", "-i", "novalue", ok=False)
    assert bad_pair.returncode == 2 and "key=value" in bad_pair.stderr


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "PAUSEBOT_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [*PAUSEBOT, "executions", "list"], text=True, capture_output=True, env=env, timeout=60
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "database" in result.stderr.lower()


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:hunter2@[::1", "postgresql://u:hunter2@db:port/x", "mysql://u:hunter2@h/db"],
)
def test_an_unusable_database_url_is_one_line_without_the_password(url: str) -> None:
    env = {**os.environ, "PAUSEBOT_DATABASE_URL": url}
    for args in (["executions", "list"], ["--database", url, "logs", "x"]):
        result = subprocess.run(
            [*PAUSEBOT, *args], text=True, capture_output=True, env=env, timeout=60
        )
        assert result.returncode == 2, result.stderr
        where = "--database" if args[0] == "--database" else "PAUSEBOT_DATABASE_URL"
        assert result.stderr.startswith(f"error: invalid {where}: "), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_review_an_approval(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = tmp_path / "approval.yml"
    flow.write_text((Path(__file__).parent / "api" / "flows" / "approval.yaml").read_text())
    started = json.loads(cli("run", str(flow), "--json").stdout)
    assert started["state"]["current"] == "PAUSED"
    no_comment = cli("review", started["id"], "deny", ok=False)
    assert no_comment.returncode != 0 and "comment" in no_comment.stderr
    done = json.loads(
        cli(
            "executions", "review", started["id"], "APPROVE", "-c", "ship it", "-i",
            "reason=urgent", "--json",
        ).stdout
    )  # fmt: skip
    assert done["state"]["current"] == "SUCCESS"
    approval = next(r for r in done["taskRunList"] if r["taskId"] == "approval")
    assert approval["outputs"]["decision"] == "APPROVED"
    assert approval["outputs"]["comment"] == "ship it"
    assert approval["outputs"]["inputs"] == {"reason": "urgent"}
    again = cli("review", started["id"], "deny", "-c", "late", ok=False)
    assert again.returncode == 4 and "already approved" in again.stderr
