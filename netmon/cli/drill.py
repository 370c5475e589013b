"""`netmon drill ...`: failover drills (plan, run, history, show, resolve)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from netmon.cli.common import (
    DEFAULT_LISTEN,
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_UNHEALTHY,
    InventoryOpt,
    JsonOpt,
    ListenOpt,
    cli_state,
    config_failure,
    err,
    out,
    pair_or_exit,
    setup_logging,
)
from netmon.cli.status import fetch_status
from netmon.errors import ConfigError, DaemonUnavailable
from netmon.statedb import StateError

drill_app = typer.Typer(help="Failover drills: prove the standby takes over.", no_args_is_help=True)
JournalOpt = Annotated[
    Path | None,
    typer.Option("--journal", help="Drill journal (SQLite); default from the inventory."),
]


def _drill_context(inventory: Path, journal: Path | None, listen: str) -> Any:
    """Load the inventory and open what a drill needs; exits 2 on a config error."""
    from netmon.collectors.probe import Prober
    from netmon.collectors.snmp import SnmpCollector
    from netmon.collectors.ssh import SshCollector
    from netmon.drills.journal import journal_path, open_journal
    from netmon.drills.runner import DrillRunner
    from netmon.history import history_path, open_history
    from netmon.inventory import load_inventory

    try:
        inv = load_inventory(inventory)
    except ConfigError as exc:
        raise config_failure(exc) from None

    journal_file = journal_path(inv.drill_journal, journal)
    state = cli_state(inv)

    def last_failover(pair: str) -> float | None:
        # The daemon's pair history (kept across its restarts) first; then the running daemon,
        # which has seen failovers since it started. Without either, none is known.
        seen: list[float] = []
        history_file = history_path(journal_file)
        if state.shared or history_file.exists():
            try:
                kept = open_history(history_file, state)
                try:
                    seen += [e.at for e in kept.events(pair, 1000) if e.event == "failover"]
                finally:
                    kept.close()
            except StateError:
                pass
        try:
            data = fetch_status(listen, timeout=1.0)
        except DaemonUnavailable:
            data = {}
        for p in data.get("pairs", []):
            if p.get("pair") == pair and p.get("last_failover_at") is not None:
                seen.append(float(p["last_failover_at"]))
        return max(seen, default=None)

    try:
        # NETMON_REPLICA names this CLI in the journal and its drill lease (default: the host).
        opened = open_journal(journal_file, state, os.environ.get("NETMON_REPLICA", ""))
    except StateError as exc:
        err.print(f"cannot open the drill journal: {exc}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
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
    spec = pair_or_exit(inv, pair)

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
    spec = pair_or_exit(inv, pair)
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
