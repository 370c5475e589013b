"""`netmon diff`: compare the members' configurations of a pair."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

from netmon.cli.common import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_UNHEALTHY,
    InventoryOpt,
    config_failure,
    err,
    out,
    setup_logging,
)
from netmon.errors import ConfigError


def diff(pair: str, inventory: InventoryOpt, log_level: str = "error") -> None:
    """Compare the members' configurations of a pair now (exit 1 when they differ)."""
    from netmon.collectors.snmp import SnmpCollector
    from netmon.collectors.ssh import SshCollector
    from netmon.inventory import load_inventory
    from netmon.poller import Poller
    from netmon.store import StateStore

    setup_logging(log_level)
    try:
        inv = load_inventory(inventory)
    except ConfigError as exc:
        raise config_failure(exc) from None
    spec = inv.pair(pair)
    if spec is None:
        err.print(
            f"no pair {pair!r} in {inventory} (pairs: {', '.join(p.name for p in inv.pairs)})",
            markup=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    if spec.config is None:
        err.print(
            f"pair {pair!r} has no 'config:' block: nothing says how to fetch its configs",
            markup=False,
        )
        raise typer.Exit(EXIT_CONFIG)

    async def once() -> Any:
        snmp, ssh = SnmpCollector(), SshCollector(inv.ssh_sessions)
        try:
            return await Poller(inv, StateStore(inv), snmp, ssh=ssh).check_config(pair)
        finally:
            snmp.close()
            ssh.close()

    status = asyncio.run(once())
    if status is None or status.in_sync is None:
        why = status.reason if status is not None else "internal error (see the log)"
        err.print(f"{pair}: could not fetch the configs: {why}", markup=False)
        raise typer.Exit(EXIT_UNHEALTHY)
    if status.in_sync:
        out.print(
            f"{pair}: configs in sync ({spec.config.command!r}, rules {spec.config.rules})",
            markup=False,
        )
        raise typer.Exit(EXIT_OK)
    for line in status.diff:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_UNHEALTHY)
