"""Shell and Python script tasks as local processes: commands, beforeCommands, env,
interpreter, input/namespace files, exit codes, stderr, Kestra's ``::{"outputs":...}::`` lines,
logs streamed while the script runs, a timeout that kills the process group, the Docker runner
refused without a daemon, and a runner killed mid-script whose script runs again elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from run_support import messages, runs, start

from engine.clock import ManualClock
from engine.engine import Engine
from engine.errors import FlowValidationError
from engine.states import State


def flow(*tasks: str) -> str:
    body = "\n".join(tasks)
    return f"id: scripts\nnamespace: company.team\ntasks:\n{body}\n"


def test_shell_commands_outputs_logs_env_and_before_commands(engine: Engine) -> None:
    source = flow(
        """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    env:
      GREETING: "hello {{ flow.namespace }}"
    beforeCommands:
      - export SUFFIX=from-before
    commands:
      - echo "$GREETING $SUFFIX"
      - 'echo ''::{"outputs":{"plan":"3 to add","count":3}}::'''
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.sh.vars.plan }}/{{ outputs.sh.vars.count }}/{{ outputs.sh.exitCode }}\""""
    )
    done = start(engine, source)
    assert done.state.current == State.SUCCESS
    (after,) = runs(done, "after")
    assert after.outputs["value"] == "3 to add/3/0"
    assert "hello company.team from-before" in messages(engine, done.id)
    assert not any("::" in m for m in messages(engine, done.id))


def test_exit_code_fails_the_task(engine: Engine) -> None:
    source = flow(
        """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo start
      - exit 3
      - echo never"""
    )
    done = start(engine, source)
    assert done.state.current == State.FAILED
    logs = messages(engine, done.id)
    assert "Command failed with exit code 3" in logs
    assert "never" not in logs


def test_fail_fast_off_runs_every_command(engine: Engine) -> None:
    source = flow(
        """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    failFast: false
    commands:
      - "false"
      - echo reached"""
    )
    done = start(engine, source)
    assert done.state.current == State.SUCCESS
    assert "reached" in messages(engine, done.id)


def test_stderr_is_a_warning_unless_told_otherwise(engine: Engine) -> None:
    task = """  - id: sh
    type: io.kestra.plugin.scripts.shell.Script
    {extra}
    script: |
      echo oops >&2"""
    warned = start(engine, flow(task.format(extra="")))
    assert warned.state.current == State.WARNING
    assert any(e.level == "WARN" and e.message == "oops" for e in engine.logs(warned.id))
    quiet = start(engine, flow(task.format(extra="warningOnStdErr: false")))
    assert quiet.state.current == State.SUCCESS


def test_interpreter_and_input_files(engine: Engine) -> None:
    source = flow(
        """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    interpreter: ["/bin/bash", "-c"]
    inputFiles:
      data/plan.txt: "plan for {{ flow.id }}"
    commands:
      - 'echo "bash ${BASH_VERSINFO[0]}"'
      - cat data/plan.txt"""
    )
    done = start(engine, source)
    assert done.state.current == State.SUCCESS
    logs = messages(engine, done.id)
    assert "plan for scripts" in logs
    assert any(m.startswith("bash ") and m != "bash " for m in logs)


def test_input_file_names_cannot_leave_the_directory(engine: Engine) -> None:
    source = flow(
        """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      ../../escape.txt: nope
    commands:
      - "true\""""
    )
    done = start(engine, source)
    assert done.state.current == State.FAILED
    assert any("leaves the working directory" in m for m in messages(engine, done.id))


def test_python_script_and_commands(engine: Engine) -> None:
    source = flow(
        """  - id: py
    type: io.kestra.plugin.scripts.python.Script
    script: |
      import json
      print("::" + json.dumps({"outputs": {"total": sum([1, 2, 3])}}) + "::")
      print("from python")
  - id: cmd
    type: io.kestra.plugin.scripts.python.Commands
    inputFiles:
      main.py: |
        import os
        print("main", os.environ["WHO"])
    env:
      WHO: "{{ outputs.py.vars.total }}"
    commands:
      - python main.py"""
    )
    done = start(engine, source)
    assert done.state.current == State.SUCCESS, messages(engine, done.id)
    assert runs(done, "py")[0].outputs["vars"] == {"total": 6}
    assert "main 6" in messages(engine, done.id)


def test_environment_does_not_leak(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAUSEBOT_SLACK_BOT_TOKEN", "xoxb-very-secret")
    done = start(
        engine,
        flow(
            """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - env"""
        ),
    )
    assert done.state.current == State.SUCCESS
    assert not any("xoxb-very-secret" in m for m in messages(engine, done.id))


def test_namespace_files(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "nsfiles"
    (root / "company.team" / "scripts").mkdir(parents=True)
    (root / "company.team" / "scripts" / "plan.sh").write_text("echo planning from ns\n")
    (root / "company.team" / "ignore.txt").write_text("no")
    (root / "other").mkdir()
    (root / "other" / "x.sh").write_text("echo other")
    monkeypatch.setenv("PAUSEBOT_NAMESPACE_FILES_DIR", str(root))
    source = flow(
        """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      enabled: true
      include: ["scripts/**"]
    commands:
      - sh scripts/plan.sh
      - ls"""
    )
    done = start(engine, source)
    assert done.state.current == State.SUCCESS
    logs = messages(engine, done.id)
    assert "planning from ns" in logs
    assert "ignore.txt" not in logs and "x.sh" not in logs


def test_timeout_kills_the_process_group(engine: Engine, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    source = flow(
        f"""  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    timeout: PT1S
    commands:
      - sleep 60 &
      - echo $! > {pid_file}
      - wait"""
    )
    started = time.monotonic()
    done = start(engine, source)
    assert time.monotonic() - started < 20
    assert done.state.current == State.FAILED
    assert any("timed out after PT1S" in m for m in messages(engine, done.id))
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper (containers often lack one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_logs_are_streamed_while_the_script_runs(engine: Engine, tmp_path: Path) -> None:
    flag = tmp_path / "go"
    source = flow(
        f"""  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo first line
      - 'while [ ! -f {flag} ]; do sleep 0.05; done'
      - echo second line"""
    )
    deployed = engine.deploy_flow(source)
    execution = engine.start_execution(deployed.flow.namespace, deployed.flow.id)
    worker = threading.Thread(target=engine.run_until_blocked, args=(execution.id,))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while "first line" not in messages(engine, execution.id):
            assert time.monotonic() < deadline, "the first line never reached the log"
            time.sleep(0.05)
        assert "second line" not in messages(engine, execution.id)
    finally:
        flag.write_text("")
        worker.join(20)
    assert engine.get_execution(execution.id).state.current == State.SUCCESS
    assert "second line" in messages(engine, execution.id)


def test_docker_runner_refused_without_a_daemon(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    done = start(
        engine,
        flow(
            """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
    containerImage: ubuntu
    commands:
      - echo hi"""
        ),
    )
    assert done.state.current == State.FAILED
    assert any("needs a reachable Docker daemon" in m for m in messages(engine, done.id))


def test_unknown_task_runner_is_a_validation_error(engine: Engine) -> None:
    with pytest.raises(FlowValidationError) as error:
        engine.validate_flow(
            flow(
                """  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.ee.kubernetes.runner.Kubernetes
    commands: ["true"]"""
            )
        )
    assert "is not supported" in str(error.value)


def test_runner_killed_mid_script_runs_it_again(tmp_path: Path) -> None:
    """A real crash: the CLI process running the script is SIGKILLed; once its lease has run
    out, another engine takes the execution over and runs the script again."""
    database = f"sqlite:///{tmp_path / 'pausebot.db'}"
    counter = tmp_path / "attempts"
    flag = tmp_path / "go"
    flow_file = tmp_path / "flow.yml"
    flow_file.write_text(
        flow(
            f"""  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo x >> {counter}
      - 'while [ ! -f {flag} ] && [ $(wc -l < {counter}) -lt 2 ]; do sleep 0.05; done'
      - echo finished"""
        )
    )
    cli = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--database", database, "run", str(flow_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not counter.exists():
            assert time.monotonic() < deadline, "the script never started"
            time.sleep(0.05)
    finally:
        cli.send_signal(signal.SIGKILL)
        cli.wait()
    clock = ManualClock()
    clock.advance(timedelta(days=365 * 30))  # far beyond the dead runner's lease
    engine = Engine(database, clock=clock)
    try:
        (execution_id,) = [e.id for e in engine.search_executions()[0]]
        done = engine.run_until_blocked(execution_id, timeout=30)
        assert done.state.current == State.SUCCESS
        logs = messages(engine, execution_id)
        assert "Runner stopped during this task; running it again." in logs
        assert "finished" in logs
        assert len(counter.read_text().splitlines()) == 2
    finally:
        flag.write_text("")
        engine.close()
