"""The `netmon check` / `netmon status` table: what each device reported about its units."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from netmon.cli.check import identity, pairs_table

from .helpers import table_rows


def pair(name: str, *identities: str | None) -> dict[str, Any]:
    members = [
        {"member": f"m{i}", "role": "active" if i == 0 else "standby", "identity": text}
        for i, text in enumerate(identities)
    ]
    return {"pair": name, "kind": "cisco-rf", "state": "healthy", "active_members": ["m0"],
            "on_preferred": None, "reasons": [], "members": members}  # fmt: skip


def render(pairs: list[dict[str, Any]]) -> str:
    console = Console(record=True, width=240)
    console.print(pairs_table(pairs))
    return console.export_text()


def test_each_row_pairs_its_own_name_state_and_members() -> None:
    """What `netmon check` prints is read row by row: swapping two pairs' states (or members)
    between rows is caught, which "each word appears somewhere" never sees."""
    a = {**pair("alpha", None, None), "state": "split_brain", "active_members": ["m0", "m1"]}
    b = {**pair("beta", None, None), "state": "degraded", "reasons": ["m1: unreachable " * 12]}
    c = {**pair("gamma", None, None), "on_preferred": False}
    rows = table_rows(render([a, b, c]))
    assert [(r["PAIR"], r["STATE"], r["ACTIVE"]) for r in rows] == [
        ("alpha", "split_brain", "m0, m1"),
        ("beta", "degraded", "m0"),
        ("gamma", "healthy", "m0 (not preferred)"),
    ]
    assert rows[1]["WHY"] == ("m1: unreachable " * 12).strip()  # folded, then joined again
    assert rows[0]["MEMBERS"] == "m0=active, m1=standby"


def test_identity_once_when_members_share_it_else_per_member() -> None:
    assert identity(pair("p", "local unit 1, peer unit 2", "local unit 1, peer unit 2")) == (
        "local unit 1, peer unit 2"
    )
    assert identity(pair("p", "agent on pa-1", "agent on pa-2")) == (
        "m0: agent on pa-1; m1: agent on pa-2"
    )
    assert identity(pair("p", None, None)) == ""


def test_table_shows_identities_only_when_a_device_reported_some() -> None:
    plain = render([pair("a", None, None)])
    assert "IDENTITY" not in plain
    shown = render([pair("a", None, None), pair("rf", "local unit 1, peer unit 2", None)])
    assert "IDENTITY" in shown
    assert "local unit 1, peer unit 2" in shown


def test_identity_is_never_markup() -> None:
    shown = render([pair("rf", "[bold red]Routing Engine 1[/]", None)])
    assert "[bold red]Routing Engine 1[/]" in shown


def test_reasons_and_device_text_are_never_markup() -> None:
    # Reasons carry what devices say: a Junos description, a FortiGate hostname.
    why = ["re0: peer absent: no row described 'Routing Engine 0'; rows: 9.1.0.0 'RE 0 [/x]'",
           "fw [bold]b[/bold] [on red]x"]  # fmt: skip
    p = {**pair("re", "9.1.0.0 'RE [/x]' master", None), "state": "degraded", "reasons": why}
    shown = render([p])  # rich raised MarkupError on "[/x]" when WHY was a plain string
    flat = "".join(shown.split())
    for text in (*why, "9.1.0.0 'RE [/x]' master"):
        assert "".join(text.split()) in flat
    console = Console(record=True, width=400, color_system="truecolor")
    console.print(pairs_table([p]))
    styled = console.export_text(styles=True)
    assert "\x1b[1mb" not in styled  # "[bold]" did not make the hostname bold
    assert "41m" not in styled  # "[on red]" did not restyle the row


def test_control_characters_from_devices_are_shown_escaped() -> None:
    p = {**pair("re", None, None), "reasons": ["descr 'RE 0\x00\x1b[2J'"]}
    shown = render([p])
    assert "\x1b" not in shown
    assert "\\x00\\x1b[2J" in shown
