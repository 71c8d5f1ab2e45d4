"""The README's screenshots of the web UI, from a seeded demo database.

    .venv/bin/python scripts/screenshots.py [--out docs/images] [--chromium /usr/bin/chromium]

Seeds a throw-away SQLite database with the example flows and a few executions waiting for
people (``seed``), serves the real app (``bot.server.create_app``) on a free port, signs in
with headless Chromium (Playwright) and writes:

- ``executions.png``: the executions list at 1280x900;
- ``execution.png``: an execution with its decision buttons at 1280x900;
- ``phone.png``: the same execution on a phone (390x844).

The tests use ``seed`` and ``serve`` too, so the pictures show what the tests check.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TOKEN = "demo-token-0123456789abcdef"

# A release with an Approval task: labelled decisions, a comment when holding it back.
RELEASE_FLOW = """\
id: release_train
namespace: company.platform
description: Ship the weekly release train after a product sign-off.
tasks:
  - id: sign_off
    type: io.kestra.plugin.core.flow.Approval
    title: "Ship release {{ inputs.release }}?"
    description: |
      *{{ inputs.release }}* bundles 14 changes, including `payments-v2`.
      Release notes: <https://example.com/releases/{{ inputs.release }}|{{ inputs.release }} notes>
      - canary healthy for 2 h
      - _no_ open incidents
    decisions:
      approve: Ship it
      deny: Hold
    commentRequired: ON_DENY
    timeout: PT6H
inputs:
  - id: release
    type: STRING
    defaults: "2026.49"
"""

# A deploy whose Reject asks for a reason and whose Approve asks for nothing.
DEPLOY_LABELS = 'labels:\n  slack-channel: "#deploys"\n  slack-ask-on-approve: ""\n  slack-ask-on-reject: comment\n'


@dataclass
class Seeded:
    deploy_id: str
    release_id: str
    expense_id: str


def seed(engine: object, standin_url: str | None = None) -> Seeded:
    """Deploys the demo flows and starts executions that wait for people."""
    from engine.engine import Engine

    assert isinstance(engine, Engine)
    deploy = (EXAMPLES / "deploy_approval.yml").read_text()
    deploy = deploy.replace('labels:\n  slack-channel: "#deploys"\n', DEPLOY_LABELS)
    engine.deploy_flow(deploy)
    engine.deploy_flow((EXAMPLES / "expense_approval.yml").read_text())
    engine.deploy_flow(RELEASE_FLOW)
    by = {"id": "U024BE7LH", "name": "Grace Hopper"}

    def start(namespace: str, flow_id: str, **inputs: object) -> str:
        execution = engine.start_execution(namespace, flow_id, inputs, by=by, via="slack")
        return engine.run_until_blocked(execution.id, timeout=10).id

    deploy_id = start(
        "company.platform", "deploy_approval", service="checkout-api", version="4.3.0"
    )
    start("company.platform", "deploy_approval", service="search", version="2.0.1")
    release_id = start("company.platform", "release_train")
    expense_id = start(
        "company.finance",
        "expense_approval",
        employee="Ada Lovelace",
        amount=420,
        purpose="a conference trip to Lisbon",
    )
    start("company.finance", "expense_approval", amount=12)  # under the limit: succeeds
    return Seeded(deploy_id, release_id, expense_id)


@dataclass
class Served:
    url: str
    engine: object
    app: object


@contextmanager
def serve(database_url: str, *, ui_users: str | None = None) -> Iterator[Served]:
    """The real app with its runner, served by uvicorn on a free port."""
    import uvicorn
    from pydantic import SecretStr

    from bot.config import Settings
    from bot.server import create_app
    from engine.engine import Engine

    engine = Engine(database_url, http_timeout=5.0)
    flows_dir = Path(tempfile.mkdtemp(prefix="pausebot-no-flows-"))
    settings = Settings(
        api_token=SecretStr(TOKEN),
        flows_dir=flows_dir,
        ui_users=SecretStr(ui_users) if ui_users else None,
    )
    app = create_app(settings, engine=engine, start_runner=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("uvicorn did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    engine.settings.public_url = url
    try:
        yield Served(url, engine, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.close()


def sign_in(page: object, url: str, name: str = "Ada", password: str = TOKEN) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto(url + "/ui/login")
    page.get_by_label("Your name").fill(name)
    page.locator("#login-token").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/ui/executions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, serve(f"sqlite:///{tmp}/demo.db") as served:
        seeded = seed(served.engine)
        path = f"/ui/executions/company.platform/release_train/{seeded.release_id}"
        deploy = f"/ui/executions/company.platform/deploy_approval/{seeded.deploy_id}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            desk = browser.new_context(
                viewport={"width": 1280, "height": 900}, timezone_id="Europe/Paris"
            )
            page = desk.new_page()
            sign_in(page, served.url)
            page.screenshot(path=str(args.out / "executions.png"))
            page.goto(served.url + path)
            page.locator("summary", has_text="Hold").click()
            page.screenshot(path=str(args.out / "execution.png"))
            phone = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                timezone_id="America/New_York",
            )
            page = phone.new_page()
            sign_in(page, served.url)
            page.goto(served.url + deploy)
            page.screenshot(path=str(args.out / "phone.png"))
            browser.close()
    for name in ("executions.png", "execution.png", "phone.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()
