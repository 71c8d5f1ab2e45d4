"""Connecting to the database: URL handling, SQLite pragmas, migrations on start-up."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL

from engine.errors import SchemaError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
WRITE_OPTION = "pausebot_write"


def writer(engine: Engine) -> Engine:
    """The engine to open write transactions with (``BEGIN IMMEDIATE`` on SQLite)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def default_database_url() -> str:
    """``PAUSEBOT_DATABASE_URL``, else a SQLite file in the user's data directory."""
    url = os.environ.get("PAUSEBOT_DATABASE_URL")
    if url:
        return url
    # No mkdir here: read-only commands must not write; opening the engine creates the directory.
    data_dir = Path(platformdirs.user_data_dir("pausebot"))
    return f"sqlite:///{data_dir / 'pausebot.db'}"


def normalise_url(url: str) -> URL:
    """Accept the URLs people write (``postgresql://``, ``postgres://``) and pick our drivers."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_database_engine(url: str) -> Engine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    # hide_parameters: bound values (inputs, possibly SECRET ones) never reach error messages.
    # No pool_pre_ping: it costs a round trip on every checkout. A connection found dead when
    # used raises once; SQLAlchemy then invalidates the whole pool, so the next checkout
    # reconnects (the runner retries, an HTTP client gets a 503 and tries again).
    return create_engine(parsed, pool_size=10, max_overflow=10, hide_parameters=True)


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        # Switching to WAL needs a lock; once the file is in WAL mode it stays so, and asking
        # again while another connection writes can fail with "database is locked".
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Writers take the write lock up front: a read-then-write transaction that upgrades
        # later fails with "database is locked" instead of waiting its turn. Readers don't
        # (WAL lets them read beside a writer).
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


OUR_TABLES = frozenset({"flows", "executions"})


def _revisions() -> tuple[str | None, set[str]]:
    """The head revision of our migrations and every revision we know."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return script.get_current_head(), {r.revision for r in script.walk_revisions()}


def _newer_or_foreign(revision: str, tables: set[str], where: str) -> SchemaError:
    head, _ = _revisions()
    if OUR_TABLES <= tables:
        return SchemaError(
            f"the database {where} was migrated by a newer pausebot (schema revision "
            f"{revision!r}; this pausebot knows up to {head!r}). Upgrade pausebot; "
            "it never downgrades a database."
        )
    return SchemaError(
        f"the database {where} is not a pausebot database (it has an Alembic revision "
        f"{revision!r} that is not pausebot's); point --database or PAUSEBOT_DATABASE_URL "
        "at pausebot's own database."
    )


def check_schema(url: str, where: str) -> None:
    """Raises ``SchemaError`` unless the database at ``url`` holds pausebot's schema at our head
    revision. Reads only: a missing SQLite file is not created, nothing is migrated."""
    from sqlalchemy import inspect, text

    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise SchemaError(f"the database {where} is empty (in memory)")
        if not Path(parsed.database).is_file():
            raise SchemaError(
                f"there is no pausebot database {where} yet: nothing has been deployed or run "
                "(`pausebot db upgrade` creates it, as does any command that changes state)."
            )
    engine = create_engine(parsed, hide_parameters=True)  # plain: none of our pragmas write
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = connection.execute(
                    text("SELECT version_num FROM alembic_version")
                ).scalar()
    finally:
        engine.dispose()
    head, known = _revisions()
    if not tables:
        raise SchemaError(
            f"the database {where} is empty: nothing has been deployed or run "
            "(`pausebot db upgrade` creates pausebot's tables, as does any command that changes state)."
        )
    if revision is None:
        raise SchemaError(
            f"the database {where} is not a pausebot database (it has tables but no pausebot "
            "schema revision); point --database or PAUSEBOT_DATABASE_URL at pausebot's own database."
        )
    if revision not in known:
        raise _newer_or_foreign(revision, tables, where)
    if revision != head:
        raise SchemaError(
            f"the database {where} has an older pausebot schema (revision {revision!r}, this "
            f"pausebot needs {head!r}): run `pausebot db upgrade`."
        )


def upgrade_schema(engine: Engine) -> None:
    """Apply Alembic migrations up to head (idempotent; safe for concurrent replicas on PG).
    A database at a revision we do not know (a newer pausebot's) is refused, never touched."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect, text

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with writer(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two replicas starting together must not both create the tables.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7462031)")
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" in tables:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if revision is not None and revision not in _revisions()[1]:
                where = "at " + engine.url.render_as_string(hide_password=True)
                raise _newer_or_foreign(revision, tables, where)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
