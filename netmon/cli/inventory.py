"""`netmon inventory ...`: inventory tools."""

from __future__ import annotations

from pathlib import Path

import typer

from netmon.cli.common import config_failure, out
from netmon.errors import ConfigError

inventory_app = typer.Typer(help="Inventory tools.", no_args_is_help=True)


@inventory_app.command("validate")
def inventory_validate(path: Path) -> None:
    """Check an inventory; print every problem as file:line: path: what is wrong (exit 2)."""
    from netmon.inventory import load_inventory

    try:
        inv = load_inventory(path)
    except ConfigError as exc:
        raise config_failure(exc) from None
    out.print(f"{path}: ok: {len(inv.devices)} devices, {len(inv.pairs)} pairs", markup=False)
