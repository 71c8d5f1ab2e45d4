"""Issue 7, findings 9-10 in the web UI: a hostile value (``<!channel> <https://evil.example|
click me>``, and ``*``/``_``/``~``/backticks) in a flow input, an actor's name, a comment or a
kill reason is shown as typed on every page (the list, a search for it, the execution page
before and after the decision, the flows pages, a signed link's page): never as markup or a
link. Jinja's autoescape is the one HTML escaper."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from tests.bot.ui.conftest import UI

LINKY = "<!channel> <https://evil.example|click me>"
MARKUP = "*bold* _it_ ~gone~ `code`"
HOSTILE = f"{LINKY} {MARKUP}"
ACTOR = {"id": "evil", "name": HOSTILE}

FLOW = """
id: hostile
namespace: company.team
inputs:
  - id: service
    type: STRING
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    description: "Deploy the service?"
    onResume:
      - id: approved
        type: BOOLEAN
        defaults: true
      - id: comment
        type: STRING
        required: false
"""

FORMATTED = re.compile(r"<(strong|b|em|i|del|s|code)>\s*(bold|it|gone|code)\s*</\1>")


def _check(html: str) -> None:
    assert "<!channel>" not in html and "<https://evil.example" not in html
    assert 'href="https://evil.example' not in html
    assert not FORMATTED.search(html), FORMATTED.search(html)


def test_every_page_shows_hostile_values_as_typed(ui: UI) -> None:
    ui.login()
    flow = ui.engine.deploy_flow(FLOW).flow
    start = ui.engine.start_execution(flow.namespace, flow.id, {"service": HOSTILE}, by=ACTOR)
    waiting = ui.engine.run_until_blocked(start.id)
    pages = [
        "/ui/executions",
        f"/ui/executions?q={quote('evil')}",
        "/ui/flows",
        f"/ui/flows/{flow.namespace}/{flow.id}",
        ui.path(waiting),
        f"/resume/{ui.link(waiting)}",
    ]
    resumed = ui.engine.run_until_blocked(
        ui.engine.start_execution(flow.namespace, flow.id, {"service": HOSTILE}, by=ACTOR).id
    )
    ui.engine.resume_execution(resumed.id, {"comment": HOSTILE}, by=ACTOR, via="api")
    killed = ui.engine.run_until_blocked(
        ui.engine.start_execution(flow.namespace, flow.id, {"service": HOSTILE}, by=ACTOR).id
    )
    ui.engine.kill_execution(killed.id, by=ACTOR, via="api", reason=HOSTILE)
    pages += [ui.path(resumed), ui.path(killed)]
    escaped = 0
    for path in pages:
        response = ui.client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        _check(response.text)
        escaped += response.text.count("&lt;!channel&gt;")
    assert escaped >= len(pages) - 2  # it was there to escape (flows pages show no values)
