"""The ``pausebot`` command: flows, executions and the service, on the embedded default
(a SQLite file) or whatever ``PAUSEBOT_DATABASE_URL`` names.

Errors go to stderr as one readable message and a non-zero exit (the table is in README.md,
"Exit codes"): 1 refused, 2 bad usage or invalid input, 3 unknown id, 4 state conflict,
5 the execution ended FAILED, KILLED or CANCELLED, 6 the database cannot be used as it is;
``approvals request/get --wait``: 7 denied, 8 expired, 9 cancelled, 10 still pending.

Read-only commands open the database with ``migrate=False``: they never create or migrate it.
"""

from bot.cli import approvals, executions, flows, service  # noqa: F401 - register the commands
from bot.cli.base import cli, main

cli.add_command(approvals.approvals)

__all__ = ["cli", "main"]
