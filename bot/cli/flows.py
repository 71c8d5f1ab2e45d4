"""`pausebot flows validate|deploy|list`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from bot.cli.base import (
    EXIT_USAGE,
    _count,
    _errors,
    _read,
    _State,
    cli,
    pass_state,
)
from engine.errors import FlowValidationError

# -- flows -------------------------------------------------------------------------------


@cli.group()
def flows() -> None:
    """Validate, deploy and list flows."""


@flows.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def flows_validate(files: tuple[str, ...]) -> None:
    """Check flow files without deploying them."""
    from engine.flows import parse_flow

    bad = 0
    for path in files:
        try:
            flow = parse_flow(_read(path), path)
        except FlowValidationError as error:
            bad += 1
            click.echo(str(error), err=True)
            continue
        click.echo(
            f"{path}: ok ({flow.namespace}.{flow.id}, {_count(sum(1 for _ in flow.all_tasks()), 'task')})"
        )
        _echo_warnings(path, flow.warnings)
    if bad:
        sys.exit(EXIT_USAGE)


@flows.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@pass_state
def flows_deploy(state: _State, files: tuple[str, ...]) -> None:
    """Create or update flows (a changed flow gets a new revision)."""
    with _errors():
        for path in files:
            deployed = state.engine.deploy_flow(_read(path), path)
            what = "deployed" if deployed.created else "unchanged"
            click.echo(
                f"{deployed.flow.namespace}.{deployed.flow.id}: revision {deployed.revision} ({what})"
            )
            _echo_warnings(path, deployed.flow.warnings)


def _echo_warnings(path: str, warnings: list[Any]) -> None:
    """Properties accepted but not enforced, one line each on stderr (they do not fail)."""
    for warning in warnings:
        click.echo(f"{path}: warning: {warning}", err=True)


@flows.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def flows_list(state: _State, as_json: bool) -> None:
    """List deployed flows."""
    with _errors():
        deployed = state.reader.list_flows()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"namespace": d.flow.namespace, "id": d.flow.id, "revision": d.revision}
                    for d in deployed
                ],
                indent=2,
            )
        )
        return
    if not deployed:
        click.echo("no flows deployed")
    for d in deployed:
        click.echo(f"{d.flow.namespace}.{d.flow.id}  revision {d.revision}")
