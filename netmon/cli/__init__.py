"""The `netmon` command. Exit codes: 0 ok, 1 a pair (or drill) not healthy, 2 usage or config error.

One module per command group; this one only assembles them. Each module imports its machinery
lazily, inside the command, so `netmon --help` and `netmon inventory validate` start fast.
"""

from __future__ import annotations

import typer

from netmon import __version__
from netmon.cli.check import check, pairs_table
from netmon.cli.common import (
    DEFAULT_LISTEN,
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_UNHEALTHY,
    out,
    setup_logging,
)
from netmon.cli.demo import demo
from netmon.cli.diff import diff
from netmon.cli.discover import discover
from netmon.cli.drill import _close_runner, _drill_context, drill_app
from netmon.cli.history import history
from netmon.cli.inventory import inventory_app
from netmon.cli.lab import lab_app
from netmon.cli.run import run
from netmon.cli.status import fetch_status, status

__all__ = [
    "DEFAULT_LISTEN",
    "EXIT_CONFIG",
    "EXIT_OK",
    "EXIT_UNHEALTHY",
    "_close_runner",
    "_drill_context",
    "app",
    "fetch_status",
    "main",
    "pairs_table",
    "setup_logging",
]

app = typer.Typer(
    name="netmon",
    help="Health monitor for duplexed network pairs: is the standby really ready?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print netmon's version."""
    out.print(__version__)


# The order here is the order `netmon --help` lists them.
for command in (check, run, status, diff, demo, history, discover):
    app.command()(command)
app.add_typer(inventory_app, name="inventory")
app.add_typer(lab_app, name="lab")
app.add_typer(drill_app, name="drill")


def main() -> None:
    app()
