"""Slack mrkdwn and Markdown rendered as safe HTML, and the small formatters of the pages."""

from __future__ import annotations

import pytest

from bot.ui.fields import example_of, people_error
from bot.ui.richtext import inline, plain, render
from bot.ui.views import format_duration
from engine.inputs import InputDefinition


def test_slack_markup_is_rendered_and_links_are_clickable() -> None:
    html = str(
        render(
            "Deploy *checkout-api* `v42` → _v43_ ~old~ **now**\nsee <https://ci.example/42|build 42>"
        )
    )
    assert "<strong>checkout-api</strong>" in html and "<code>v42</code>" in html
    assert "<em>v43</em>" in html and "<s>old</s>" in html and "<strong>now</strong>" in html
    assert '<a href="https://ci.example/42" rel="noopener noreferrer nofollow">build 42</a>' in html
    assert "<br>" in html and "*" not in html
    bare = str(render("logs at https://logs.example/a_b?x=1&y=2."))
    assert '<a href="https://logs.example/a_b?x=1&amp;y=2"' in bare and "</a>." in bare
    md = str(render("[runbook](https://wiki.example/run) and - not a list"))
    assert '<a href="https://wiki.example/run"' in md


def test_blocks_lists_quotes_and_code() -> None:
    html = str(render("Changes:\n- one\n- two\n\n> careful\n```\n*raw* <b>\n```"))
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "<blockquote>careful</blockquote>" in html
    assert "<pre><code>*raw* &lt;b&gt;</code></pre>" in html
    assert str(render("*bold line*")) == "<p><strong>bold line</strong></p>"  # not a list item


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<javascript:alert(1)|click>",
        "[click](javascript:alert(1))",
        "<data:text/html,x|x>",
        '*"><img src=x onerror=alert(1)>*',
        "`</code><script>x</script>`",
        '<https://ok.example" onmouseover="x|y>',
    ],
)
def test_nothing_a_flow_writes_becomes_markup(hostile: str) -> None:
    for html in (str(render(hostile)), str(inline(hostile))):
        assert "<script" not in html and "<img" not in html
        assert 'href="javascript' not in html
        assert 'href="data:' not in html and 'onmouseover="' not in html


def test_mentions_and_plain_text() -> None:
    assert '<span class="mention">@U123</span>' in str(render("<@U123> <!here>"))
    assert plain("Deploy *api* <https://x.example|now>") == "Deploy api now"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (300, "5 min"),
        (7800, "2 h 10 min"),
        (7200, "2 h"),
        (273600, "3 d 4 h"),
    ],
)
def test_durations_read_like_people_say_them(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_validator_messages_use_an_example_not_the_regex() -> None:
    ticket = InputDefinition(
        id="ticket",
        type="STRING",
        validator="^CHG-[0-9]+$",
        description="The change, e.g. CHG-1234",
    )
    assert example_of(ticket) == "CHG-1234"
    message = "must match the pattern ^CHG-[0-9]+$, got 'x'"
    assert people_error(ticket, message) == "must look like CHG-1234, got 'x'"
    by_default = InputDefinition(id="s", type="STRING", validator="^[a-z]+$", defaults="checkout")
    assert example_of(by_default) == "checkout"
    # A candidate that does not match the pattern is never offered as an example.
    wrong = InputDefinition(id="w", type="STRING", validator="^[0-9]+$", description="like abc")
    assert example_of(wrong) is None
    assert people_error(wrong, "must match the pattern ^[0-9]+$, got 'x'").startswith("must match")
