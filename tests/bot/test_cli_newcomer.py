"""What a newcomer trips over (issue 8), each as the user meets it: the real `pausebot` command in a
subprocess on a SQLite file, its output and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import EXAMPLES, serve_once

PAUSEBOT = [sys.executable, "-m", "bot.cli"]


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAUSEBOT_", "SLACK_"))}
    env["PAUSEBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"

    def run(*args: str, code: int = 0, **extra: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*PAUSEBOT, *args], text=True, capture_output=True, env={**env, **extra}, timeout=60
        )
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
        return result

    return run


def test_parallel_pauses_are_all_listed_with_their_task_run_ids(cli) -> None:  # type: ignore[no-untyped-def]
    started = cli("run", str(EXAMPLES / "model_release.yml"))
    out = started.stdout
    assert "2 task runs are waiting" in out
    assert "waiting at 'quality_review'" in out and "waiting at 'fairness_review'" in out
    assert "Quality: churn-predictor scored 0.91" in out
    assert out.count("-i approved=<BOOLEAN>") == 2
    execution = json.loads(cli("executions", "list", "--json").stdout)["results"][0]
    run_ids = {
        r["taskId"]: r["id"] for r in execution["taskRunList"] if r["state"]["current"] == "PAUSED"
    }
    for task_run in run_ids.values():
        assert f"--task-run {task_run}" in out

    # Without --task-run a resume would pick one silently: refused, with the list.
    refused = cli("resume", execution["id"], "-i", "approved=true", code=2)
    assert "2 pauses waiting" in refused.stderr
    assert all(f"--task-run {r}" in refused.stderr for r in run_ids.values())
    after = json.loads(cli("executions", "show", execution["id"], "--json").stdout)
    assert after["state"]["current"] == "PAUSED"
    assert all("resumed" not in (r.get("outputs") or {}) for r in after["taskRunList"])

    one = cli(
        "resume", execution["id"], "--task-run", run_ids["quality_review"], "-i", "approved=true"
    )
    assert "waiting at 'fairness_review'" in one.stdout
    assert "waiting at 'quality_review'" not in one.stdout
    # One pause left: no --task-run needed any more.
    done = cli("resume", execution["id"], "-i", "approved=true")
    assert "SUCCESS" in done.stdout


def test_a_killed_execution_says_who_killed_it_when_through_what_and_why(cli) -> None:  # type: ignore[no-untyped-def]
    started = json.loads(cli("run", str(EXAMPLES / "pause_resume.yml"), "--json").stdout)
    cli("kill", started["id"], "--reason", "wrong release train", "--json")
    shown = cli("executions", "show", started["id"]).stdout
    assert "KILLED" in shown
    assert "killed by " in shown and " via cli" in shown and " at 20" in shown
    assert "reason: wrong release train" in shown
    again = cli("kill", started["id"], code=4)
    assert "via cli" in again.stderr


def test_run_refused_for_its_inputs_deploys_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = tmp_path / "typed.yml"
    flow.write_text(
        "id: typed\nnamespace: t.cli\ninputs:\n  - id: n\n    type: INT\ntasks:\n"
        "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: '{{ inputs.n }}'\n"
    )
    refused = cli("run", str(flow), "-i", "n=many", code=2)
    assert "n:" in refused.stderr
    assert "no flows deployed" in cli("flows", "list").stdout
    cli("run", str(flow), "-i", "n=3")
    flow.write_text(flow.read_text().replace("'{{ inputs.n }}'", "'n={{ inputs.n }}'"))
    cli("run", str(flow), "-i", "n=x", code=2)
    listed = cli("flows", "list", "--json").stdout
    assert json.loads(listed)[0]["revision"] == 1  # the refused run left no revision 2


def test_manifest_reads_the_public_url_and_refuses_contradictions(cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("manifest", PAUSEBOT_PUBLIC_URL="https://approvals.example.com").stdout
    assert "https://approvals.example.com/slack/events" in shown
    both = cli("manifest", "--url", "https://x.example.com", "--socket-mode", code=2)
    assert "--url and --socket-mode" in both.stderr
    assert "is not" not in cli("manifest", "--socket-mode").stderr
    bad = cli("manifest", "--url", "example.test", code=2)
    assert "http(s) URL" in bad.stderr


def test_counts_are_singular_and_plural(cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("flows", "validate", str(EXAMPLES / "pause_resume.yml")).stdout
    assert "2 tasks" in shown
    one = cli("work", "--once").stdout
    assert one.strip() == "advanced 0 executions"


def test_secret_values_are_masked_in_the_logs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = tmp_path / "secret.yml"
    flow.write_text(
        """id: secret
namespace: t.cli
inputs:
  - id: api_key
    type: SECRET
tasks:
  - id: ask
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: pin
        type: SECRET
  - id: leak
    type: io.kestra.plugin.core.log.Log
    message: "key={{ inputs.api_key }} pin={{ outputs.ask.onResume.pin }} ok"
"""
    )
    started = json.loads(cli("run", str(flow), "-i", "api_key=sk-live-123456", "--json").stdout)
    cli("resume", started["id"], "-i", "pin=9876-secret")
    logs = cli("logs", started["id"]).stdout
    assert "key=****** pin=****** ok" in logs, logs
    assert "sk-live-123456" not in logs and "9876-secret" not in logs
    as_json = cli("logs", started["id"], "--json").stdout
    assert "sk-live-123456" not in as_json and "9876-secret" not in as_json


def test_an_unknown_task_type_gets_did_you_mean(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = tmp_path / "typo.yml"
    flow.write_text(
        "id: typo\nnamespace: t.cli\ntasks:\n"
        "  - id: a\n    type: io.kestra.plugin.core.flow.Pauze\n"
        "  - id: b\n    type: Pauze\n"
    )
    refused = cli("flows", "validate", str(flow), code=2)
    assert (
        "unknown task type 'io.kestra.plugin.core.flow.Pauze' (did you mean 'io.kestra.plugin.core.flow.Pause'?)"
        in refused.stdout + refused.stderr
    )
    assert (
        "unknown task type 'Pauze' (did you mean 'io.kestra.plugin.core.flow.Pause'?)"
        in refused.stdout + refused.stderr
    )


@pytest.mark.parametrize("variables", [{"SLACK_CLIENT_ID": "1.2"}, {"SLACK_CLIENT_SECRET": "s"}])
def test_slack_oauth_variables_are_refused_even_alone(cli, variables: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    refused = cli(
        "serve",
        "--port",
        "0",
        code=2,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        PAUSEBOT_SLACK_CHANNEL="C1",
        SLACK_API_URL="http://127.0.0.1:9/api/",
        **variables,
    )
    (name,) = variables
    assert f"{name} is set, but pausebot is a single-workspace app" in refused.stderr


def test_links_point_at_the_port_actually_served(tmp_path: Path) -> None:
    output, url, port = serve_once(tmp_path)
    assert url.startswith(f"http://127.0.0.1:{port}/ui/executions/company.team/pause_resume/")
    assert f"web UI: http://127.0.0.1:{port}/ui/executions" in output
    assert "warning" not in output and "will be unused" not in output
