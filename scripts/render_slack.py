"""Renders the Slack bot's Block Kit payloads to PNG pictures for docs/slack.md.

    .venv/bin/python scripts/render_slack.py [--out docs/images] [--chromium /usr/bin/chromium]

It runs real flows (the examples and two test flows) on a throwaway SQLite database with a fixed
clock, builds the very payloads the bot sends (``bot.slack.messages``, ``bot.slack.modals``),
turns each into a small HTML page that looks like Slack (a simplified rendering: mrkdwn, the
block types pausebot uses, buttons, modal frames), and screenshots it in headless Chromium. The
pictures are for reading, not for pixel-comparison: Slack's own rendering differs in details.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.slack.messages import pause_message
from bot.slack.modals import decision_modal, form_for, full_request_view
from bot.slack.pauses import Pause, pause_of
from bot.slack.summary import summarize
from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution

NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
PEOPLE = {"U0ADA12345": "Ada", "U0BOB12345": "Bob", "U0CY123456": "Cy"}
ADA = {"id": "U0ADA12345", "name": "Ada"}
BOB = {"id": "U0BOB12345", "name": "Bob"}
# Slack shows emoji images; the machine rendering these has no emoji font, so each is drawn
# with a symbol DejaVu Sans has, in Slack's colours.
EMOJI = {
    "white_check_mark": '<span style="color:#2eb67d">✔</span>',
    "no_entry_sign": '<span style="color:#e01e5a">⊘</span>',
    "no_entry": '<span style="color:#e01e5a">⊖</span>',
    "leftwards_arrow_with_hook": '<span style="color:#1264a3">↩</span>',
    "hourglass": '<span style="color:#ecb22e">◷</span>',
    "fast_forward": '<span style="color:#1264a3">»</span>',
    "grey_question": '<span style="color:#616061">?</span>',
    "large_green_circle": '<span style="color:#2eb67d">●</span>',
    "large_yellow_circle": '<span style="color:#ecb22e">●</span>',
    "red_circle": '<span style="color:#e01e5a">●</span>',
    "tada": "🎉",
}

CSS = """
body { margin: 0; background: #fff; font: 15px/1.46668 -apple-system, 'Segoe UI', 'Noto Sans',
  'DejaVu Sans', sans-serif; color: #1d1c1d; }
.msg { display: flex; padding: 12px 20px; gap: 10px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff;
  font-weight: 700; display: flex; align-items: center; justify-content: center; flex: none; }
.who { font-weight: 900; } .app { font-size: 10px; background: #ddd; border-radius: 2px;
  padding: 0 3px; margin-left: 4px; color: #555; } .time { color: #616061; font-size: 12px; }
.body { min-width: 0; flex: 1; }
.header { font-size: 18px; font-weight: 900; margin: 4px 0; }
.section { margin: 4px 0; display: flex; gap: 12px; align-items: flex-start; }
.section .text { flex: 1; white-space: pre-wrap; overflow-wrap: anywhere; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 4px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.context { color: #616061; font-size: 13px; margin: 6px 0; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.btn { border: 1px solid #bbb; border-radius: 4px; padding: 3px 12px; font-weight: 700;
  font-size: 14px; background: #fff; white-space: nowrap; }
.btn.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.btn.danger { background: #fff; color: #e01e5a; border-color: #e01e5a; }
.divider { border-top: 1px solid #ddd; margin: 10px 0; }
code { font: 12px monospace; color: #e01e5a; background: #f6f6f6; border: 1px solid #ddd;
  border-radius: 3px; padding: 0 2px; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
a { color: #1264a3; text-decoration: none; }
blockquote { margin: 2px 0; padding-left: 10px; border-left: 4px solid #ddd; }
.modal { margin: 16px; border-radius: 8px; box-shadow: 0 0 0 1px #ddd, 0 4px 12px #0002; }
.modal .title { display: flex; justify-content: space-between; font-size: 20px; font-weight: 900;
  padding: 16px 20px; border-bottom: 1px solid #ddd; }
.modal .content { padding: 12px 20px; }
.modal .foot { display: flex; justify-content: flex-end; gap: 8px; padding: 14px 20px;
  border-top: 1px solid #ddd; }
.input { margin: 12px 0; } .input .label { font-weight: 700; margin-bottom: 4px; }
.input .optional { color: #616061; font-weight: 400; }
.control { border: 1px solid #bbb; border-radius: 4px; padding: 8px; min-height: 20px;
  color: #1d1c1d; } .control.area { min-height: 60px; }
.hint { color: #616061; font-size: 13px; margin-top: 4px; }
.radio div::before { content: '◯ '; } .radio div.on::before { content: '◉ '; }
.collapsed { max-height: 110px; overflow: hidden; position: relative; }
.collapsed::after { content: 'See more'; position: absolute; right: 0; bottom: 0;
  background: #fff; color: #1264a3; padding-left: 8px; }
"""


# -- mrkdwn to HTML -------------------------------------------------------------------------------


def _date(epoch: int, fmt: str) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if "{ago}" in fmt:
        delta = NOW + timedelta(hours=2) - moment
        hours = int(delta.total_seconds() // 3600)
        return f"{hours} hours ago" if hours > 1 else "an hour ago"
    day = moment.strftime("%b ") + str(moment.day)
    return fmt.replace("{date_short_pretty}", day).replace("{time}", moment.strftime("%H:%M"))


def _entity(match: re.Match[str]) -> str:
    inner = match.group(1)
    if inner.startswith("@"):
        return f'<span class="mention">@{PEOPLE.get(inner[1:], inner[1:])}</span>'
    if inner.startswith("!subteam^"):
        return f'<span class="mention">@{inner.split("^", 1)[1].split("|")[0]}</span>'
    if inner.startswith("!date^"):
        _, epoch, rest = inner.split("^", 2)
        return _date(int(epoch), rest.split("|", 1)[0])
    url, _, label = inner.partition("|")
    return f'<a href="{url}">{label or url}</a>'


def mrkdwn(text: str) -> str:
    """Slack-escaped mrkdwn (its &amp; &lt; &gt; are HTML entities already) to HTML."""
    out = re.sub(r"<([^<>]+)>", _entity, text)
    out = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", out)
    out = re.sub(r"(?<![\w~])~([^~\n]+)~(?![\w~])", r"<s>\1</s>", out)
    out = re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    lines = [
        f"<blockquote>{line[1:]}</blockquote>" if line.startswith(">") else line
        for line in out.split("\n")
    ]
    return "\n".join(lines).replace("</blockquote>\n", "</blockquote>")


def _text(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(obj["text"])
    return html.escape(obj["text"])


# -- blocks to HTML ---------------------------------------------------------------------------------


def _button(element: dict[str, Any]) -> str:
    style = element.get("style", "")
    return f'<span class="btn {style}">{_text(element["text"])}</span>'


def _control(element: dict[str, Any]) -> str:
    kind = element["type"]
    if kind == "radio_buttons":
        chosen = (element.get("initial_option") or {}).get("value")
        rows = "".join(
            f'<div class="{"on" if o["value"] == chosen else ""}">{_text(o["text"])}</div>'
            for o in element["options"]
        )
        return f'<div class="radio">{rows}</div>'
    if kind in ("static_select", "multi_static_select"):
        chosen = element.get("initial_option") or (element.get("initial_options") or [None])[0]
        label = _text(chosen["text"]) if chosen else "Select an option"
        return f'<div class="control">{label} ▾</div>'
    if kind == "checkboxes":
        ticked = "☑" if element.get("initial_options") else "☐"
        return f"<div>{ticked} {_text(element['options'][0]['text'])}</div>"
    if kind in ("datepicker", "timepicker", "datetimepicker"):
        value = element.get("initial_date") or element.get("initial_time") or "Select"
        return f'<div class="control">📅 {html.escape(str(value))}</div>'
    value = html.escape(str(element.get("initial_value") or ""))
    area = " area" if element.get("multiline") else ""
    return f'<div class="control{area}">{value}</div>'


def blocks_html(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            parts.append(f'<div class="header">{_text(block["text"])}</div>')
        elif kind == "section":
            inner = f'<div class="text">{_text(block.get("text"))}'
            if block.get("fields"):
                fields = "".join(f"<div>{_text(f)}</div>" for f in block["fields"])
                inner += f'<div class="fields">{fields}</div>'
            inner += "</div>"
            if block.get("accessory", {}).get("type") == "button":
                inner += _button(block["accessory"])
            collapsed = (
                " collapsed" if str(block.get("block_id", "")).startswith("pausebot:full:") else ""
            )
            parts.append(f'<div class="section{collapsed}">{inner}</div>')
        elif kind == "context":
            parts.append(
                '<div class="context">' + " ".join(_text(e) for e in block["elements"]) + "</div>"
            )
        elif kind == "actions":
            parts.append(
                '<div class="actions">'
                + "".join(_button(e) for e in block["elements"] if e["type"] == "button")
                + "</div>"
            )
        elif kind == "divider":
            parts.append('<div class="divider"></div>')
        elif kind == "input":
            optional = ' <span class="optional">(optional)</span>' if block.get("optional") else ""
            hint = f'<div class="hint">{_text(block["hint"])}</div>' if block.get("hint") else ""
            parts.append(
                f'<div class="input"><div class="label">{_text(block["label"])}{optional}</div>'
                f"{_control(block['element'])}{hint}</div>"
            )
    return "\n".join(parts)


def message_page(blocks: list[dict[str, Any]]) -> str:
    return (
        f"<style>{CSS}</style><div class='msg'><div class='avatar'>pb</div><div class='body'>"
        "<span class='who'>pausebot</span><span class='app'>APP</span> "
        f"<span class='time'>14:00</span>{blocks_html(blocks)}</div></div>"
    )


def modal_page(view: dict[str, Any]) -> str:
    foot = f"<span class='btn'>{_text(view['close'])}</span>" if view.get("close") else ""
    if view.get("submit"):
        foot += f"<span class='btn primary'>{_text(view['submit'])}</span>"
    return (
        f"<style>{CSS}</style><div class='modal'><div class='title'>{_text(view['title'])}"
        f"<span>✕</span></div><div class='content'>{blocks_html(view['blocks'])}</div>"
        f"<div class='foot'>{foot}</div></div>"
    )


# -- the scenes ----------------------------------------------------------------------------------------


class Scenes:
    def __init__(self, engine: Engine, clock: ManualClock) -> None:
        self.engine, self.clock = engine, clock

    def start(self, source: str, **kwargs: Any) -> Execution:
        deployed = self.engine.deploy_flow(source)
        execution = self.engine.start_execution(
            deployed.flow.namespace, deployed.flow.id, via="api", **kwargs
        )
        return self.engine.run_until_blocked(execution.id)

    def pause(self, execution: Execution, task_id: str | None = None) -> Pause:
        execution = self.engine.get_execution(execution.id)
        run = next(
            r
            for r in execution.taskRunList
            if task_id is None or r.taskId == task_id
            if "resumed" in r.outputs or r.state.current.value == "PAUSED"
        )
        return pause_of(self.engine, execution, run.id)


def scenes(out: Path) -> list[tuple[str, str, int]]:
    """(file name, HTML page, viewport width) of every picture."""
    clock = ManualClock(NOW)
    directory = Path(tempfile.mkdtemp(prefix="pausebot-render-"))
    engine = Engine(f"sqlite:///{directory / 'render.db'}", clock=clock)
    s = Scenes(engine, clock)
    pages: list[tuple[str, str, int]] = []

    def message(name: str, pause: Pause, width: int = 640) -> None:
        pages.append((name, message_page(pause_message(pause).blocks), width))

    def modal(name: str, pause: Pause, option_key: str) -> None:
        summary = summarize(pause)
        option = summary.option(option_key)
        assert option is not None, option_key
        pages.append(
            (name, modal_page(decision_modal(pause, summary, option, form_for(pause, option))), 520)
        )

    examples = ROOT / "examples"
    flows = ROOT / "tests" / "bot" / "slack" / "flows"
    deploy = s.start((examples / "deploy_approval.yml").read_text(), by=ADA)
    message("message-deploy.png", s.pause(deploy))
    message("message-deploy-phone.png", s.pause(deploy), 390)
    modal("modal-deploy-approve.png", s.pause(deploy), "approve")
    modal("modal-deploy-reject.png", s.pause(deploy), "reject")
    expense = s.start((examples / "expense_approval.yml").read_text(), by=BOB)
    message("message-expense.png", s.pause(expense, "review"))
    modal("modal-expense-changes.png", s.pause(expense, "review"), "v2")
    long = s.start((flows / "long_request.yml").read_text(), by=ADA)
    message("message-long-phone.png", s.pause(long), 390)
    modal("modal-long-approve.png", s.pause(long), "approve")
    pages.append(
        ("modal-full-request.png", modal_page(full_request_view(summarize(s.pause(long)))), 520)
    )
    approval = s.start((flows / "approval.yml").read_text(), by=ADA)
    message("message-approval.png", s.pause(approval))
    modal("modal-approval-deny.png", s.pause(approval), "deny")

    # Outcomes.
    run = s.pause(expense, "review").run
    engine.resume_execution(
        expense.id,
        {"decision": "changes", "note": "Please attach the receipt."},
        by=ADA,
        via="slack",
        task_run_id=run.id,
    )
    message("outcome-changes-requested.png", s.pause(expense, "review"))
    engine.resume_execution(
        deploy.id,
        {"approved": True, "window": "tonight", "comment": "Watch the error rate."},
        by=BOB,
        via="slack",
    )
    engine.run_until_blocked(deploy.id)
    message("outcome-approved.png", s.pause(deploy))
    timed = s.start((flows / "timer.yml").read_text(), by=ADA)
    clock.advance(timedelta(minutes=2))
    engine.run_until_blocked(timed.id)
    message("outcome-timed-out.png", s.pause(timed))
    run = s.pause(approval).run
    engine.decide_waiting(
        approval.id, run.id, "deny", comment="Store review pending.", by=BOB, via="ui"
    )
    engine.run_until_blocked(approval.id)
    message("outcome-approval-denied.png", s.pause(approval))
    engine.close()
    return pages


def render(out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            for name, page_html, width in scenes(out):
                page = browser.new_page(viewport={"width": width, "height": 200})
                page.set_content(f"<!doctype html><meta charset=utf-8>{page_html}")
                target = out / name
                page.screenshot(path=str(target), full_page=True)
                page.close()
                written.append(target)
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--html", action="store_true", help="write the HTML pages instead")
    args = parser.parse_args(argv)
    if args.html:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, page_html, _ in scenes(args.out):
            (args.out / name.replace(".png", ".html")).write_text(page_html)
        return 0
    for path in render(args.out, args.chromium):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
