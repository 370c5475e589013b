"""What every command shares: exit codes, consoles, common options, logging, config errors."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from netmon.errors import ConfigError
from netmon.model import Inventory, PairState, Secret
from netmon.statedb import StateConfig

EXIT_OK, EXIT_UNHEALTHY, EXIT_CONFIG = 0, 1, 2
DEFAULT_LISTEN = "127.0.0.1:9580"
DEMO_COMMUNITY_ENV = "NETMON_DEMO_COMMUNITY"

# Piped output (logs, CI, `| less`) gets wide tables instead of rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
# soft_wrap: an error line stays one line (file:line: ...) whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)

InventoryOpt = Annotated[Path, typer.Option("--inventory", "-i", help="Inventory YAML file.")]
ListenOpt = Annotated[str, typer.Option("--listen", help="HOST:PORT for /metrics and /api.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # APScheduler logs every job run at INFO: one line per pair per interval is noise.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # paramiko logs every connection at INFO and a traceback for each failed banner read; the SSH
    # collector reports each failure itself, with a reason.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    logging.getLogger("netmiko").setLevel(logging.WARNING)


def config_failure(exc: ConfigError) -> typer.Exit:
    for problem in exc.problems:
        err.print(str(problem), markup=False, highlight=False)
    err.print(f"{len(exc.problems)} problem(s) found", style="red")
    return typer.Exit(EXIT_CONFIG)


def exit_for(pairs: list[dict[str, Any]]) -> int:
    return EXIT_OK if all(p["state"] == PairState.HEALTHY.value for p in pairs) else EXIT_UNHEALTHY


def pair_or_exit(inv: Any, pair: str) -> Any:
    spec = inv.pair(pair)
    if spec is None:
        err.print(f"no pair {pair!r} (pairs: {', '.join(p.name for p in inv.pairs)})", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    return spec


# A DSN carries a password: read from the environment, never argv (any user can read argv).
StateDsnOpt = Annotated[
    str | None,
    typer.Option(
        "--state-dsn",
        envvar="NETMON_STATE_DSN",
        show_default=False,
        hidden=False,
        help="PostgreSQL DSN of the replicas' shared journal, history and drill leases; set "
        "NETMON_STATE_DSN rather than this option (argv is visible to every user). "
        "Default: the inventory's state.dsn, else SQLite files.",
    ),
]


def cli_state(inv: Inventory | None) -> StateConfig:
    """The shared state a CLI command uses: NETMON_STATE_DSN, else the inventory's state.dsn
    (when an inventory was given), else SQLite files (StateConfig without a DSN)."""
    dsn = os.environ.get("NETMON_STATE_DSN")
    if dsn:
        return StateConfig(Secret("env:NETMON_STATE_DSN", dsn))
    return StateConfig(inv.state_dsn if inv is not None else None)
