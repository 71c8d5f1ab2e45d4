"""The web UI in real headless Chromium, against a live uvicorn server with a runner.

Debian's ``chromium`` is used (Playwright's own browser download is not available here); the
tests are skipped, saying why, when it is not installed. CI installs it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from pydantic import SecretStr
from support import EXAMPLES

from bot.config import Settings
from engine.engine import Engine
from engine.model import Execution
from engine.states import State

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/pausebot-ui-resume-form.png")
# The seed flow, with one rule on the reason so that a person can type an invalid value.
REASON_RULE = '        defaults: Approved\n        validator: "^.{3,200}$"\n'


@dataclass
class Live:
    url: str
    engine: Engine
    links: Any

    def start_vacation(self) -> Execution:
        execution = self.engine.start_execution(
            "company.team", "vacation_approval_process", {"request.name": "Rick Astley"}
        )
        return self.engine.run_until_blocked(execution.id, timeout=10)

    def wait_for(self, execution_id: str, state: State, timeout: float = 10.0) -> Execution:
        deadline = time.monotonic() + timeout
        while True:
            execution = self.engine.get_execution(execution_id)
            if execution.state.current == state or time.monotonic() > deadline:
                return execution
            time.sleep(0.05)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    sync_playwright = sync_api.sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(tmp_path: Path, shared_standin: Any, api_token: str) -> Iterator[Live]:
    """The real app (bot/server.py) with its runner, served by uvicorn on a free port."""
    from bot.server import create_app

    engine = Engine(f"sqlite:///{tmp_path / 'live.db'}", http_timeout=5.0)
    source = (EXAMPLES / "vacation_approval_process.yml").read_text()
    source = source.replace("http://127.0.0.1:8899", shared_standin.url)
    engine.deploy_flow(source.replace("        defaults: Approved\n", REASON_RULE))
    settings = Settings(api_token=SecretStr(api_token), flows_dir=tmp_path / "no-flows")
    (tmp_path / "no-flows").mkdir()
    app = create_app(settings, engine=engine, start_runner=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    engine.settings.public_url = f"http://127.0.0.1:{port}"
    try:
        yield Live(f"http://127.0.0.1:{port}", engine, app.state.links)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_log_in_fix_an_invalid_value_and_resume(live: Live, page: Page, api_token: str) -> None:
    from playwright.sync_api import expect

    execution = live.start_vacation()
    assert execution.state.current == State.PAUSED
    path = f"/ui/executions/company.team/vacation_approval_process/{execution.id}"

    page.goto(live.url + path)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("API token").fill(api_token)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(live.url + path)
    expect(page.locator("#execution-state")).to_have_text("PAUSED")
    expect(page.get_by_text("Signed in as Ada")).to_be_visible()
    form = page.locator("section.decide")
    expect(form.get_by_label("Yes")).to_be_checked()
    form.get_by_label("No").check()
    form.get_by_label("Reason for approval or rejection?").fill("no")
    form.get_by_role("button", name="Resume").click()

    expect(page.get_by_text("Nothing was decided")).to_be_visible()
    expect(page.locator(".field .error")).to_contain_text("must match the pattern")
    reason = page.get_by_label("Reason for approval or rejection?")
    expect(reason).to_have_value("no")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator("section.decide").get_by_label("No")).to_be_checked()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert live.engine.get_execution(execution.id).state.current == State.PAUSED

    reason.fill("Team offsite that week")
    page.locator("section.decide").get_by_role("button", name="Resume").click()
    expect(page.get_by_text("Resumed. Thank you.")).to_be_visible()
    # The page refreshes itself while the execution runs, until it ends.
    expect(page.locator("#execution-state")).to_have_text("SUCCESS", timeout=15_000)
    expect(page.get_by_text("Status is Team offsite that week")).to_be_visible()
    expect(page.get_by_text("rejected by Ada")).to_be_visible()

    # Arriving from another site (Slack, mail) does not send the SameSite=Strict cookie at
    # first; the UI reloads once and the person stays logged in.
    page.goto(live.url.replace("127.0.0.1", "localhost") + "/ui/static/ui.css")
    page.set_content(f'<a href="{live.url + path}">open in pausebot</a>')
    page.get_by_role("link", name="open in pausebot").click()
    expect(page).to_have_url(live.url + path)
    expect(page.locator("#execution-state")).to_have_text("SUCCESS")


def test_open_a_signed_link_and_approve(live: Live, page: Page) -> None:
    from playwright.sync_api import expect

    execution = live.start_vacation()
    run = execution.paused_task_runs()[0]
    token = live.links.mint(execution.id, run.id, "approve")

    page.goto(f"{live.url}/resume/{token}")
    expect(page.get_by_role("heading", name="Approve this request?")).to_be_visible()
    assert live.engine.get_execution(execution.id).state.current == State.PAUSED
    page.get_by_label("Your name").fill("Linus")
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_text("Recorded: approved by Linus")).to_be_visible()
    finished = live.wait_for(execution.id, State.SUCCESS)
    assert finished.state.current == State.SUCCESS
    decided = finished.task_run(run.id)
    assert decided is not None and decided.outputs["resumed"]["via"] == "link"

    page.goto(f"{live.url}/resume/{token}")
    expect(page.get_by_role("heading", name="Already decided")).to_be_visible()
