"""`netmon history`: the pair history the daemon kept (state changes, failovers)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from netmon.cli.common import (
    EXIT_CONFIG,
    cli_state,
    config_failure,
    err,
    out,
    pair_or_exit,
    setup_logging,
)
from netmon.errors import ConfigError
from netmon.statedb import StateError


def history(
    pair: Annotated[str | None, typer.Argument(help="The pair; every pair when left out.")] = None,
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Inventory (for its journal folder).")
    ] = None,
    journal: Annotated[
        Path | None, typer.Option("--journal", help="Drill journal; the history is beside it.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="The latest N events.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """State changes and failovers the daemon saw, kept across restarts (oldest first)."""

    from netmon.drills.journal import journal_path
    from netmon.history import history_path, merge_replicas, open_history
    from netmon.inventory import load_inventory

    setup_logging("error")
    configured = ""
    state = cli_state(None)
    if inventory is not None:
        try:
            inv = load_inventory(inventory)
        except ConfigError as exc:
            raise config_failure(exc) from None
        if pair is not None:
            pair_or_exit(inv, pair)
        configured = inv.drill_journal
        state = cli_state(inv)
    path = history_path(journal_path(configured, journal))
    if not state.shared and not path.exists():
        err.print(f"no pair history at {path} (the daemon writes it)", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    try:
        store = open_history(path, state)
        try:
            # Each replica writes what it saw: one change seen by three replicas is one row.
            events = merge_replicas(store.events(pair, limit * 4))[-limit:]
        finally:
            store.close()
    except StateError as exc:
        err.print(f"cannot read the pair history: {exc}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        rows = [
            {"pair": e.pair, "at": e.at, "event": e.event, "old": e.old, "new": e.new,
             "reasons": list(e.reasons), "active": list(e.active),
             "seen_by": list(seen)}
            for e, seen in events
        ]  # fmt: skip
        out.print_json(json.dumps({"events": rows}))
        return
    table = Table(title=f"history of {pair}" if pair else "pair history")
    for column in ("AT (UTC)", "PAIR", "EVENT", "FROM", "TO", "WHY", "SEEN BY"):
        table.add_column(column)
    for e, seen in events:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at))
        cells = (at, e.pair, e.event, e.old or "-", e.new, "; ".join(e.reasons) or "-",
                 ", ".join(seen) or "-")  # fmt: skip
        table.add_row(*(Text(cell) for cell in cells))  # Text: a reason is never markup
    out.print(table)
