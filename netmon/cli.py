"""The `netmon` command. Exit codes: 0 ok, 1 a pair (or drill) not healthy, 2 usage or config error."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import sqlite3
import ssl
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
from rich.text import Text

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
) -> None:
    """Run the daemon: poll on schedule, serve /metrics and /api/v1/pairs."""
    setup_logging(log_level)
    raise typer.Exit(_run_daemon(inventory, listen, web_config))


def _run_daemon(inventory: Path, listen: str, web_config: Path | None = None) -> int:
    from netmon.daemon import Daemon, parse_listen

    try:
        address = parse_listen(listen)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        return EXIT_CONFIG
    try:
        daemon = Daemon(inventory, address, web_config)
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
    """The running daemon's /api/v1/status. A daemon behind a web config is reached with
    NETMON_WEB_CA (its CA file: https) and NETMON_WEB_USER / NETMON_WEB_PASSWORD (basic auth);
    the password comes from the environment, never argv, which other users can read."""
    ca = os.environ.get("NETMON_WEB_CA")
    url = f"{'https' if ca else 'http'}://{listen}/api/v1/status"
    request = urllib.request.Request(url)  # noqa: S310 - the scheme is http(s), set above
    user, password = os.environ.get("NETMON_WEB_USER"), os.environ.get("NETMON_WEB_PASSWORD")
    if user and password is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        context = ssl.create_default_context(cafile=ca) if ca else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            data: dict[str, Any] = json.loads(response.read())
            return data
    except urllib.error.HTTPError as exc:
        why = (
            " (it asks for a password: set NETMON_WEB_USER and NETMON_WEB_PASSWORD)"
            if exc.code == 401
            else ""
        )
        raise DaemonUnavailable(
            f"the netmon daemon at {url} refused: HTTP {exc.code}{why}"
        ) from None
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
    # The simulator picks the community (kept in ~/.local/state/netmon/demo-community, which
    # inventory/demo.yaml reads), so other netmon commands can reach the demo network too.
    sim = subprocess.Popen(
        [sys.executable, "-m", "netmon.sim", "--community-env", DEMO_COMMUNITY_ENV,
         "--exit-with-parent"],
        env=env,
        stdin=subprocess.PIPE,  # closed when this process ends, however it ends
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
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
            f"  a drill:  netmon drill run core-gw -i inventory/demo.yaml --yes --listen {listen}\n"
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
        for pipe in (sim.stdin, sim.stdout):
            if pipe is not None:
                pipe.close()
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


@app.command()
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
    from netmon.history import History, history_path
    from netmon.inventory import load_inventory

    setup_logging("error")
    configured = ""
    if inventory is not None:
        try:
            inv = load_inventory(inventory)
        except ConfigError as exc:
            raise config_failure(exc) from None
        if pair is not None:
            _pair_or_exit(inv, pair)
        configured = inv.drill_journal
    path = history_path(journal_path(configured, journal))
    if not path.exists():
        err.print(f"no pair history at {path} (the daemon writes it)", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    try:
        store = History(path)
        try:
            events = store.events(pair, limit)
        finally:
            store.close()
    except sqlite3.Error as exc:
        err.print(f"cannot read the pair history {path}: {exc}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        rows = [
            {"pair": e.pair, "at": e.at, "event": e.event, "old": e.old, "new": e.new,
             "reasons": list(e.reasons), "active": list(e.active)}
            for e in events
        ]  # fmt: skip
        out.print_json(json.dumps({"events": rows}))
        return
    table = Table(title=f"history of {pair}" if pair else "pair history")
    for column in ("AT (UTC)", "PAIR", "EVENT", "FROM", "TO", "WHY"):
        table.add_column(column)
    for e in events:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at))
        cells = (at, e.pair, e.event, e.old or "-", e.new, "; ".join(e.reasons) or "-")
        table.add_row(*(Text(cell) for cell in cells))  # Text: a reason is never markup
    out.print(table)


drill_app = typer.Typer(help="Failover drills: prove the standby takes over.", no_args_is_help=True)
app.add_typer(drill_app, name="drill")
JournalOpt = Annotated[
    Path | None,
    typer.Option("--journal", help="Drill journal (SQLite); default from the inventory."),
]


def _drill_context(inventory: Path, journal: Path | None, listen: str) -> Any:
    """Load the inventory and open what a drill needs; exits 2 on a config error."""
    from netmon.collectors.probe import Prober
    from netmon.collectors.snmp import SnmpCollector
    from netmon.collectors.ssh import SshCollector
    from netmon.drills.journal import Journal, journal_path
    from netmon.drills.runner import DrillRunner
    from netmon.history import History, history_path
    from netmon.inventory import load_inventory

    try:
        inv = load_inventory(inventory)
    except ConfigError as exc:
        raise config_failure(exc) from None

    journal_file = journal_path(inv.drill_journal, journal)

    def last_failover(pair: str) -> float | None:
        # The daemon's pair history (kept across its restarts) first; then the running daemon,
        # which has seen failovers since it started. Without either, none is known.
        seen: list[float] = []
        history_file = history_path(journal_file)
        if history_file.exists():
            try:
                kept = History(history_file)
                try:
                    seen += [e.at for e in kept.events(pair, 1000) if e.event == "failover"]
                finally:
                    kept.close()
            except sqlite3.Error:
                pass
        try:
            data = fetch_status(listen, timeout=1.0)
        except DaemonUnavailable:
            data = {}
        for p in data.get("pairs", []):
            if p.get("pair") == pair and p.get("last_failover_at") is not None:
                seen.append(float(p["last_failover_at"]))
        return max(seen, default=None)

    opened = Journal(journal_file)
    runner = DrillRunner(
        inv, opened, SnmpCollector(), SshCollector(inv.ssh_sessions), Prober(),
        say=lambda text: err.print(f"[drill] {text}", markup=False, highlight=False),
        last_failover_at=last_failover,
    )  # fmt: skip
    return inv, opened, runner


def _close_runner(runner: Any) -> None:
    runner.snmp.close()
    runner.ssh.close()
    if runner.prober is not None:
        runner.prober.close()
    runner.journal.close()


def _pair_or_exit(inv: Any, pair: str) -> Any:
    spec = inv.pair(pair)
    if spec is None:
        err.print(f"no pair {pair!r} (pairs: {', '.join(p.name for p in inv.pairs)})", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    return spec


@drill_app.command("plan")
def drill_plan(
    pair: str,
    inventory: InventoryOpt,
    journal: JournalOpt = None,
    listen: ListenOpt = DEFAULT_LISTEN,
) -> None:
    """Show the pre-checks, the exact actions and restores, and the abort conditions. Touches nothing."""
    setup_logging("error")
    inv, _, runner = _drill_context(inventory, journal, listen)
    spec = _pair_or_exit(inv, pair)

    async def plan() -> tuple[Any, Any, Any]:
        try:
            checks, status = await runner.checks(spec)
            demote, restore = [], []
            if status is not None and spec.drill is not None and len(status.active_members) == 1:
                demote, restore = runner.actions(spec, status.active_members[0], None)
            return checks, demote, restore
        finally:
            _close_runner(runner)  # inside the loop: the SNMP engine's transport needs it

    checks, demote, restore = asyncio.run(plan())
    table = Table(title=f"drill plan for {pair}")
    for column in ("PRE-CHECK", "OK", "SEEN"):
        table.add_column(column)
    for c in checks:
        table.add_row(c.name, "[green]yes[/]" if c.ok else "[red]NO[/]", c.detail)
    out.print(table)
    if spec.drill is not None:
        d = spec.drill
        out.print(f"actuator: {d.actuator}", markup=False)
        for action in demote:
            out.print(f"  act:     {action.describe()}", markup=False)
        for action in restore:
            out.print(f"  restore: {action.describe()}", markup=False)
        out.print(
            f"abort if: no takeover within {d.max_switchover:g}s (max_switchover); virtual IP unanswered "
            f"over {d.max_vip_outage:g}s; split-brain over {spec.split_brain_debounce:g}s; the standby "
            "unreachable; Ctrl-C or SIGTERM. An abort restores at once.",
            markup=False,
        )
        out.print(f"expected switchover: at most {d.max_switchover:g}s", markup=False)
    raise typer.Exit(EXIT_OK if all(c.ok for c in checks) else EXIT_UNHEALTHY)


@drill_app.command("run")
def drill_run(
    pair: str,
    inventory: InventoryOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for the pair name.")] = False,
    as_json: JsonOpt = False,
    failback: Annotated[
        bool, typer.Option("--failback/--no-failback", help="Restore the original active.")
    ] = True,
    journal: JournalOpt = None,
    listen: ListenOpt = DEFAULT_LISTEN,
    alertmanager: Annotated[
        str | None,
        typer.Option("--alertmanager", help="Alertmanager URL: silence the pair during the drill."),
    ] = None,
) -> None:
    """Demote the active member, time the takeover, restore, verify; journal every step."""
    import signal as signals

    from netmon.drills.silence import Silences

    setup_logging("error")
    inv, _, runner = _drill_context(inventory, journal, listen)
    spec = _pair_or_exit(inv, pair)
    if not yes:
        typed = typer.prompt(
            f"This demotes the active member of {pair}. Type the pair name to go on"
        )
        if typed.strip() != pair:
            err.print("not confirmed; nothing done")
            raise typer.Exit(EXIT_UNHEALTHY)

    async def go() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Ctrl-C and SIGTERM do not kill the drill: they abort it, which restores the pair.
        for sig in (signals.SIGINT, signals.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            silences = Silences(alertmanager) if alertmanager else None
            return await runner.run(spec, stop, failback=failback, silences=silences)
        finally:
            _close_runner(runner)

    report = asyncio.run(go())
    data = report.as_dict()
    if as_json:
        out.print_json(json.dumps(data))
    else:
        _print_report(data)
    raise typer.Exit(EXIT_OK if report.result == "passed" else EXIT_UNHEALTHY)


def _print_report(data: dict[str, Any]) -> None:
    table = Table(title=f"drill {data.get('id') or '-'} on {data['pair']}: {data['result']}")
    table.add_column("FIELD")
    table.add_column("VALUE", overflow="fold")
    for key in ("result", "reason", "active_before", "standby", "switchover_seconds",
                "vip_outage_seconds", "dual_active_seconds", "failback_seconds", "restored"):  # fmt: skip
        value = data.get(key)
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    for check in data.get("checks", []):
        if not check["ok"]:
            table.add_row("failed pre-check", f"{check['name']}: {check['detail']}")
    for action in data.get("actions", []):
        table.add_row("action", action)
    for action in data.get("restore_actions", []):
        table.add_row("restore", action)
    out.print(table)


@drill_app.command("history")
def drill_history(
    inventory: InventoryOpt, journal: JournalOpt = None, listen: ListenOpt = DEFAULT_LISTEN
) -> None:
    """Past drills (an interrupted one is restored first)."""
    setup_logging("error")
    _, store, runner = _drill_context(inventory, journal, listen)

    async def recover() -> list[Any]:
        try:
            await runner.recover()
            rows: list[Any] = store.drills()
            return rows
        finally:
            _close_runner(runner)

    rows = asyncio.run(recover())
    table = Table(title="drills")
    for column in ("ID", "PAIR", "STARTED (UTC)", "RESULT", "SWITCHOVER", "BY"):
        table.add_column(column)
    for row in rows:
        switchover = (row.report or {}).get("switchover_seconds")
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.started_at))
        table.add_row(str(row.id), row.pair, started, row.result or "running",
                      f"{switchover:.3f}s" if isinstance(switchover, float) else "-", f"{row.os_user}@{row.host}")  # fmt: skip
    out.print(table)


@drill_app.command("show")
def drill_show(
    drill_id: int,
    inventory: InventoryOpt,
    journal: JournalOpt = None,
    listen: ListenOpt = DEFAULT_LISTEN,
) -> None:
    """One drill: its report and every journalled step."""
    setup_logging("error")
    _, store, runner = _drill_context(inventory, journal, listen)
    try:
        row = store.drill(drill_id)
        steps = store.steps(drill_id) if row else []
    finally:
        _close_runner(runner)
    if row is None:
        err.print(f"no drill {drill_id}")
        raise typer.Exit(EXIT_CONFIG)
    _print_report(row.report or {"pair": row.pair, "result": row.result or "running", "id": row.id})
    for seq, at, kind, text, status in steps:
        stamp = time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}"
        out.print(f"{seq:3d} {stamp} {kind:8s} {status:7s} {text}", markup=False, highlight=False)


@drill_app.command("resolve")
def drill_resolve(
    drill_id: int,
    inventory: InventoryOpt,
    note: Annotated[str, typer.Option("--note", help="What was checked or done by hand.")],
    journal: JournalOpt = None,
    listen: ListenOpt = DEFAULT_LISTEN,
) -> None:
    """After a drill that could not be restored: record what a person checked, allow drills again."""
    setup_logging("error")
    _, store, runner = _drill_context(inventory, journal, listen)
    try:
        row = store.drill(drill_id)
        if row is None or row.result != "needs_attention":
            err.print(f"drill {drill_id} is not waiting for a person", markup=False)
            raise typer.Exit(EXIT_CONFIG)
        store.resolve(drill_id, note)
    finally:
        _close_runner(runner)
    out.print(f"drill {drill_id} resolved; drills on {row.pair} are allowed again", markup=False)
