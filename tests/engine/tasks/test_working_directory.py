"""flow.WorkingDirectory: its tasks share one temporary directory (with its inputFiles and
namespace files), removed when it ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_support import messages, runs, start

from engine.engine import Engine
from engine.states import State
from engine.tasks.working_directory import directory_for

FLOW = """
id: wd
namespace: company.team
tasks:
  - id: dir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles:
      config.txt: "env={{ flow.id }}"
    namespaceFiles:
      enabled: true
    tasks:
      - id: write
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - echo planned > plan.out
          - pwd
      - id: read
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - cat plan.out shared.txt
          - cat config.txt; echo
          - pwd
  - id: next
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - test ! -e plan.out && echo fresh directory
"""


def test_tasks_share_one_directory_removed_after(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "company.team").mkdir()
    (tmp_path / "company.team" / "shared.txt").write_text("from namespace\n")
    monkeypatch.setenv("PAUSEBOT_NAMESPACE_FILES_DIR", str(tmp_path))
    done = start(engine, FLOW)
    assert done.state.current == State.SUCCESS, messages(engine, done.id)
    logs = messages(engine, done.id)
    assert "planned" in logs and "from namespace" in logs and "env=wd" in logs
    assert "fresh directory" in logs
    (wd_run,) = runs(done, "dir")
    directory = directory_for(wd_run)
    assert logs.count(str(directory)) == 2
    assert not directory.exists()


def test_directory_removed_when_a_task_fails(engine: Engine) -> None:
    done = start(
        engine,
        """
id: wd-fail
namespace: company.team
tasks:
  - id: dir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: boom
        type: io.kestra.plugin.scripts.shell.Commands
        commands: ["touch x", "exit 1"]
""",
    )
    assert done.state.current == State.FAILED
    assert not directory_for(runs(done, "dir")[0]).exists()
