"""`netmon run`: the daemon (also what `netmon demo` runs over its simulated network)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from netmon.cli.common import (
    DEFAULT_LISTEN,
    EXIT_CONFIG,
    EXIT_OK,
    InventoryOpt,
    ListenOpt,
    StateDsnOpt,
    err,
    setup_logging,
)
from netmon.errors import ConfigError

if TYPE_CHECKING:
    from netmon.pager import PagerTls


def run(
    inventory: InventoryOpt,
    listen: ListenOpt = DEFAULT_LISTEN,
    web_config: Annotated[
        Path | None,
        typer.Option(
            "--web-config",
            help="TLS and basic auth for /metrics and /api (exporter-toolkit web config file).",
        ),
    ] = None,
    log_level: str = "info",
    replica: Annotated[
        str | None,
        typer.Option(help="This replica's name (netmon_replica_info); default: the host name."),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(help="K/N: watch only the pairs of shard K of N (each shard by 2+ replicas)."),
    ] = None,
    state_dsn: StateDsnOpt = None,
    alertmanager: Annotated[
        list[str] | None,
        typer.Option(
            "--alertmanager",
            envvar="NETMON_ALERTMANAGER",
            help="URL of an Alertmanager to page directly (repeat for a cluster): split-brain "
            "and down, with the rules' labels, so it merges them with the rules' alerts. "
            "https://user:password@host:9093 sends basic auth: put such URLs in "
            "NETMON_ALERTMANAGER (space-separated), not argv; a bearer token comes from "
            "NETMON_ALERTMANAGER_TOKEN.",
        ),
    ] = None,
    alertmanager_ca: Annotated[
        Path | None,
        typer.Option(
            "--alertmanager-ca",
            help="CA file (PEM) to verify https Alertmanagers with (default: the system's CAs).",
        ),
    ] = None,
    alertmanager_cert: Annotated[
        Path | None,
        typer.Option(
            "--alertmanager-cert",
            help="Client certificate (PEM) for https Alertmanagers that ask for one.",
        ),
    ] = None,
    alertmanager_key: Annotated[
        Path | None,
        typer.Option(
            "--alertmanager-key",
            help="The client certificate's key (PEM), unless it is in --alertmanager-cert.",
        ),
    ] = None,
) -> None:
    """Run the daemon: poll on schedule, serve /metrics and /api/v1/pairs."""
    from netmon.pager import PagerTls

    setup_logging(log_level)
    tls = PagerTls(alertmanager_ca, alertmanager_cert, alertmanager_key)
    raise typer.Exit(
        run_daemon(
            inventory, listen, web_config, replica, shard, state_dsn, alertmanager or [], tls
        )
    )


def run_daemon(
    inventory: Path,
    listen: str,
    web_config: Path | None = None,
    replica: str | None = None,
    shard: str | None = None,
    state_dsn: str | None = None,
    alertmanagers: list[str] | None = None,
    alertmanager_tls: PagerTls | None = None,
) -> int:
    from netmon.daemon import Daemon, parse_listen
    from netmon.shard import parse_shard

    try:
        address = parse_listen(listen)
        part = parse_shard(shard) if shard is not None else None
    except ValueError as exc:
        err.print(str(exc), markup=False)
        return EXIT_CONFIG
    try:
        daemon = Daemon(
            inventory, address, web_config, replica=replica, shard=part, state_dsn=state_dsn,
            alertmanagers=alertmanagers or (), alertmanager_tls=alertmanager_tls,
        )  # fmt: skip
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
        return EXIT_CONFIG
    try:
        asyncio.run(daemon.run())
    except OSError as exc:
        err.print(f"cannot listen on {listen}: {exc.strerror or exc}", markup=False)
        return EXIT_CONFIG
    return EXIT_OK
