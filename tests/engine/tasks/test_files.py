"""The internal file storage (kestra:/// URIs) in the database (SQLite and PostgreSQL) and in a
directory: storage.Write, read()/fileSize(), script outputFiles, http.Download against a local
server, FILE inputs, the size limit, namespace isolation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from run_support import messages, runs, start

from engine.clock import ManualClock
from engine.engine import Engine
from engine.errors import InputValidationError
from engine.states import State
from engine.storage import DatabaseStorage, DirectoryStorage, TaskFiles, UploadedFile

WRITE_AND_READ = """
id: files
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: "plan for {{ flow.id }}"
    extension: .txt
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(outputs.write.uri) }} ({{ fileSize(outputs.write.uri) }} bytes)"
"""


@pytest.fixture(params=["database", "directory"])
def files_engine(request: pytest.FixtureRequest, engine: Engine, tmp_path: Path) -> Engine:
    if request.param == "directory":
        engine.services.storage = TaskFiles(DirectoryStorage(tmp_path / "storage"))
    return engine


def test_write_then_read(files_engine: Engine) -> None:
    done = start(files_engine, WRITE_AND_READ)
    assert done.state.current == State.SUCCESS, messages(files_engine, done.id)
    uri = runs(done, "write")[0].outputs["uri"]
    assert uri.startswith(f"kestra:///company/team/files/executions/{done.id}/tasks/write/")
    assert uri.endswith(".txt")
    assert "plan for files (14 bytes)" in messages(files_engine, done.id)
    assert files_engine.execution_file(done.id, uri) == (uri.rsplit("/", 1)[-1], b"plan for files")


def test_another_namespace_cannot_read(files_engine: Engine) -> None:
    done = start(files_engine, WRITE_AND_READ)
    uri = runs(done, "write")[0].outputs["uri"]
    other = start(
        files_engine,
        f"""
id: snoop
namespace: other
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ read('{uri}') }}}}"
""",
    )
    assert other.state.current == State.FAILED
    assert any("belongs to another namespace" in m for m in messages(files_engine, other.id))
    with pytest.raises(InputValidationError, match="path"):
        files_engine.execution_file(other.id, uri)


def test_database_storage_limit(engine: Engine, clock: ManualClock) -> None:
    engine.services.storage = TaskFiles(DatabaseStorage(engine.store, clock, max_bytes=10))
    done = start(engine, WRITE_AND_READ)
    assert done.state.current == State.FAILED
    assert any(
        "larger than the database storage's limit of 10 bytes" in m
        for m in messages(engine, done.id)
    )


def test_script_output_files(files_engine: Engine) -> None:
    done = start(
        files_engine,
        """
id: plan
namespace: company.team
tasks:
  - id: plan
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    outputFiles:
      - "*.txt"
    commands:
      - echo "+ create bucket" > plan.txt
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "plan: {{ read(outputs.plan.outputFiles['plan.txt']) | trim }}"
""",
    )
    assert done.state.current == State.SUCCESS, messages(files_engine, done.id)
    assert "plan: + create bucket" in messages(files_engine, done.id)


@pytest.fixture
def file_server() -> Iterator[str]:
    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"" if self.path == "/empty" else b"id,amount\n1,10\n2,20\n"
            self.send_response(404 if self.path == "/missing" else 200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/csv")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_download(files_engine: Engine, file_server: str) -> None:
    done = start(
        files_engine,
        f"""
id: download
namespace: company.team
tasks:
  - id: get
    type: io.kestra.plugin.core.http.Download
    uri: {file_server}/orders.csv
  - id: count
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ read(outputs.get.uri) | trim }}}}"
""",
    )
    assert done.state.current == State.SUCCESS, messages(files_engine, done.id)
    outputs = runs(done, "get")[0].outputs
    assert outputs["code"] == 200 and outputs["length"] == 20
    assert outputs["uri"].endswith("/orders.csv")
    assert "id,amount\n1,10\n2,20" in messages(files_engine, done.id)
    for path, says in (("missing", "HTTP 404"), ("empty", "empty body")):
        failed = start(
            files_engine,
            f"""
id: download-{path}
namespace: company.team
tasks:
  - id: get
    type: io.kestra.plugin.core.http.Download
    uri: {file_server}/{path}
""",
        )
        assert failed.state.current == State.FAILED
        assert any(says in m for m in messages(files_engine, failed.id))


FILE_INPUT = """
id: review
namespace: company.team
inputs:
  - id: document
    type: FILE
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(inputs.document) }}"
"""


def test_file_input_is_stored_under_the_execution(files_engine: Engine) -> None:
    files_engine.deploy_flow(FILE_INPUT)
    execution = files_engine.start_execution(
        "company.team", "review", {"document": UploadedFile("../signed plan.pdf", b"SIGNED")}
    )
    uri = execution.inputs["document"]
    assert uri == (
        f"kestra:///company/team/review/executions/{execution.id}/inputs/document/signed plan.pdf"
    )
    done = files_engine.run_until_blocked(execution.id)
    assert done.state.current == State.SUCCESS
    assert "SIGNED" in messages(files_engine, done.id)


def test_file_input_errors(engine: Engine) -> None:
    engine.deploy_flow(FILE_INPUT)
    with pytest.raises(InputValidationError) as caught:
        engine.start_execution("company.team", "review", {"document": "just text"})
    assert caught.value.errors[0].field == "document"
    assert "expected a file" in caught.value.errors[0].message
    with pytest.raises(InputValidationError) as missing:
        engine.start_execution("company.team", "review", {})
    assert missing.value.errors[0].field == "document"


def test_an_approver_attaches_a_file_on_resume(files_engine: Engine) -> None:
    files_engine.deploy_flow(
        """
id: signoff
namespace: company.team
tasks:
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: signed
        type: FILE
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(outputs.approve.onResume.signed) }}"
"""
    )
    execution = files_engine.start_execution("company.team", "signoff", {})
    assert files_engine.run_until_blocked(execution.id).state.current == State.PAUSED
    files_engine.resume_execution(
        execution.id, {"signed": UploadedFile("signed.pdf", b"%PDF signed")}, via="test"
    )
    done = files_engine.run_until_blocked(execution.id)
    assert done.state.current == State.SUCCESS, messages(files_engine, done.id)
    uri = runs(done, "approve")[0].outputs["onResume"]["signed"]
    assert uri.startswith(f"kestra:///company/team/signoff/executions/{done.id}/resume/")
    assert uri.endswith("/signed/signed.pdf")
    assert "%PDF signed" in messages(files_engine, done.id)


def test_local_files_in_a_working_directory(files_engine: Engine) -> None:
    from run_support import corpus_flow

    done = start(files_engine, corpus_flow("working-directory-inputs.yml"))
    assert done.state.current == State.SUCCESS, messages(files_engine, done.id)
    uri = runs(done, "inputFiles")[0].outputs["uris"]["input.txt"]
    assert files_engine.execution_file(done.id, uri)[1] == b"Hello World"
    written = start(
        files_engine,
        """
id: local-files
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: write
        type: io.kestra.plugin.core.storage.LocalFiles
        inputs:
          out/result.txt: "{{ flow.id }}"
        outputs:
          - "out/*.txt"
""",
    )
    assert written.state.current == State.SUCCESS, messages(files_engine, written.id)
    uri = runs(written, "write")[0].outputs["uris"]["out/result.txt"]
    assert files_engine.execution_file(written.id, uri)[1] == b"local-files"


def test_purging_an_execution_removes_its_stored_files(engine: Engine, clock: ManualClock) -> None:
    from datetime import timedelta

    old = start(engine, WRITE_AND_READ)
    clock.advance(timedelta(days=40))
    recent = start(engine, WRITE_AND_READ)
    old_uri = runs(old, "write")[0].outputs["uri"]
    recent_uri = runs(recent, "write")[0].outputs["uri"]
    engine.purge_executions(end_date=clock.now() - timedelta(days=30))
    assert engine.store.get_file(old_uri) is None
    assert engine.store.get_file(recent_uri) == b"plan for files"
