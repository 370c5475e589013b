"""`netmon lab ...`: the real lab (root), keepalived pairs in network namespaces."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from netmon.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_UNHEALTHY, err, out

lab_app = typer.Typer(
    help="The real lab (root): keepalived pairs in network namespaces.", no_args_is_help=True
)
LabDirOpt = Annotated[Path, typer.Option("--dir", help="The lab folder (configs, logs, keys).")]
# netmon.lab.topology.DEFAULT_DIR (tests/test_lab_folder.py keeps them equal), not imported here
# so that `netmon --help` does not load the lab.
DEFAULT_LAB_DIR = Path("/var/lib/netmon-lab")


def _lab(root: Path) -> Any:
    from netmon.lab import Lab

    return Lab(root)


def _lab_call(action: Callable[[], Any]) -> Any:
    from netmon.lab import LabError

    try:
        return action()
    except LabError as exc:
        err.print(f"netmon lab: {exc}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _print_lab_status(status: Any) -> None:
    table = Table(title=f"lab in {status.root} (bridge {'up' if status.bridge else 'absent'})")
    for column in ("ROUTER", "NAMESPACE", "KEEPALIVED", "SNMPD", "SSHD", "VIRTUAL IPS"):
        table.add_column(column)
    for r in status.routers:
        pids = [str(r.daemons[d]) if r.daemons[d] else "-" for d in ("keepalived", "snmpd", "sshd")]
        table.add_row(r.router, "yes" if r.netns else "no", *pids, ", ".join(r.vips) or "-")
    out.print(table)


@lab_app.command("up")
def lab_up(root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """Build the lab afresh: bridge, two router namespaces, keepalived, snmpd, sshd."""
    lab = _lab(root)
    started = time.monotonic()
    status = _lab_call(lab.up)
    _print_lab_status(status)
    out.print(
        f"lab up in {time.monotonic() - started:.1f}s; watch it: netmon run -i inventory/lab.yaml"
    )


@lab_app.command("down")
def lab_down(root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """End every lab process; delete namespaces, bridge and ports (the folder keeps the logs)."""
    lab = _lab(root)
    _lab_call(lab.down)
    out.print("lab down")


@lab_app.command("status")
def lab_status(root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """What runs in the lab (exit 1 if it is not fully up)."""
    status = _lab_call(_lab(root).status)
    _print_lab_status(status)
    raise typer.Exit(EXIT_OK if status.running else EXIT_UNHEALTHY)


@lab_app.command("stop")
def lab_stop(router: str, daemon: str, root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """Stop a router's daemon (keepalived, snmpd or sshd) with SIGTERM."""
    _lab_call(lambda: _lab(root).stop(router, daemon))


@lab_app.command("start")
def lab_start(router: str, daemon: str, root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """Start a router's daemon again."""
    _lab_call(lambda: _lab(root).start(router, daemon))


@lab_app.command("fault")
def lab_fault(router: str, state: str, root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """Put a router's VRRP instances in FAULT (on) or release them (off): keepalived track_file."""
    _lab_call(lambda: _lab(root).fault(router, _on_off(state)))


@lab_app.command("priority")
def lab_priority(router: str, state: str, root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """Lower a router's VRRP priority by 100 (low) or restore it (normal)."""
    _lab_call(lambda: _lab(root).low_priority(router, _on_off(state, on="low", off="normal")))


@lab_app.command("mtu")
def lab_mtu(router: str, mtu: int, root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """Set a router's eth0 MTU inside its namespace (1400: large packets lost, link up)."""
    _lab_call(lambda: _lab(root).set_mtu(router, mtu))


@lab_app.command("split")
def lab_split(state: str, root: LabDirOpt = DEFAULT_LAB_DIR) -> None:
    """Cut the routers apart for split-brain (on) or heal (off): bridge port isolation."""
    _lab_call(lambda: _lab(root).split(_on_off(state)))


def _on_off(state: str, on: str = "on", off: str = "off") -> bool:
    if state not in (on, off):
        err.print(f"expected {on!r} or {off!r}, got {state!r}", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    return state == on
