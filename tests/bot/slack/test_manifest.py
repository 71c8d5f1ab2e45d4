"""manifest.yml is a valid Slack app manifest asking for exactly the scopes the bot uses, and
`pausebot manifest` fills in the request URLs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.slack.manifest import PLACEHOLDER, render_manifest

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT.parent / "shared" / "vendor" / "slack" / "manifest.schema.1.0.0.json"
BOT_SOURCES = ROOT / "bot" / "slack"

# Web API method -> the bot scope it needs (views.* need none).
SCOPE_OF = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "users_info": "users:read",
    "users_lookupByEmail": "users:read.email",
    "usergroups_users_list": "usergroups:read",
    "usergroups_list": "usergroups:read",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        pytest.skip(f"Slack's manifest schema is not beside the repository ({SCHEMA})")
    return json.loads(SCHEMA.read_text())


@pytest.mark.parametrize(
    ("url", "socket_mode"), [(None, False), ("https://pausebot.example.com/", False), (None, True)]
)
def test_the_manifest_is_valid(schema: dict[str, Any], url: str | None, socket_mode: bool) -> None:
    manifest = yaml.safe_load(render_manifest(url, socket_mode=socket_mode))
    jsonschema.validate(manifest, schema)
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is socket_mode
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/paused"]
    if url:
        expected = "https://pausebot.example.com/slack/events"
        assert settings["interactivity"]["request_url"] == expected
        assert settings["event_subscriptions"]["request_url"] == expected
        assert manifest["features"]["slash_commands"][0]["url"] == expected
    if socket_mode:
        assert "request_url" not in settings["interactivity"]
        assert "url" not in manifest["features"]["slash_commands"][0]


def test_a_broken_manifest_is_refused(schema: dict[str, Any]) -> None:
    manifest = yaml.safe_load(render_manifest())
    manifest["features"]["slash_commands"][0]["command"] = "paused"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, schema)


def test_scopes_are_exactly_the_ones_used() -> None:
    scopes = set(yaml.safe_load(render_manifest())["oauth_config"]["scopes"]["bot"])
    source = "\n".join(p.read_text() for p in BOT_SOURCES.glob("*.py"))
    used = {scope for method, scope in SCOPE_OF.items() if f".{method}(" in source}
    used.add("commands")  # /paused
    used.add("users:read.email")  # assignment by e-mail reads the profile e-mail
    assert scopes == used


def test_the_cli_prints_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "manifest", "--url", "https://host.example"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert "request_url: https://host.example/slack/events" in done.stdout
    assert PLACEHOLDER not in done.stdout
    plain = subprocess.run(
        [sys.executable, "-m", "bot.cli", "manifest"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert f"{PLACEHOLDER}/slack/events" in plain.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "bot.cli", "manifest", "--url", "host"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "--url must be an http(s) URL" in bad.stderr
