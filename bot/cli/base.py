"""What every `pausebot` command shares: the group and its --database option, the state that
opens the engine (migrating or read-only), the exit codes, and errors as one line on stderr."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from engine.errors import (
    ConflictError,
    FlowValidationError,
    InputValidationError,
    NotFoundError,
    PausebotError,
    SchemaError,
)

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 1, 2, 3, 4
EXIT_EXECUTION_FAILED, EXIT_DATABASE = 5, 6


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turns every expected failure into one message on stderr; never a traceback."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    try:
        yield
    except FlowValidationError as error:
        _fail(str(error), EXIT_USAGE)
    except InputValidationError as error:
        lines = "\n".join(f"  - {e.field}: {e.message}" for e in error.errors)
        _fail(f"invalid input values:\n{lines}", EXIT_USAGE)
    except NotFoundError as error:
        _fail(str(error), EXIT_NOT_FOUND)
    except ConflictError as error:
        _fail(str(error), EXIT_CONFLICT)
    except SchemaError as error:
        _fail(str(error), EXIT_DATABASE)
    except PausebotError as error:
        _fail(str(error))
    except OperationalError as error:
        _fail(f"cannot use the database: {error.orig}", EXIT_DATABASE)
    except SQLAlchemyError as error:
        _fail(f"database error: {error}")


def _actor() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "cli"
    return {"id": user, "name": user}


class _State:
    def __init__(self, database: str | None, database_from: str = "PAUSEBOT_DATABASE_URL") -> None:
        self.database = database
        self.database_from = database_from  # where the URL came from, for error messages
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        """The engine for commands that change state: creates and migrates the schema."""
        return self._open(migrate=True)

    @property
    def reader(self) -> Any:
        """The engine for read-only commands: never writes the schema; a database that is
        missing, empty, foreign or at another revision is an error (exit 6)."""
        return self._open(migrate=False)

    def _open(self, *, migrate: bool) -> Any:
        if self._engine is None:
            from bot.config import database_url_problem, public_url_default
            from engine.engine import Engine
            from engine.executor import Settings

            settings = Settings(public_url=public_url_default())
            url = self.url
            problem = database_url_problem(url, self.database_from)
            if problem is not None:
                _fail(problem, EXIT_USAGE)
            with _errors():
                self._engine = Engine(url, settings=settings, migrate=migrate)
        return self._engine

    @property
    def url(self) -> str:
        from engine.engine import default_database_url

        return self.database or default_database_url()


pass_state = click.make_pass_decorator(_State)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        _fail(f"cannot read {path}: {error.strerror}", EXIT_USAGE)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _parse_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"-i expects key=value, got {pair!r}", EXIT_USAGE)
        values[key.strip()] = value
    return values


def _flow_definition(state: Any, ref: str) -> Any:
    """The flow FLOW names (a YAML file, or NAMESPACE.ID deployed), without deploying it."""
    if Path(ref).is_file() or ref.endswith((".yml", ".yaml")):
        from engine.flows import parse_flow

        return parse_flow(_read(ref), ref)
    namespace, dot, flow_id = ref.rpartition(".")
    if not dot or not namespace:
        _fail(f"{ref!r} is neither a flow file nor NAMESPACE.FLOW_ID", EXIT_USAGE)
    return state.engine.get_flow(namespace, flow_id).flow


def _read_file_inputs(definitions: Any, values: dict[str, Any]) -> None:
    """FILE inputs are given as paths (``-i doc=@plan.txt`` or ``-i doc=plan.txt``): read them
    here, so a missing or unreadable file is an error naming the input, before anything starts."""
    from engine.errors import FieldError
    from engine.inputs import InputType
    from engine.storage import SCHEME, UploadedFile

    problems: list[FieldError] = []
    for definition in definitions:
        value = values.get(definition.id)
        if definition.type != InputType.FILE or not isinstance(value, str):
            continue
        if value.startswith(SCHEME):
            continue
        path = Path(value.removeprefix("@")).expanduser()
        try:
            values[definition.id] = UploadedFile(path.name, path.read_bytes())
        except OSError as error:
            problems.append(
                FieldError(definition.id, f"cannot read the file {str(path)!r}: {error.strerror}")
            )
    if problems:
        raise InputValidationError(problems)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    envvar="PAUSEBOT_DATABASE_URL",
    metavar="URL",
    help="Database URL (default: a SQLite file in the user data directory).",
)
@click.version_option(package_name="pausebot")
@click.pass_context
def cli(ctx: click.Context, database: str | None) -> None:
    """pausebot: human approvals inside automated workflows."""
    source = ctx.get_parameter_source("database")
    ctx.obj = _State(
        database,
        "--database"
        if source == click.core.ParameterSource.COMMANDLINE
        else "PAUSEBOT_DATABASE_URL",
    )
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    import bot.cli  # noqa: F401 - registers every command on the group

    cli(prog_name="pausebot")
