"""`make serve`: the service on the embedded default (a SQLite file in the user data directory)
with the examples deployed and the seed flows' stand-in running, ready to click through.

Without PAUSEBOT_API_TOKEN a token is generated for this run and printed, so the web UI can be
signed in to at once; Slack stays off unless its variables are set. Any `pausebot serve` option
can follow: `make serve SERVE_ARGS="--port 9000"`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from standin import StandIn

PAUSEBOT = str(Path(sys.executable).parent / "pausebot")


def main() -> int:
    env = dict(os.environ)
    env.setdefault("PAUSEBOT_FLOWS_DIR", str(ROOT / "examples"))
    if not env.get("PAUSEBOT_API_TOKEN"):
        env["PAUSEBOT_API_TOKEN"] = secrets.token_urlsafe(24)
        print(
            "PAUSEBOT_API_TOKEN was not set; this run's token (for the API and the web UI's "
            f"sign-in) is:\n\n    {env['PAUSEBOT_API_TOKEN']}\n",
            flush=True,
        )
    # PAUSEBOT_STANDIN_PORT exists for the README walkthrough test (with flows rewritten to it).
    port = int(env.get("PAUSEBOT_STANDIN_PORT", "8899"))
    try:
        standin = StandIn(port).start()
        print(f"stand-in for the seed flows' HTTP endpoints on {standin.url}", flush=True)
    except OSError:
        print(f"port {port} is taken: assuming the stand-in already runs there", flush=True)
    try:
        return subprocess.call([PAUSEBOT, "serve", *sys.argv[1:]], env=env)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
