"""Safe mrkdwn: escaping, truncation that never cuts an entity, mentions and dates.

Slack treats only ``&``, ``<`` and ``>`` as control characters in mrkdwn; escaping them stops
flow or user text from injecting ``<!channel>``, ``<@U…>`` or disguised ``<https://evil|ok>``
links. Mentions are built from ids only, never from names.

Values (inputs, comments, reasons, names, labels) also go through ``value()``: mrkdwn has no
escape for ``*``, ``_``, ``~`` and backticks (a backslash is shown, not obeyed), so a value such
as ``*urgent*`` would turn bold. ``value()`` puts a zero-width space (U+200B) on both sides of
each of those characters. Slack pairs a marker only when the opening one has a word boundary
before it and a non-space after it, and the closing one the reverse; an invisible character on
*both* sides breaks both conditions whether Slack's parser counts U+200B as a space or as a
letter, and the reader sees the characters as typed. A marker between two letters or digits
(``snake_case``) cannot pair and gets nothing. (Slack's own advice is "a space on either
side"; the zero-width space is that space, unseen. See docs/slack.md.) The flow author's text (a
Pause ``description``) stays mrkdwn on purpose: ``author()`` escapes it and treats only the
input values rendered into it as values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from engine.clock import parse_iso

ELLIPSIS = "…"
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{8,}$")  # handles are lower case; ids long
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


ZWSP = "\u200b"
_MARKERS = re.compile(r"[*_~`]")
# A marker between two letters or digits (snake_case, a*b) can neither open nor close a pair in
# Slack, so it is left alone: identifiers copied from Slack stay clean.
_LOOSE_MARKER = re.compile(r"(?<![^\W_])[*_~`]|[*_~`](?![^\W_])")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def value(text: str) -> str:
    """A user value as mrkdwn: escaped, and its ``*``, ``_``, ``~`` and backticks shown as
    typed (a zero-width space on both sides, so Slack pairs none of them)."""
    return _unformat(escape(text))


def _unformat(escaped: str) -> str:
    return _LOOSE_MARKER.sub(lambda m: f"{ZWSP}{m.group(0)}{ZWSP}", escaped)


def value_truncated(text: str, limit: int) -> str:
    """``value()`` of at most ``limit`` characters that never ends inside ``&amp;``."""
    return _cut(value(text), limit)


def author(text: str, values: tuple[str, ...] = ()) -> str:
    """The flow author's mrkdwn (a description): escaped, the author's own ``*bold*`` kept, and
    every input value rendered into it (``values``) shown as typed, as ``value()`` shows it."""
    escaped = escape(text)
    for shown in sorted({escape(v) for v in values if _MARKERS.search(v)}, key=len, reverse=True):
        if _MARKERS.fullmatch(shown) is None:  # a lone "*" is no value to find in the text
            escaped = escaped.replace(shown, _unformat(shown))
    return escaped


def author_truncated(text: str, values: tuple[str, ...], limit: int) -> str:
    return _cut(author(text, values), limit)


def input_strings(inputs: Any) -> tuple[str, ...]:
    """The text forms of an execution's input values (items of lists too), for ``author()``."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)
        elif isinstance(node, str) and node:
            found.append(node)

    walk(inputs or {})
    return tuple(found)


def truncate(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def escape_truncated(text: str, limit: int) -> str:
    """Escaped mrkdwn of at most ``limit`` characters that never ends inside ``&amp;``."""
    return _cut(escape(text), limit)


def _cut(escaped: str, limit: int) -> str:
    if len(escaped) <= limit:
        return escaped
    cut = _PARTIAL_ENTITY.sub("", escaped[: max(0, limit - 1)])
    return cut + ELLIPSIS


def fit(mrkdwn: str, limit: int) -> str:
    """Trims already-built mrkdwn (our own markup around escaped text) to ``limit``."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    cut = mrkdwn[: max(0, limit - 1)]
    # Never leave half a link, mention or date token, nor half an entity.
    opening = cut.rfind("<")
    if opening > cut.rfind(">"):
        cut = cut[:opening]
    return _PARTIAL_ENTITY.sub("", cut) + ELLIPSIS


def is_user_id(value: str) -> bool:
    return bool(_USER_ID.match(value))


def is_group_id(value: str) -> bool:
    return bool(_GROUP_ID.match(value))


def actor(by: dict[str, Any] | None, via: str | None) -> str:
    """Who decided, as mrkdwn: a real mention for a Slack user, else the escaped name."""
    if not by:
        return "the timer" if via == "timer" else "someone"
    user_id = str(by.get("id") or "")
    if via == "slack" and is_user_id(user_id):
        return f"<@{user_id}>"
    return value(str(by.get("name") or user_id or "someone"))


def actor_plain(by: dict[str, Any] | None, via: str | None) -> str:
    if not by:
        return "the timer" if via == "timer" else "someone"
    return str(by.get("name") or by.get("id") or "someone")


def assignee(entry: str) -> str:
    """One ``assignment`` entry as mrkdwn: mentions for ids, escaped text for the rest."""
    if is_user_id(entry):
        return f"<@{entry}>"
    if is_group_id(entry):
        return f"<!subteam^{entry}>"
    return value(entry)


def when(moment: str | datetime | None) -> str:
    """A date Slack renders in the reader's time zone, with a UTC fallback."""
    parsed = _parse(moment)
    if parsed is None:
        return "at an unknown time"
    epoch = int(parsed.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{plain_when(parsed)}>"


def date_token(value: Any, *, with_time: bool) -> str | None:
    """A DATE or DATETIME input value as a ``<!date^…>`` token (None when it is no date)."""
    from datetime import date

    moment: datetime | None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, 12, tzinfo=UTC)
    else:
        text = str(value).strip()
        if not with_time and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            text += "T12:00:00Z"  # noon UTC: the same calendar day in almost every time zone
        moment = _parse(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    epoch = int(moment.timestamp())
    if with_time:
        return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{plain_when(moment)}>"
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d")
    return f"<!date^{epoch}^{{date_short_pretty}}|{fallback}>"


def ago(moment: str | datetime | None) -> str:
    """ "3 hours ago", rendered by Slack (so it never goes stale), with a UTC fallback."""
    parsed = _parse(moment)
    if parsed is None:
        return "at an unknown time"
    return f"<!date^{int(parsed.timestamp())}^{{ago}}|{plain_when(parsed)}>"


def plain_when(moment: str | datetime | None) -> str:
    parsed = _parse(moment)
    if parsed is None:
        return "an unknown time"
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _parse(moment: str | datetime | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment
    try:
        return parse_iso(moment)
    except (ValueError, TypeError):
        return None
