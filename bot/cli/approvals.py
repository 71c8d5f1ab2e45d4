"""``pausebot approvals ...``: ask a running pausebot service for an approval from a shell script
or a CI job, and gate on the answer (through its HTTP API, with ``bot.client``)::

    pausebot approvals request --title "Deploy billing 2.4?" \\
        --input window:SELECT(now|tonight)=now --timeout PT1H --wait && ./deploy.sh

Exit status with ``--wait`` (README, "Exit codes"): 0 approved, 7 denied, 8 expired,
9 cancelled, 10 still pending when ``--wait-timeout`` ran out; and as every command: 1 refused
(unreachable service, 401/403), 2 invalid request (422), 3 unknown id, 4 state conflict (409).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from bot.client import Approval, ApprovalError, PausebotClient, parse_input_option
from engine.inputs import parse_duration

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 1, 2, 3, 4
EXIT_DENIED, EXIT_EXPIRED, EXIT_CANCELLED, EXIT_PENDING = 7, 8, 9, 10
EXIT_FOR_STATE = {
    "APPROVED": 0,
    "DENIED": EXIT_DENIED,
    "EXPIRED": EXIT_EXPIRED,
    "CANCELLED": EXIT_CANCELLED,
    "PENDING": EXIT_PENDING,
}


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except ApprovalError as error:
        code = {422: EXIT_USAGE, 400: EXIT_USAGE, 404: EXIT_NOT_FOUND, 409: EXIT_CONFLICT}
        details = "".join(f"\n  - {e.get('path')}: {e.get('message')}" for e in error.errors)
        _fail(f"{error}{details}", code.get(error.status, EXIT_FAILED))


def _client(url: str | None, token: str | None) -> PausebotClient:
    return PausebotClient(url, token, retries=2)


def _show(approval: Approval, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(approval.raw, indent=2, ensure_ascii=False))
        return
    line = approval.state
    if approval.by:
        line += f" by {approval.by}"
    if approval.on:
        line += f" on {approval.on}"
    click.echo(f"{line}: {approval.title}")
    if approval.comment:
        click.echo(f"comment: {approval.comment}")
    for key, value in approval.inputs.items():
        click.echo(f"{key}={json.dumps(value, ensure_ascii=False)}")


def _exit_for(approval: Approval) -> NoReturn:
    sys.exit(EXIT_FOR_STATE.get(approval.state, EXIT_FAILED))


def _seconds(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text).total_seconds()
    except ValueError:
        _fail(f"{name} must be an ISO-8601 duration such as PT10M, got {text!r}", EXIT_USAGE)


_service_options = [
    click.option(
        "--url",
        envvar="PAUSEBOT_URL",
        metavar="URL",
        help="The pausebot service (default: $PAUSEBOT_URL, else http://127.0.0.1:8080).",
    ),
    click.option(
        "--token",
        envvar="PAUSEBOT_API_TOKEN",
        metavar="TOKEN",
        help="An API token with the approvals scope (default: $PAUSEBOT_API_TOKEN).",
    ),
]


def service_options(function: Any) -> Any:
    for option in reversed(_service_options):
        function = option(function)
    return function


@click.group("approvals")
def approvals() -> None:
    """Approval requests on a running service: ask, wait, list, cancel."""


@approvals.command("request")
@click.option("--title", required=True, help="The question people see.")
@click.option("--description", help="More context, in Markdown.")
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="NAME:TYPE[=DEFAULT]",
    help="A typed field for the reviewer (repeatable); SELECT(a|b) lists its values.",
)
@click.option("--approve-label", help='The approve button (default "Approve").')
@click.option("--deny-label", help='The deny button (default "Deny").')
@click.option(
    "--comment-required",
    type=click.Choice(["NEVER", "ALWAYS", "ON_DENY", "ON_APPROVE"], case_sensitive=False),
)
@click.option("--user", "users", multiple=True, help="Only this person may decide (repeatable).")
@click.option("--group", "groups", multiple=True, help="Or someone of this group (repeatable).")
@click.option("--timeout", metavar="DURATION", help="Expires after this long, e.g. PT1H.")
@click.option(
    "--expire-behavior",
    type=click.Choice(
        ["CONTINUE", "WARN", "FAIL", "SUCCEED", "CANCEL", "KILL"], case_sensitive=False
    ),
)
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--channel", help="The Slack channel (default: the service's).")
@click.option("--idempotency-key", metavar="KEY", help="The same key never asks twice.")
@click.option("--callback-url", metavar="URL", help="POSTed the decision when it is made.")
@click.option("--wait", is_flag=True, help="Wait for the decision; the exit status follows it.")
@click.option("--wait-timeout", metavar="DURATION", help="Stop waiting after this long (exit 10).")
@click.option("--json", "as_json", is_flag=True, help="Print the request as the API's JSON.")
@service_options
def request(
    title: str,
    description: str | None,
    inputs: tuple[str, ...],
    approve_label: str | None,
    deny_label: str | None,
    comment_required: str | None,
    users: tuple[str, ...],
    groups: tuple[str, ...],
    timeout: str | None,
    expire_behavior: str | None,
    labels: tuple[str, ...],
    channel: str | None,
    idempotency_key: str | None,
    callback_url: str | None,
    wait: bool,
    wait_timeout: str | None,
    as_json: bool,
    url: str | None,
    token: str | None,
) -> None:
    """Ask for an approval. With --wait: exit 0 approved, 7 denied, 8 expired, 9 cancelled."""
    try:
        definitions = [parse_input_option(text) for text in inputs]
    except ValueError as error:
        _fail(str(error), EXIT_USAGE)
    label_map: dict[str, str] = {}
    for pair in labels:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            _fail(f"--label expects KEY=VALUE, got {pair!r}", EXIT_USAGE)
        label_map[key] = value
    decisions = {
        k: v for k, v in (("approve", approve_label), ("deny", deny_label)) if v is not None
    }
    if decisions and len(decisions) == 1:
        decisions = {"approve": "Approve", "deny": "Deny", **decisions}
    assignment = {"users": list(users), "groups": list(groups)} if users or groups else None
    limit = _seconds(wait_timeout, "--wait-timeout")
    with _refusals(), _client(url, token) as client:
        approval = client.request_approval(
            title,
            description=description,
            inputs=definitions,
            decisions=decisions or None,
            comment_required=comment_required.upper() if comment_required else None,
            assignment=assignment,
            timeout=timeout,
            expire_behavior=expire_behavior.upper() if expire_behavior else None,
            labels=label_map,
            slack_channel=channel,
            idempotency_key=idempotency_key,
            callback_url=callback_url,
        )
        if not wait:
            _show(approval, as_json)
            return
        click.echo(f"Waiting for a decision on {approval.id}: {approval.url}", err=True)
        approval = client.wait(approval, timeout=limit)
    _show(approval, as_json)
    _exit_for(approval)


@approvals.command("get")
@click.argument("approval_id")
@click.option("--wait", is_flag=True, help="Wait for the decision; the exit status follows it.")
@click.option("--wait-timeout", metavar="DURATION", help="Stop waiting after this long (exit 10).")
@click.option("--json", "as_json", is_flag=True)
@service_options
def get(
    approval_id: str,
    wait: bool,
    wait_timeout: str | None,
    as_json: bool,
    url: str | None,
    token: str | None,
) -> None:
    """Show a request. With --wait, the exit status follows the decision as for request."""
    limit = _seconds(wait_timeout, "--wait-timeout")
    with _refusals(), _client(url, token) as client:
        approval = (
            client.wait(approval_id, timeout=limit) if wait else client.get_approval(approval_id)
        )
    _show(approval, as_json)
    if wait:
        _exit_for(approval)


@approvals.command("list")
@click.option("--state", "states", multiple=True, help="PENDING, APPROVED, ... (repeatable).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE")
@click.option("--limit", default=25, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@service_options
def list_(
    states: tuple[str, ...],
    labels: tuple[str, ...],
    limit: int,
    as_json: bool,
    url: str | None,
    token: str | None,
) -> None:
    """List requests, newest first."""
    label_map = dict(pair.partition("=")[::2] for pair in labels)
    with _refusals(), _client(url, token) as client:
        found = client.list_approvals(state=list(states), labels=label_map, size=limit)
    if as_json:
        click.echo(json.dumps([a.raw for a in found], indent=2, ensure_ascii=False))
        return
    for approval in found:
        click.echo(f"{approval.id}  {approval.state:<9}  {approval.title}")


@approvals.command("cancel")
@click.argument("approval_id")
@click.option("--reason")
@click.option("--json", "as_json", is_flag=True)
@service_options
def cancel(
    approval_id: str, reason: str | None, as_json: bool, url: str | None, token: str | None
) -> None:
    """Withdraw a pending request."""
    with _refusals(), _client(url, token) as client:
        approval = client.cancel(approval_id, reason=reason)
    _show(approval, as_json)
