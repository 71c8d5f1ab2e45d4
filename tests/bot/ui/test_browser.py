"""The web UI in real headless Chromium, against the real app (uvicorn, runner) with the demo data
of ``scripts/screenshots.py``, on a desk (1280x900) and on a phone (390x844).

Debian's ``chromium`` is used (Playwright's own browser download is not available here); the
tests are skipped, saying why, when it is not installed. One browser, one server and one signed-in
context per viewport serve the whole module, so the tests stay few and fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support import EXAMPLES

from engine.engine import Engine
from engine.model import Execution
from engine.states import State
from scripts.screenshots import CHROMIUM_ARGS, TOKEN, Seeded, seed, serve, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The seed flow, with one rule on the reason so that a person can type an invalid value.
REASON_RULE = (
    "        description: Reason for approval or rejection? For example Approved\n"
    '        defaults: Approved\n        validator: "^[A-Z].{2,200}$"\n'
)


class Live:
    def __init__(self, url: str, engine: Engine, app: Any, seeded: Seeded) -> None:
        self.url = url
        self.engine = engine
        self.links = app.state.links
        self.seeded = seeded

    def start(self, namespace: str, flow_id: str, **inputs: Any) -> Execution:
        execution = self.engine.start_execution(
            namespace, flow_id, inputs, by={"id": "U1", "name": "Grace"}, via="slack"
        )
        return self.engine.run_until_blocked(execution.id, timeout=10)

    def path(self, execution: Execution) -> str:
        return f"/ui/executions/{execution.namespace}/{execution.flowId}/{execution.id}"

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
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shared_standin: Any) -> Iterator[Live]:
    database = tmp_path_factory.mktemp("browser") / "live.db"
    with serve(f"sqlite:///{database}") as served:
        engine = served.engine
        assert isinstance(engine, Engine)
        source = (EXAMPLES / "vacation_approval_process.yml").read_text()
        source = source.replace("http://127.0.0.1:8899", shared_standin.url)
        source = source.replace(
            "        description: Reason for approval or rejection?\n", ""
        ).replace("        defaults: Approved\n", REASON_RULE)
        engine.deploy_flow(source)
        yield Live(served.url, engine, served.app, seed(engine))


def _context(
    browser: Browser, live: Live, viewport: dict[str, int], **extra: Any
) -> BrowserContext:
    context = browser.new_context(viewport=viewport, **extra)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, live.url, "Ada", TOKEN)
    page.close()
    return context


@pytest.fixture(scope="module")
def desk(browser: Browser, live: Live) -> Iterator[BrowserContext]:
    context = _context(browser, live, DESK)
    yield context
    context.close()


@pytest.fixture(scope="module")
def phone(browser: Browser, live: Live) -> Iterator[BrowserContext]:
    context = _context(browser, live, PHONE, is_mobile=True, has_touch=True)
    yield context
    context.close()


def _sideways(page: Page) -> int:
    """How far the page scrolls sideways (0 when it fits the screen)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - window.innerWidth")  # type: ignore[arg-type]
    )


def test_no_page_scrolls_sideways(
    browser: Browser, live: Live, desk: BrowserContext, phone: BrowserContext
) -> None:
    seeded = live.seeded
    vacation = live.start("company.team", "vacation_approval_process")
    link = live.links.mint(vacation.id, vacation.paused_task_runs()[0].id, "approve")
    pages = [
        "/ui/executions",
        "/ui/executions?state=",
        f"/ui/executions/company.platform/deploy_approval/{seeded.deploy_id}",
        f"/ui/executions/company.platform/release_train/{seeded.release_id}",
        f"/ui/executions/company.finance/expense_approval/{seeded.expense_id}",
        live.path(vacation),
        "/ui/flows",
        "/ui/flows/company.platform/deploy_approval",
        "/ui/flows/company.team/vacation_approval_process",
        "/ui/no-such-page",
        "/ui/executions/a/b/missing",
        f"/resume/{link}",
        "/resume/forged-token",
    ]
    for context, size in ((desk, DESK), (phone, PHONE)):
        page = context.new_page()
        for path in pages:
            page.goto(live.url + path)
            for summary in page.locator("details.outcome > summary").all()[:1]:
                summary.click()  # an opened form must fit too
            assert _sideways(page) <= 0, (size, path)
        page.goto(live.url + "/ui/executions")
        page.get_by_label("Select all paused").check()
        page.get_by_role("button", name="Resume selected…").click()
        assert page.get_by_role("heading", name="Resume").is_visible()
        assert _sideways(page) <= 0, (size, "bulk confirmation")
        page.close()
        signed_out = browser.new_context(viewport=size)
        anonymous = signed_out.new_page()
        anonymous.goto(live.url + "/ui/login")
        assert _sideways(anonymous) <= 0, (size, "login")
        signed_out.close()
    # Nothing was resumed by looking, opening forms or asking for the bulk confirmation.
    assert live.engine.get_execution(seeded.deploy_id).state.current == State.PAUSED


def test_from_the_slack_link_to_a_decision_in_two_taps_on_a_phone(
    live: Live, phone: BrowserContext
) -> None:
    from playwright.sync_api import expect

    execution = live.start("company.platform", "deploy_approval", service="payments")
    page = phone.new_page()
    page.goto(live.engine.url_of(execution))  # the URL the Slack message carries
    expect(page.locator(".question").first).to_contain_text("Deploy payments 1.4.2")
    expect(page.locator(".question strong").first).to_have_text("payments")  # not *payments*
    page.locator("summary", has_text="Approve").click()  # tap 1
    page.get_by_role("button", name="Confirm: Approve").click()  # tap 2
    expect(page.get_by_text("Approved. Thank you.")).to_be_visible()
    decided = live.engine.get_execution(execution.id).task_run(execution.paused_task_runs()[0].id)
    assert decided is not None and decided.outputs["onResume"]["approved"] is True
    assert decided.outputs["resumed"]["by"]["name"] == "Ada"
    expect(page.locator("#execution-state")).to_have_text("SUCCESS", timeout=15_000)
    expect(page.locator(".outcome-card")).to_contain_text("Approved by Ada")
    page.close()


def test_a_validation_error_is_shown_beside_its_field_and_keeps_what_was_typed(
    live: Live, desk: BrowserContext
) -> None:
    from playwright.sync_api import expect

    execution = live.start("company.team", "vacation_approval_process")
    page = desk.new_page()
    page.goto(live.url + live.path(execution))
    page.locator("summary", has_text="Reject").click()
    form = page.locator("details[open] form")
    reason = form.get_by_label("Reason for approval or rejection?", exact=False)
    reason.fill("no")
    form.get_by_role("button", name="Reject").click()

    expect(page.get_by_text("Nothing was decided")).to_be_visible()
    field = page.locator("details[open] .field.has-error")
    expect(field.locator(".error")).to_have_text("must look like Approved, got 'no'")
    reason = page.locator("details[open]").get_by_label("Reason for approval", exact=False)
    expect(reason).to_have_value("no")
    expect(reason).to_have_attribute("aria-invalid", "true")
    assert live.engine.get_execution(execution.id).state.current == State.PAUSED

    reason.fill("Team offsite that week")
    page.locator("details[open]").get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Rejected. Thank you.")).to_be_visible()
    expect(page.locator("#execution-state")).to_have_text("SUCCESS", timeout=15_000)
    expect(page.get_by_text("Status is Team offsite that week")).to_be_visible()
    page.close()


def test_bulk_resume_asks_first(live: Live, desk: BrowserContext) -> None:
    from playwright.sync_api import expect

    first = live.start("company.platform", "deploy_approval", service="bulk-one")
    second = live.start("company.platform", "deploy_approval", service="bulk-two")
    page = desk.new_page()
    page.goto(live.url + "/ui/executions?q=deploy_approval")
    page.get_by_label(f"Select deploy_approval {first.id}").check()
    page.get_by_label(f"Select deploy_approval {second.id}").check()
    page.get_by_role("button", name="Resume selected…").click()
    expect(page.get_by_role("heading", name="Resume 2 executions?")).to_be_visible()
    expect(page.get_by_text("decided by a default nobody picked")).to_be_visible()
    assert live.engine.get_execution(first.id).state.current == State.PAUSED
    page.get_by_role("button", name="Resume 2 with these values").click()
    expect(page.get_by_text("Resumed 2 executions")).to_be_visible()
    assert live.wait_for(first.id, State.SUCCESS).state.current == State.SUCCESS
    page.close()


def test_a_flow_runs_from_its_form(live: Live, phone: BrowserContext) -> None:
    from playwright.sync_api import expect

    page = phone.new_page()
    page.goto(live.url + "/ui/flows")
    page.get_by_role("link", name="deploy_approval").click()
    expect(page.locator(".highlight .nt").first).to_be_visible()  # highlighted YAML
    page.get_by_label("service").fill("Bad Name")
    page.get_by_role("button", name="Run deploy_approval").click()
    expect(page.locator("#run-service-error")).to_contain_text("must look like checkout-api")
    expect(page.get_by_label("service")).to_have_value("Bad Name")
    page.get_by_label("service").fill("inventory")
    page.get_by_role("button", name="Run deploy_approval").click()
    expect(page.get_by_text("Started.")).to_be_visible()
    expect(page.locator("#execution-state")).to_have_text("PAUSED", timeout=15_000)
    expect(page.locator(".question").first).to_contain_text("Deploy inventory")
    assert _sideways(page) <= 0
    page.close()


def test_open_a_signed_link_and_approve_without_signing_in(browser: Browser, live: Live) -> None:
    from playwright.sync_api import expect

    execution = live.start("company.team", "vacation_approval_process")
    run = execution.paused_task_runs()[0]
    token = live.links.mint(execution.id, run.id, "approve")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live.url}/resume/{token}")
    expect(page.get_by_role("heading", name="Approve this request?")).to_be_visible()
    assert live.engine.get_execution(execution.id).state.current == State.PAUSED
    page.get_by_label("Your name").fill("Linus")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_text("Recorded: approved by Linus")).to_be_visible()
    finished = live.wait_for(execution.id, State.SUCCESS)
    decided = finished.task_run(run.id)
    assert decided is not None and decided.outputs["resumed"]["via"] == "link"
    # The link opens its own pause only: the rest of the UI still asks to sign in.
    page.goto(live.url + live.path(execution))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{live.url}/resume/{token}")
    expect(page.get_by_role("heading", name="Already decided")).to_be_visible()
    context.close()


def test_arriving_from_another_site_keeps_the_session(live: Live, desk: BrowserContext) -> None:
    from playwright.sync_api import expect

    execution = live.start("company.platform", "deploy_approval", service="from-slack")
    path = live.path(execution)
    page = desk.new_page()
    # SameSite=Strict cookies are not sent when arriving from Slack or a mail client; the UI
    # reloads once from its own origin and the person stays signed in.
    page.goto(live.url.replace("127.0.0.1", "localhost") + "/ui/static/ui.css")
    page.set_content(f'<a href="{live.url + path}">open in pausebot</a>')
    page.get_by_role("link", name="open in pausebot").click()
    expect(page).to_have_url(live.url + path)
    expect(page.locator("#execution-state")).to_have_text("PAUSED")
    # Times are shown in the viewer's zone once the script ran, with UTC on hover.
    first_time = page.locator("time[data-local]").first
    title = first_time.get_attribute("title") or ""
    assert title.endswith(" UTC") and first_time.inner_text() != title
    page.close()
