"""The README's first command (`make demo`): the Kestra vacation-approval flow end to end on the
embedded default, through the real `pausebot` CLI.

It starts the local stand-in for the flow's two HTTP endpoints, runs the flow until it pauses,
shows the paused execution, resumes it with typed onResume values, and prints the logs.
The database is a SQLite file in a temporary directory unless PAUSEBOT_DATABASE_URL is set.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from standin import StandIn

PAUSEBOT = str(Path(sys.executable).parent / "pausebot")


def step(title: str, *args: str) -> subprocess.CompletedProcess[str]:
    # Quoted as a shell would need it, so each line can be pasted; stderr is interleaved with
    # stdout in the order the command wrote them.
    print(f"\n$ pausebot {shlex.join(args)}    # {title}", flush=True)
    result = subprocess.run(
        [PAUSEBOT, *args], text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        sys.exit(f"demo failed at: {title}")
    return result


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="pausebot-demo-")
    os.environ.setdefault("PAUSEBOT_DATABASE_URL", f"sqlite:///{tmp}/pausebot.db")
    try:
        standin = StandIn(8899).start()
    except OSError:
        sys.exit(
            "port 8899 is taken; stop whatever runs there (maybe `python3 examples/standin.py`)"
        )
    print(f"stand-in for reqres.in listening on {standin.url}")
    flow = str(ROOT / "examples" / "vacation_approval_process.yml")
    step("validate the flow", "flows", "validate", flow)
    step("run until the Pause", "run", flow, "-i", "request.name=Ada Lovelace")
    listed = subprocess.run(
        [PAUSEBOT, "executions", "list", "--state", "PAUSED", "--json"],
        text=True,
        capture_output=True,
        check=True,
    )
    execution = json.loads(listed.stdout)["results"][0]
    step("the paused executions", "executions", "list", "--state", "PAUSED")
    bad = subprocess.run(
        [PAUSEBOT, "resume", execution["id"], "-i", "approved=ture"], text=True, capture_output=True
    )
    print(
        f"\n$ pausebot {shlex.join(['resume', execution['id'], '-i', 'approved=ture'])}"
        f"    # a typo is refused\n{bad.stderr}",
        end="",
    )
    step(
        "approve with a reason",
        "resume",
        execution["id"],
        "-i",
        "approved=true",
        "-i",
        "reason=Enjoy the holiday",
    )
    step("the logs", "logs", execution["id"])
    print(
        f"\nstand-in received {len(standin.requests)} requests: "
        + ", ".join(r["path"] for r in standin.requests)
    )
    standin.shutdown()


if __name__ == "__main__":
    main()
