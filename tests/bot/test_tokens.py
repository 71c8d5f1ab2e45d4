"""``PAUSEBOT_API_TOKENS``: scoped tokens, checked at start-up with messages that never show a
token (bot/tokens.py)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.tokens import ADMIN_PRINCIPAL, identify, parse_tokens

SECRET = "s3cr3t-value-0123456789"


def test_entries_name_their_scopes() -> None:
    tokens = parse_tokens(f"ci=approvals:{SECRET}  ops=admin+approvals:{SECRET}x,\n")
    assert [(t.principal.name, sorted(t.principal.scopes)) for t in tokens] == [
        ("ci", ["approvals"]),
        ("ops", ["admin", "approvals"]),
    ]
    assert identify(SECRET, None, tokens) == tokens[0].principal
    assert identify(SECRET + "x", None, tokens).is_admin  # type: ignore[union-attr]
    assert identify("admin-token-0123456789", "admin-token-0123456789", tokens) == ADMIN_PRINCIPAL
    assert identify("nope", "admin-token-0123456789", tokens) is None
    assert not tokens[0].principal.allows("admin") and tokens[0].principal.allows("approvals")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"ci:approvals:{SECRET}", "must look like NAME=SCOPES:TOKEN"),
        (f"c i=approvals:{SECRET}", "must look like"),
        (f"c/i=approvals:{SECRET}", "the name must match"),
        (f"ci=decide:{SECRET}", "unknown scope decide"),
        ("ci=approvals:short", "at least 16 characters"),
        (f"ci=approvals:{SECRET},ci=admin:{SECRET}x", "the name is used twice"),
        (f"ci=approvals:{SECRET},cd=admin:{SECRET}", "the token is used twice"),
    ],
)
def test_a_bad_entry_stops_the_start_up_without_showing_a_token(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(api_tokens=text)
    message = str(refused.value)
    assert says in message and "PAUSEBOT_API_TOKENS entry" in message
    assert SECRET not in message and "short" not in message.replace("at least", "")


def test_the_callback_secret_must_be_long_enough() -> None:
    with pytest.raises(ConfigError, match="PAUSEBOT_CALLBACK_SECRET must be at least 16"):
        load_settings(callback_secret="tiny")
