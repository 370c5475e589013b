"""`netmon lab ...`: the real lab (root), keepalived pairs in network namespaces; with
`--vrrp frr`, the FRR lab (vrrpd and zebra) beside it."""

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
# netmon.lab.topology.DEFAULT_DIR and netmon.lab.frr.DEFAULT_DIR (tests keep them equal), not
# imported here so that `netmon --help` does not load the lab.
DEFAULT_LAB_DIR = Path("/var/lib/netmon-lab")
DEFAULT_FRR_LAB_DIR = Path("/var/lib/netmon-lab-frr")
LabDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help=f"The lab folder (configs, logs, keys); default {DEFAULT_LAB_DIR}, with --vrrp frr "
        f"{DEFAULT_FRR_LAB_DIR}.",
        show_default=False,
    ),
]
VRRP_CHOICES = ("keepalived", "frr")
VrrpOpt = Annotated[
    str,
    typer.Option(
        "--vrrp", help="Which lab: keepalived (VRRP pairs with snmpd) or frr (FRR's vrrpd)."
    ),
]


def _choice(vrrp: str) -> str:
    if vrrp not in VRRP_CHOICES:
        err.print(
            f"netmon lab: --vrrp must be one of {', '.join(VRRP_CHOICES)}, got {vrrp!r}",
            markup=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    return vrrp


def _lab(root: Path | None, vrrp: str = "keepalived") -> Any:
    if _choice(vrrp) == "frr":
        from netmon.lab import FrrLab

        return FrrLab(root or DEFAULT_FRR_LAB_DIR)
    from netmon.lab import Lab

    return Lab(root or DEFAULT_LAB_DIR)


def _only_frr(vrrp: str, command: str) -> None:
    if _choice(vrrp) != "frr":
        err.print(
            f"netmon lab {command}: only for --vrrp frr (the keepalived lab has no {command}; "
            f"got --vrrp {vrrp})",
            markup=False,
        )
        raise typer.Exit(EXIT_CONFIG)


def _lab_call(action: Callable[[], Any]) -> Any:
    from netmon.lab import LabError

    try:
        return action()
    except LabError as exc:
        err.print(f"netmon lab: {exc}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _print_lab_status(status: Any) -> None:
    if hasattr(status.routers[0], "holds_vip"):
        _print_frr_status(status)
        return
    table = Table(title=f"lab in {status.root} (bridge {'up' if status.bridge else 'absent'})")
    for column in ("ROUTER", "NAMESPACE", "KEEPALIVED", "SNMPD", "SSHD", "VIRTUAL IPS"):
        table.add_column(column)
    for r in status.routers:
        pids = [str(r.daemons[d]) if r.daemons[d] else "-" for d in ("keepalived", "snmpd", "sshd")]
        table.add_row(r.router, "yes" if r.netns else "no", *pids, ", ".join(r.vips) or "-")
    out.print(table)


def _print_frr_status(status: Any) -> None:
    table = Table(title=f"FRR lab in {status.root} (bridge {'up' if status.bridge else 'absent'})")
    for column in ("ROUTER", "NAMESPACE", "ZEBRA", "VRRPD", "SSHD", "VRRP 61", "HOLDS VIP"):
        table.add_column(column)
    for r in status.routers:
        pids = [str(r.daemons[d]) if r.daemons[d] else "-" for d in ("zebra", "vrrpd", "sshd")]
        table.add_row(
            r.router, "yes" if r.netns else "no", *pids, r.vrrp or "-",
            "yes" if r.holds_vip else "no",
        )  # fmt: skip
    out.print(table)


@lab_app.command("up")
def lab_up(root: LabDirOpt = None, vrrp: VrrpOpt = "keepalived") -> None:
    """Build the lab afresh: bridge, two router namespaces, keepalived, snmpd, sshd
    (--vrrp frr: zebra, vrrpd, sshd)."""
    lab = _lab(root, vrrp)
    started = time.monotonic()
    status = _lab_call(lab.up)
    _print_lab_status(status)
    if vrrp == "frr":
        out.print(f"FRR lab up in {time.monotonic() - started:.1f}s")
        return
    out.print(
        f"lab up in {time.monotonic() - started:.1f}s; watch it: netmon run -i inventory/lab.yaml"
    )


@lab_app.command("down")
def lab_down(root: LabDirOpt = None, vrrp: VrrpOpt = "keepalived") -> None:
    """End every lab process; delete namespaces, bridge and ports (the folder keeps the logs)."""
    lab = _lab(root, vrrp)
    _lab_call(lab.down)
    out.print("FRR lab down" if vrrp == "frr" else "lab down")


@lab_app.command("status")
def lab_status(root: LabDirOpt = None, vrrp: VrrpOpt = "keepalived") -> None:
    """What runs in the lab (exit 1 if it is not fully up)."""
    status = _lab_call(_lab(root, vrrp).status)
    _print_lab_status(status)
    raise typer.Exit(EXIT_OK if status.running else EXIT_UNHEALTHY)


@lab_app.command("stop")
def lab_stop(
    router: str, daemon: str, root: LabDirOpt = None, vrrp: VrrpOpt = "keepalived"
) -> None:
    """Stop a router's daemon (keepalived, snmpd or sshd; frr: zebra, vrrpd or sshd) with SIGTERM."""
    lab = _lab(root, vrrp)
    _lab_call(lambda: lab.stop(router, daemon))


@lab_app.command("start")
def lab_start(
    router: str, daemon: str, root: LabDirOpt = None, vrrp: VrrpOpt = "keepalived"
) -> None:
    """Start a router's daemon again."""
    lab = _lab(root, vrrp)
    _lab_call(lambda: lab.start(router, daemon))


@lab_app.command("fault")
def lab_fault(router: str, state: str, root: LabDirOpt = None) -> None:
    """Put a router's VRRP instances in FAULT (on) or release them (off): keepalived track_file."""
    _lab_call(lambda: _lab(root).fault(router, _on_off(state)))


@lab_app.command("priority")
def lab_priority(
    router: str, state: str, root: LabDirOpt = None, vrrp: VrrpOpt = "keepalived"
) -> None:
    """Lower a router's VRRP priority by 100 (low) or restore it (normal); --vrrp frr: set it
    (1..254, `vrrp 61 priority N`)."""
    lab = _lab(root, vrrp)
    if vrrp == "frr":
        if not state.isdigit():
            err.print(f"expected a priority 1..254, got {state!r}", markup=False)
            raise typer.Exit(EXIT_CONFIG)
        _lab_call(lambda: lab.priority(router, int(state)))
        return
    _lab_call(lambda: lab.low_priority(router, _on_off(state, on="low", off="normal")))


@lab_app.command("mtu")
def lab_mtu(router: str, mtu: int, root: LabDirOpt = None) -> None:
    """Set a router's eth0 MTU inside its namespace (1400: large packets lost, link up)."""
    _lab_call(lambda: _lab(root).set_mtu(router, mtu))


@lab_app.command("split")
def lab_split(state: str, root: LabDirOpt = None, vrrp: VrrpOpt = "keepalived") -> None:
    """Cut the routers apart for split-brain (on) or heal (off): bridge port isolation."""
    lab = _lab(root, vrrp)
    _lab_call(lambda: lab.split(_on_off(state)))


@lab_app.command("shutdown")
def lab_shutdown(
    router: str, state: str, root: LabDirOpt = None, vrrp: VrrpOpt = "keepalived"
) -> None:
    """--vrrp frr only: `vrrp 61 shutdown` on a router (on) or `no vrrp 61 shutdown` (off)."""
    _only_frr(vrrp, "shutdown")
    lab = _lab(root, vrrp)
    _lab_call(lambda: lab.shutdown(router, _on_off(state)))


def _on_off(state: str, on: str = "on", off: str = "off") -> bool:
    if state not in (on, off):
        err.print(f"expected {on!r} or {off!r}, got {state!r}", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    return state == on
