"""`pausebot serve` with Slack configured, as an operator starts it: what it warns about."""

from __future__ import annotations

from pathlib import Path

from support import serve_once


def test_a_public_url_that_looks_wrong_is_warned_about(tmp_path: Path, fake_slack) -> None:  # type: ignore[no-untyped-def]
    output, url, _port = serve_once(
        tmp_path,
        PAUSEBOT_PUBLIC_URL="http://localhost:9",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="s" * 20,
        PAUSEBOT_SLACK_CHANNEL="C1",
        SLACK_API_URL=fake_slack.url,
    )
    assert url.startswith("http://localhost:9/ui/")  # what was configured is used, and warned about
    assert "links will point at the wrong port" in output
    assert "the links in Slack messages will not open for anyone but this machine" in output
    # Bolt reads SLACK_BOT_TOKEN itself: no "`token` will be unused" noise at start-up.
    assert "will be unused" not in output, output
