"""`netmon check`: one poll of every pair, a table or JSON."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from netmon.cli.common import (
    InventoryOpt,
    JsonOpt,
    config_failure,
    exit_for,
    out,
    setup_logging,
)
from netmon.errors import ConfigError

STATE_STYLE = {
    "healthy": "green",
    "degraded": "yellow",
    "split_brain": "bold red",
    "down": "bold red",
    "unknown": "magenta",
}


def identity(pair: dict[str, Any]) -> str:
    """The identifiers the devices reported ("local unit 1, peer unit 2"): once when the members
    share them (one agent reports every unit), else per member."""
    seen: dict[str, str] = {}
    for m in pair["members"]:
        text = m.get("identity")
        if text and text not in seen.values():
            seen[m["member"]] = text
    if len(seen) <= 1:
        return next(iter(seen.values()), "")
    return "; ".join(f"{member}: {text}" for member, text in seen.items())


def intent_text(intent: dict[str, Any]) -> str:
    """The INTENT cell: the drift found, "in sync", or "-" when not known."""
    verdict = intent.get("in_sync")
    if verdict is False:
        return "; ".join(intent.get("reasons") or ()) or "differs"
    return "in sync" if verdict else "-"


def cell(text: str, style: str = "") -> Text:
    """A table cell from text that may come from a device (descriptions, hostnames, reasons):
    never markup, and a control character is shown escaped (`\\x1b`), never sent to the
    terminal."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return Text(shown, style=style)


def pairs_table(pairs: list[dict[str, Any]]) -> Table:
    table = Table(show_lines=False)
    # What the devices call their units, where they say: what `params` can name (docs/kinds.md).
    identities = [identity(p) for p in pairs]
    columns = ["PAIR", "KIND", "STATE", "ACTIVE", "MEMBERS", "WHY"]
    if any(identities):
        columns.insert(5, "IDENTITY")
    # Drift from the inventory's intent (a ticket, not the pair's state): shown when any pair
    # differs, like the config drift the daemon reports.
    drifted = any((p.get("intent") or {}).get("in_sync") is False for p in pairs)
    if drifted:
        columns.append("INTENT")
    for column in columns:
        table.add_column(column, overflow="fold")
    for p, ident in zip(pairs, identities, strict=True):
        state = str(p["state"])
        members = ", ".join(f"{m['member']}={m['role']}" for m in p["members"])
        active = ", ".join(p["active_members"]) or "-"
        if p.get("on_preferred") is False:
            active += " (not preferred)"
        # Every cell is Text: reasons carry what devices say (a Junos description, a FortiGate
        # hostname), and "[/x]" in one must neither crash the table nor restyle it.
        cells = [
            cell(str(p["pair"])),
            cell(str(p["kind"])),
            cell(state, STATE_STYLE.get(state, "")),
            cell(active),
            cell(members),
            cell("; ".join(p["reasons"]) or "-"),
        ]
        if any(identities):
            cells.insert(5, cell(ident or "-"))
        if drifted:
            intent = p.get("intent") or {}
            cells.append(
                cell(intent_text(intent), "yellow" if intent.get("in_sync") is False else "")
            )
        table.add_row(*cells)
    return table


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
