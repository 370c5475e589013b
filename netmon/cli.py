"""The `netmon` command. Exit codes: 0 ok, 1 a pair (or drill) not healthy, 2 usage or config error."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from netmon import __version__
from netmon.errors import ConfigError, DaemonUnavailable
from netmon.model import PairState

EXIT_OK, EXIT_UNHEALTHY, EXIT_CONFIG = 0, 1, 2
DEFAULT_LISTEN = "127.0.0.1:9580"
DEMO_COMMUNITY_ENV = "NETMON_DEMO_COMMUNITY"

app = typer.Typer(
    name="netmon",
    help="Health monitor for duplexed network pairs: is the standby really ready?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
inventory_app = typer.Typer(help="Inventory tools.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")

# Piped output (logs, CI, `| less`) gets wide tables instead of rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
# soft_wrap: an error line stays one line (file:line: ...) whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)

STATE_STYLE = {
    "healthy": "green",
    "degraded": "yellow",
    "split_brain": "bold red",
    "down": "bold red",
    "unknown": "magenta",
}

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


def pairs_table(pairs: list[dict[str, Any]]) -> Table:
    table = Table(show_lines=False)
    for column in ("PAIR", "KIND", "STATE", "ACTIVE", "MEMBERS", "WHY"):
        table.add_column(column, overflow="fold")
    for p in pairs:
        state = p["state"]
        members = ", ".join(f"{m['member']}={m['role']}" for m in p["members"])
        active = ", ".join(p["active_members"]) or "-"
        if p.get("on_preferred") is False:
            active += " (not preferred)"
        table.add_row(
            p["pair"],
            p["kind"],
            f"[{STATE_STYLE.get(state, '')}]{state}[/]",
            active,
            members,
            "; ".join(p["reasons"]) or "-",
        )
    return table


def exit_for(pairs: list[dict[str, Any]]) -> int:
    return EXIT_OK if all(p["state"] == PairState.HEALTHY.value for p in pairs) else EXIT_UNHEALTHY


@app.command()
def version() -> None:
    """Print netmon's version."""
    out.print(__version__)


@app.command()
def check(inventory: InventoryOpt, as_json: JsonOpt = False, log_level: str = "error") -> None:
    """Poll every pair once and print the verdicts (exit 1 if any pair is not healthy)."""
    from netmon.collectors.probe import Prober
    from netmon.collectors.snmp import SnmpCollector
    from netmon.collectors.ssh import SshCollector
    from netmon.inventory import load_inventory
    from netmon.poller import Poller
    from netmon.report import pairs_json
    from netmon.store import StateStore

    setup_logging(log_level)
    try:
        inv = load_inventory(inventory)
    except ConfigError as exc:
        raise config_failure(exc) from None

    async def once() -> dict[str, Any]:
        store = StateStore(inv)
        snmp = SnmpCollector()
        ssh = SshCollector(inv.ssh_sessions)
        prober = Prober()
        try:
            await Poller(inv, store, snmp, ssh=ssh, prober=prober).poll_all()
        finally:
            snmp.close()
            ssh.close()
            prober.close()
        return pairs_json(store.snapshot(time.time()))

    data = asyncio.run(once())
    pairs = data["pairs"]
    if as_json:
        out.print_json(json.dumps(data))
    else:
        out.print(pairs_table(pairs))
    raise typer.Exit(exit_for(pairs))


@app.command()
def run(
    inventory: InventoryOpt, listen: ListenOpt = DEFAULT_LISTEN, log_level: str = "info"
) -> None:
    """Run the daemon: poll on schedule, serve /metrics and /api/v1/pairs."""
    setup_logging(log_level)
    raise typer.Exit(_run_daemon(inventory, listen))


def _run_daemon(inventory: Path, listen: str) -> int:
    from netmon.daemon import Daemon, parse_listen

    try:
        address = parse_listen(listen)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        return EXIT_CONFIG
    try:
        daemon = Daemon(inventory, address)
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


def fetch_status(listen: str, timeout: float = 3.0) -> dict[str, Any]:
    url = f"http://{listen}/api/v1/status"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DaemonUnavailable(f"no netmon daemon answers at {url}: {exc}") from None


@app.command()
def status(listen: ListenOpt = DEFAULT_LISTEN, as_json: JsonOpt = False) -> None:
    """What the running daemon sees now (exit 1 if any pair is not healthy)."""
    try:
        data = fetch_status(listen)
    except DaemonUnavailable as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        out.print_json(json.dumps(data))
    else:
        out.print(pairs_table(data["pairs"]))
        if data.get("pending"):
            out.print(f"not polled yet: {', '.join(data['pending'])}")
    raise typer.Exit(exit_for(data["pairs"]))


@app.command()
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


@inventory_app.command("validate")
def inventory_validate(path: Path) -> None:
    """Check an inventory; print every problem as file:line: path: what is wrong (exit 2)."""
    from netmon.inventory import load_inventory

    try:
        inv = load_inventory(path)
    except ConfigError as exc:
        raise config_failure(exc) from None
    out.print(f"{path}: ok: {len(inv.devices)} devices, {len(inv.pairs)} pairs", markup=False)


def demo_inventory() -> Path:
    return Path(__file__).resolve().parent / "sim" / "demo.yaml"


@app.command()
def demo(listen: ListenOpt = DEFAULT_LISTEN, log_level: str = "info") -> None:
    """The embedded default: a simulated network on loopback, watched by the daemon."""
    setup_logging(log_level)
    env = dict(os.environ)
    # A fresh random community unless the user chose one (to send SETs to the simulator).
    env.setdefault(DEMO_COMMUNITY_ENV, secrets.token_urlsafe(12))
    os.environ[DEMO_COMMUNITY_ENV] = env[DEMO_COMMUNITY_ENV]
    sim = subprocess.Popen(
        [sys.executable, "-m", "netmon.sim", "--community-env", DEMO_COMMUNITY_ENV],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        if line.strip() != "ready":
            err.print("the simulated network did not start (see its message above)")
            raise typer.Exit(EXIT_CONFIG)
        inventory = demo_inventory()
        err.print(
            f"netmon demo: simulated network up; watching it with {inventory}\n"
            f"  metrics:  http://{listen}/metrics\n"
            f"  pairs:    http://{listen}/api/v1/pairs\n"
            f"  status:   netmon status --listen {listen}\n"
            "  stop:     Ctrl-C",
            markup=False,
            highlight=False,
        )
        code = _run_daemon(inventory, listen)
    finally:
        sim.terminate()
        try:
            sim.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()
    raise typer.Exit(code)


def main() -> None:
    app()


lab_app = typer.Typer(
    help="The real lab (root): keepalived pairs in network namespaces.", no_args_is_help=True
)
app.add_typer(lab_app, name="lab")
LabDirOpt = Annotated[Path, typer.Option("--dir", help="The lab folder (configs, logs, keys).")]


def _lab(root: Path) -> Any:
    from netmon.lab import Lab

    return Lab(root)


def _lab_call(action: Any) -> Any:
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
def lab_up(root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108 - see netmon/lab/topology.py
    """Build the lab afresh: bridge, two router namespaces, keepalived, snmpd, sshd."""
    lab = _lab(root)
    started = time.monotonic()
    status = _lab_call(lab.up)
    _print_lab_status(status)
    out.print(
        f"lab up in {time.monotonic() - started:.1f}s; watch it: netmon run -i inventory/lab.yaml"
    )


@lab_app.command("down")
def lab_down(root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108
    """End every lab process; delete namespaces, bridge and ports (the folder keeps the logs)."""
    lab = _lab(root)
    _lab_call(lab.down)
    out.print("lab down")


@lab_app.command("status")
def lab_status(root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108
    """What runs in the lab (exit 1 if it is not fully up)."""
    status = _lab_call(_lab(root).status)
    _print_lab_status(status)
    raise typer.Exit(EXIT_OK if status.running else EXIT_UNHEALTHY)


@lab_app.command("stop")
def lab_stop(router: str, daemon: str, root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108
    """Stop a router's daemon (keepalived, snmpd or sshd) with SIGTERM."""
    _lab_call(lambda: _lab(root).stop(router, daemon))


@lab_app.command("start")
def lab_start(router: str, daemon: str, root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108
    """Start a router's daemon again."""
    _lab_call(lambda: _lab(root).start(router, daemon))


@lab_app.command("fault")
def lab_fault(router: str, state: str, root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108
    """Put a router's VRRP instances in FAULT (on) or release them (off): keepalived track_file."""
    _lab_call(lambda: _lab(root).fault(router, _on_off(state)))


@lab_app.command("priority")
def lab_priority(router: str, state: str, root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108
    """Lower a router's VRRP priority by 100 (low) or restore it (normal)."""
    _lab_call(lambda: _lab(root).low_priority(router, _on_off(state, on="low", off="normal")))


@lab_app.command("mtu")
def lab_mtu(router: str, mtu: int, root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108
    """Set a router's eth0 MTU inside its namespace (1400: large packets lost, link up)."""
    _lab_call(lambda: _lab(root).set_mtu(router, mtu))


@lab_app.command("split")
def lab_split(state: str, root: LabDirOpt = Path("/tmp/netmon-lab")) -> None:  # noqa: S108
    """Cut the routers apart for split-brain (on) or heal (off): bridge port isolation."""
    _lab_call(lambda: _lab(root).split(_on_off(state)))


def _on_off(state: str, on: str = "on", off: str = "off") -> bool:
    if state not in (on, off):
        err.print(f"expected {on!r} or {off!r}, got {state!r}", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    return state == on
