"""Slack mrkdwn (and the bits of Markdown people also type) as safe HTML.

A Pause ``description`` is written for Slack: ``*bold*``, ``_italic_``, ``~strike~``, ```code```,
fenced blocks, ``> quotes``, ``- lists``, ``<https://x|links>``, bare URLs, and often Markdown's
``**bold**`` and ``[text](url)``. The web UI shows it rendered, not as raw markup.

Safety: every piece of text goes through one escaper, ``markupsafe.escape`` (the one Jinja's
autoescape uses), and the only tags are the fixed ones written here. Links are kept only for
``http``, ``https`` and ``mailto`` URLs; anything else (``javascript:``, ``data:``) stays text.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_MAX_DEPTH = 4  # *_~nested~_* is fine; deeper nesting is shown as text

_INLINE = re.compile(
    r"""
    (?P<code>`(?P<code_text>[^`\n]+)`)
    |(?P<angle><(?P<target>[^<>|\n]+)(?:\|(?P<label>[^<>\n]+))?>)
    |(?P<md>\[(?P<md_text>[^\]\n]+)\]\((?P<md_url>[^()\s]+)\))
    |(?P<url>(?:https?://|mailto:)[^\s<>]*[^\s<>.,;:!?)\]'"*_~])
    |(?P<bold2>\*\*(?P<bold2_text>[^\n]+?)\*\*)
    |(?P<bold>(?<![\w*])\*(?P<bold_text>[^*\n]+?)\*(?![\w*]))
    |(?P<italic>(?<![\w_])_(?P<italic_text>[^_\n]+?)_(?![\w_]))
    |(?P<strike>(?<![\w~])~(?P<strike_text>[^~\n]+?)~(?![\w~]))
    """,
    re.VERBOSE,
)
_FENCE = re.compile(r"```\n?(.*?)```", re.DOTALL)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def render(text: str | None) -> Markup:
    """``text`` as HTML: paragraphs, line breaks, lists, quotes, code and links."""
    if not text:
        return Markup("")
    parts: list[Markup] = []
    position = 0
    for match in _FENCE.finditer(text):
        parts.append(_blocks(text[position : match.start()]))
        parts.append(Markup("<pre><code>{}</code></pre>").format(match.group(1).rstrip("\n")))
        position = match.end()
    parts.append(_blocks(text[position:]))
    return Markup("").join(part for part in parts if part)


def inline(text: str | None) -> Markup:
    """One line (a list cell): the inline markup only, line breaks as spaces."""
    return _inline(" ".join((text or "").split()), 0)


def plain(text: str | None) -> str:
    """The text without its markup, for titles and ``aria-label`` values (escaped later)."""
    return _plain(" ".join((text or "").split()), 0)


def _plain(text: str, depth: int) -> str:
    def piece(match: re.Match[str]) -> str:
        if depth >= _MAX_DEPTH:
            return match.group(0)
        for name in ("code_text", "md_text", "url"):
            if match.group(name) is not None:
                return (
                    match.group(name) if name != "md_text" else _plain(match.group(name), depth + 1)
                )
        if match.group("angle") is not None:
            label, target = match.group("label"), match.group("target")
            return label or (target[1:] if target[:1] in "@#!" else target)
        for name in ("bold2", "bold", "italic", "strike"):
            if match.group(name) is not None:
                return _plain(match.group(f"{name}_text"), depth + 1)
        return match.group(0)

    return _INLINE.sub(piece, text)


def _blocks(text: str) -> Markup:
    out: list[Markup] = []
    kind: str | None = None  # "p" | "ul" | "quote"
    lines: list[str] = []

    def flush() -> None:
        nonlocal kind, lines
        if kind == "ul":
            items = Markup("").join(
                Markup("<li>{}</li>").format(_inline(line, 0)) for line in lines
            )
            out.append(Markup("<ul>{}</ul>").format(items))
        elif kind == "quote":
            out.append(Markup("<blockquote>{}</blockquote>").format(_lines(lines)))
        elif kind == "p":
            out.append(Markup("<p>{}</p>").format(_lines(lines)))
        kind, lines = None, []

    for line in text.split("\n"):
        if not line.strip():
            flush()
            continue
        if line.startswith(("> ", "&gt; ")) or line == ">":
            this, content = "quote", line.split(" ", 1)[1] if " " in line else ""
        elif _BULLET.match(line) and not re.match(r"^\s*\*[^*\s][^*]*\*", line):
            this, content = "ul", _BULLET.sub("", line, count=1)
        else:
            this, content = "p", line
        if this != kind:
            flush()
            kind = this
        lines.append(content)
    flush()
    return Markup("").join(out)


def _lines(lines: list[str]) -> Markup:
    return Markup("<br>").join(_inline(line, 0) for line in lines)


def _inline(text: str, depth: int) -> Markup:
    if depth >= _MAX_DEPTH:
        return escape(text)
    out: list[Markup] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[position : match.start()]))
        out.append(_piece(match, depth))
        position = match.end()
    out.append(escape(text[position:]))
    return Markup("").join(out)


def _piece(match: re.Match[str], depth: int) -> Markup:
    group = match.lastgroup
    if match.group("code") is not None:
        return Markup("<code>{}</code>").format(match.group("code_text"))
    if match.group("angle") is not None:
        return _angle(match.group("target"), match.group("label"), match.group(0), depth)
    if match.group("md") is not None:
        return _link(match.group("md_url"), _inline(match.group("md_text"), depth + 1), match)
    if match.group("url") is not None:
        return _link(match.group("url"), escape(match.group("url")), match)
    for name, tag in (("bold2", "strong"), ("bold", "strong"), ("italic", "em"), ("strike", "s")):
        if match.group(name) is not None:
            inner = _inline(match.group(f"{name}_text"), depth + 1)
            return Markup(f"<{tag}>{{}}</{tag}>").format(inner)
    return escape(match.group(0)) if group else Markup("")


def _angle(target: str, label: str | None, whole: str, depth: int) -> Markup:
    """Slack's ``<url|text>``, ``<@U123>``, ``<#C123|name>``, ``<!here>``."""
    if target.startswith("@"):
        return Markup('<span class="mention">@{}</span>').format(label or target[1:])
    if target.startswith("#"):
        return Markup('<span class="mention">#{}</span>').format(label or target[1:])
    if target.startswith("!"):
        return Markup('<span class="mention">@{}</span>').format(label or target[1:].split("^")[0])
    text = _inline(label, depth + 1) if label else escape(target)
    if _safe_url(target):
        return Markup('<a href="{}" rel="noopener noreferrer nofollow">{}</a>').format(target, text)
    return escape(whole)


def _link(url: str, text: Markup, match: re.Match[str]) -> Markup:
    if _safe_url(url):
        return Markup('<a href="{}" rel="noopener noreferrer nofollow">{}</a>').format(url, text)
    return escape(match.group(0))


def _safe_url(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    if parts.scheme.lower() not in _SAFE_SCHEMES:
        return False
    return parts.scheme.lower() == "mailto" or bool(parts.netloc)


__all__ = ["inline", "plain", "render"]
