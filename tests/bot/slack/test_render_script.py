"""scripts/render_slack.py builds the pictures of docs/slack.md from the bot's real payloads."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from support import ROOT


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_slack", ROOT / "scripts" / "render_slack.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_picture_in_the_docs_has_a_scene(tmp_path: Path) -> None:
    render = load()
    names = [name for name, _, _ in render.scenes(tmp_path)]
    docs = (ROOT / "docs" / "slack.md").read_text()
    for name in names:
        assert f"images/{name}" in docs, name
        assert (ROOT / "docs" / "images" / name).is_file(), name


def test_mrkdwn_to_html_keeps_escaped_text_escaped() -> None:
    render = load()
    shown = render.mrkdwn("*Approved* by <@U0ADA12345> · &lt;b&gt; &amp;\n>why\n&gt;not a quote")
    assert shown.startswith('<b>Approved</b> by <span class="mention">@Ada</span>')
    assert "&lt;b&gt; &amp;" in shown
    assert "<blockquote>why</blockquote>" in shown and "&gt;not a quote" in shown
