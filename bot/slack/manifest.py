"""The Slack app manifest (``manifest.yml`` at the repository root) with its request URLs filled
in. Rendered by text replacement so the file's comments survive."""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.yml"
PLACEHOLDER = "https://YOUR-PAUSEBOT-HOST"
EVENTS_PATH = "/slack/events"


class ManifestError(ValueError):
    pass


def manifest_template() -> str:
    try:
        return MANIFEST_PATH.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(
            f"cannot read the Slack manifest at {MANIFEST_PATH}: {error.strerror}"
        ) from None


def render_manifest(url: str | None = None, *, socket_mode: bool = False) -> str:
    """The manifest for a service at ``url`` (placeholders stay without one). In Socket Mode
    Slack needs no request URLs, so they are left out."""
    text = manifest_template()
    if url is not None:
        if not re.match(r"^https?://[^\s/]+", url):
            raise ManifestError(
                f"--url must be an http(s) URL such as https://pausebot.example.com, got {url!r}"
            )
        text = text.replace(PLACEHOLDER, url.rstrip("/"))
    if socket_mode:
        text = text.replace("socket_mode_enabled: false", "socket_mode_enabled: true")
        text = re.sub(r"^(\s*)(url|request_url): .*\n", "", text, flags=re.MULTILINE)
    return text
