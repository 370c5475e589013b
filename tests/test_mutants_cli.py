"""Tests that kill mutants of netmon's cli code that the other tests let live (docs/mutation.md).

The SSH kinds are built by `vendor_kinds()` when netmon.kinds is imported, so a test that only
uses the registry never calls it while mutmut watches: every test here builds the kinds afresh
(`vendor_kinds()`, a new `KindRegistry`) inside its body, then reads what an operator reads --
the role, the reason, the raw state, the identity, the active peer the member hears -- from the
recorded SSH cases of tests/fixtures/kinds/<kind>/ (their params from <kind>.yaml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from netmon.kinds.base import KindRegistry, ParamProblem, UnknownKind
from netmon.kinds.cli import (
    CliGroupParams,
    CliTableKind,
    same_interface,
    table_seen,
    vendor_kinds,
)
from netmon.kinds.evidence import MAX_TEXT, bounded, reported_inet, reported_ip, reported_ipv4
from netmon.kinds.iflink import IfLinkKind, IfLinkParams
from netmon.model import MemberView, Missing, Role, Value, ssh_probe

FIXTURES = Path(__file__).parent / "fixtures" / "kinds"
HEARS = "a VRRP master (its adverts keep this router backup)"

# What each SSH kind sends and which template reads it (docs/kinds.md, `netmon check`).
SENT = {
    "cisco-ios-vrrp": ("show vrrp brief", "cisco_ios_show_vrrp_brief.textfsm"),
    "cisco-ios-hsrp": ("show standby brief", "cisco_ios_show_standby_brief.textfsm"),
    "cisco-nxos-vrrp": ("show vrrp", "cisco_nxos_show_vrrp.textfsm"),
    "junos-vrrp": ("show vrrp summary", "juniper_junos_show_vrrp_summary.textfsm"),
    "arista-eos-vrrp": ("show vrrp brief", "arista_eos_show_vrrp_brief.textfsm"),
}
# The highest group each protocol numbers: VRRP's VRID is 8 bits (RFC 5798), HSRP version 2
# numbers groups 0-4095 (Cisco, First Hop Redundancy Protocols Configuration Guide).
MAX_GROUP = {
    "cisco-ios-vrrp": 255,
    "cisco-ios-hsrp": 4095,
    "cisco-nxos-vrrp": 255,
    "junos-vrrp": 255,
    "arista-eos-vrrp": 255,
}

A, S, F, U = Role.ACTIVE, Role.STANDBY, Role.FAULT, Role.UNKNOWN
IOS_VRRP = "Vl10 group 10; virtual IP 10.99.10.1"
IOS_HSRP = "Gi0/1 group 1; virtual IP 10.99.1.1"
NXOS = "Vlan10 group 10; virtual IP 10.99.10.1"
JUNOS = "ge-0/0/1.0 group 1"
EOS = "Vlan10 group 10; virtual IP 10.99.10.1"


def absent(name: str) -> MemberView:
    return MemberView(U, reason=f"no row for {name}", missing=True)


# Every recorded case of every SSH table kind, read by hand from its output: the whole view.
EXPECTED: dict[tuple[str, str], MemberView] = {
    ("cisco-ios-vrrp", "master"): MemberView(
        A, raw="Master", identity=f"{IOS_VRRP}; master 10.99.10.2"
    ),
    ("cisco-ios-vrrp", "backup"): MemberView(
        S, raw="Backup", peer_active="10.99.10.2", identity=f"{IOS_VRRP}; master 10.99.10.2"
    ),
    ("cisco-ios-vrrp", "init"): MemberView(
        F, reason="init", raw="Init", identity=f"{IOS_VRRP}; master 0.0.0.0"
    ),
    ("cisco-ios-vrrp", "group_absent"): absent("Vlan10 group 10"),
    # Another OS's text: no table header, so blindness, not a vanished group (cli.table_seen).
    ("cisco-ios-vrrp", "not_ios"): MemberView(U, reason="show vrrp brief: output not recognised"),
    ("cisco-ios-vrrp", "backup_names_no_master"): MemberView(
        S, raw="Backup", identity=f"{IOS_VRRP}; master 0.0.0.0"
    ),
    ("cisco-ios-hsrp", "active"): MemberView(
        A, raw="Active", identity=f"{IOS_HSRP}; active local; standby 10.99.1.3"
    ),
    ("cisco-ios-hsrp", "active_without_standby"): MemberView(
        A,
        reason="active reports no standby router",
        raw="Active",
        ready=False,
        identity=f"{IOS_HSRP}; active local; standby unknown",
    ),
    ("cisco-ios-hsrp", "standby"): MemberView(
        S,
        raw="Standby",
        peer_active="10.99.1.2",
        identity=f"{IOS_HSRP}; active 10.99.1.2; standby local",
    ),
    ("cisco-ios-hsrp", "listen"): MemberView(
        S,
        reason="listen: not the elected standby",
        raw="Listen",
        ready=False,
        peer_active="10.99.1.2",
        identity=f"{IOS_HSRP}; active 10.99.1.2; standby 10.99.1.3",
    ),
    ("cisco-ios-hsrp", "init"): MemberView(
        F, reason="init", raw="Init", identity=f"{IOS_HSRP}; active unknown; standby unknown"
    ),
    # Nothing printed: no table header, so no evidence the group is gone (blindness).
    ("cisco-ios-hsrp", "empty"): MemberView(U, reason="show standby brief: output not recognised"),
    ("cisco-ios-hsrp", "speak_hears_no_active"): MemberView(
        S,
        reason="speak: standby election in progress",
        raw="Speak",
        ready=False,
        identity=f"{IOS_HSRP}; active unknown; standby unknown",
    ),
    ("cisco-nxos-vrrp", "master"): MemberView(A, raw="Master", identity=NXOS),
    ("cisco-nxos-vrrp", "backup"): MemberView(S, raw="Backup", peer_active=HEARS, identity=NXOS),
    ("cisco-nxos-vrrp", "init"): MemberView(F, reason="init", raw="Init", identity=NXOS),
    ("cisco-nxos-vrrp", "not_configured"): MemberView(U, reason="show vrrp: output not recognised"),
    ("junos-vrrp", "master"): MemberView(A, raw="master", identity=JUNOS),
    ("junos-vrrp", "backup"): MemberView(S, raw="backup", peer_active=HEARS, identity=JUNOS),
    ("junos-vrrp", "transition"): MemberView(
        S, reason="transition: changing state", raw="transition", ready=False, identity=JUNOS
    ),
    ("junos-vrrp", "idle"): MemberView(
        F, reason="idle: interface or VRRP disabled", raw="idle", identity=JUNOS
    ),
    ("junos-vrrp", "other_group"): absent("ge-0/0/1.0 group 1"),
    ("arista-eos-vrrp", "master"): MemberView(A, raw="Master", identity=EOS),
    ("arista-eos-vrrp", "backup"): MemberView(S, raw="Backup", peer_active=HEARS, identity=EOS),
    ("arista-eos-vrrp", "stopped"): MemberView(F, reason="stopped", raw="Stopped", identity=EOS),
    ("arista-eos-vrrp", "garbage"): MemberView(U, reason="show vrrp brief: output not recognised"),
}


def fixture(kind_name: str) -> Any:
    return YAML(typ="safe", pure=True).load((FIXTURES / f"{kind_name}.yaml").read_text())


def fresh_kinds() -> dict[str, CliTableKind]:
    """The SSH table kinds, built now (not the registry's, built at import)."""
    return {kind.name: kind for kind in vendor_kinds()}


def case_params(kind_name: str, case: str) -> CliGroupParams:
    spec = fixture(kind_name)
    raw = spec["cases"][case].get("params", spec["params"])
    return CliGroupParams(interface=raw["interface"], group=raw["group"])


def recorded_output(kind_name: str, case: str) -> str:
    return (FIXTURES / kind_name / f"{case}.table.txt").read_text()


def test_every_recorded_ssh_case_has_its_expected_view() -> None:
    recorded = {(name, case) for name in SENT for case in fixture(name)["cases"]}
    assert recorded == set(EXPECTED)


@pytest.mark.parametrize(("kind_name", "case"), sorted(EXPECTED))
def test_fresh_vendor_kind_reads_its_recorded_case(kind_name: str, case: str) -> None:
    kind = fresh_kinds()[kind_name]
    params = case_params(kind_name, case)
    assert kind.check(params) == []
    command, _ = SENT[kind_name]
    assert kind.probes(params) == (ssh_probe("table", command),)
    view = kind.interpret(params, {"table": recorded_output(kind_name, case)})
    assert view == EXPECTED[kind_name, case]


def test_fresh_registry_of_the_ssh_table_kinds() -> None:
    registry = KindRegistry()
    kinds = vendor_kinds()
    for kind in kinds:
        registry.register(kind)
    assert registry.names() == sorted(SENT)
    assert [kind.name for kind in registry] == sorted(SENT)
    for kind in kinds:
        assert registry.get(kind.name) is kind
        command, template = SENT[kind.name]
        assert kind.transport == "ssh"
        assert kind.mib == f"SSH: `{command}` (TextFSM: {template})"
    with pytest.raises(ValueError, match=r"^pair kind 'cisco-ios-vrrp' is already registered$"):
        registry.register(vendor_kinds()[0])
    with pytest.raises(UnknownKind) as miss:
        registry.get("cisco-vrrp")
    assert str(miss.value) == (
        "unknown pair kind 'cisco-vrrp'; choose one of: "
        "arista-eos-vrrp, cisco-ios-hsrp, cisco-ios-vrrp, cisco-nxos-vrrp, junos-vrrp"
    )


def _group_checks(kind_name: str) -> list[tuple[int, str, list[ParamProblem]]]:
    top = MAX_GROUP[kind_name]
    bounds = f"0..{top}"
    return [
        (top, "Vlan10", []),
        (top + 1, "Vlan10", [("group", f"group must be {bounds}, got {top + 1}")]),
        (-1, "Vlan10", [("group", f"group must be {bounds}, got -1")]),
        (1, "  ", [("interface", "must name the interface")]),
        (
            top + 1,
            "",
            [
                ("group", f"group must be {bounds}, got {top + 1}"),
                ("interface", "must name the interface"),
            ],
        ),
    ]


@pytest.mark.parametrize("kind_name", sorted(SENT))
def test_group_and_interface_checked_as_the_inventory_reports_them(kind_name: str) -> None:
    kind = fresh_kinds()[kind_name]
    for group, interface, problems in _group_checks(kind_name):
        assert kind.check(CliGroupParams(interface, group)) == problems, (group, interface)


def test_hsrp_group_zero_is_a_group() -> None:
    # HSRP's default group is 0 (`standby ip` without a group number).
    kind = fresh_kinds()["cisco-ios-hsrp"]
    assert kind.check(CliGroupParams("Vlan10", 0)) == []


@pytest.mark.parametrize("kind_name", sorted(SENT))
def test_no_table_is_unknown_naming_the_command(kind_name: str) -> None:
    kind = fresh_kinds()[kind_name]
    params = case_params(kind_name, "master" if kind_name != "cisco-ios-hsrp" else "active")
    command, _ = SENT[kind_name]
    assert kind.interpret(params, {}) == MemberView(U, reason=f"{command}: no output")
    for missing in (Missing.NOT_RETURNED, Missing.NO_SUCH_OBJECT):
        got = kind.interpret(params, {"table": missing})
        assert got == MemberView(U, reason=f"{command}: {missing.value}")


def _with_state(output: str, state: str, new: str) -> str:
    """The recorded output with the state of its first table row (not the header) replaced."""
    lines = output.splitlines(keepends=True)
    for i, line in enumerate(lines):
        words = line.split()
        if "Interface" not in line and state in words:
            words[words.index(state)] = new
            lines[i] = "  ".join(words) + "\n"
            return "".join(lines)
    raise AssertionError(f"no row in state {state!r}")


ACTIVE_CASES = {
    "cisco-ios-vrrp": ("master", "Master"),
    "cisco-ios-hsrp": ("active", "Active"),
    "cisco-nxos-vrrp": ("master", "Master"),
    "junos-vrrp": ("master", "master"),
    "arista-eos-vrrp": ("master", "Master"),
}


@pytest.mark.parametrize("kind_name", sorted(SENT))
def test_a_state_outside_the_table_is_unknown_and_named(kind_name: str) -> None:
    kind = fresh_kinds()[kind_name]
    case, state = ACTIVE_CASES[kind_name]
    params = case_params(kind_name, case)
    recorded = recorded_output(kind_name, case)
    short = kind.interpret(params, {"table": _with_state(recorded, state, "Disabled")})
    assert short == MemberView(U, reason="unrecognised state 'Disabled'", raw="Disabled")
    long = "Negotiating" * 4  # 44 characters: shown cut to 30
    cut = long[:30]
    assert len(cut) == 30
    got = kind.interpret(params, {"table": _with_state(recorded, state, long)})
    assert got == MemberView(U, reason=f"unrecognised state {cut!r}", raw=cut)


@pytest.mark.parametrize(
    ("configured", "reported", "same"),
    [
        ("Vlan10", "Vl10", True),
        ("Vl10", "Vlan10", True),
        ("GigabitEthernet0/1", "Gi0/1", True),
        ("Gi0/1", "GigabitEthernet0/1", True),
        (" vlan10 ", "Vlan10", True),
        ("ge-0/0/1.0", "ge-0/0/1.0", True),
        ("Vlan10", "Vlan20", False),
        ("Vlan10", "Vl20", False),
        ("Gi0/1", "Te0/1", False),
        ("10", "Vl10", False),  # a bare number names no interface
        ("Vl10", "10", False),
        ("ge-0/0/1.0", "ge-0/0/2.0", False),
    ],
)
def test_interfaces_match_as_the_device_abbreviates_them(
    configured: str, reported: str, same: bool
) -> None:
    assert same_interface(configured, reported) is same


def test_the_row_of_another_interface_is_not_the_members() -> None:
    kind = fresh_kinds()["cisco-ios-vrrp"]
    view = kind.interpret(
        CliGroupParams("Vlan20", 10), {"table": recorded_output("cisco-ios-vrrp", "master")}
    )
    assert view == absent("Vlan20 group 10")


# ---- if-link: ifOperStatus through the shared table lookup (netmon/kinds/base.py) --------------

IF_LINK_VIEWS: list[tuple[dict[str, Value], MemberView]] = [
    ({"ifOperStatus": 1}, MemberView(A, raw="1 (up)")),
    ({"ifOperStatus": 2}, MemberView(F, reason="down", raw="2 (down)")),
    ({"ifOperStatus": 5}, MemberView(S, raw="5 (dormant)")),
    ({"ifOperStatus": 7}, MemberView(F, reason="lowerLayerDown", raw="7 (lowerLayerDown)")),
    ({"ifOperStatus": 9}, MemberView(U, reason="ifOperStatus: unrecognised value 9", raw="9")),
    ({}, MemberView(U, reason="ifOperStatus: notReturned", raw="notReturned")),
    (
        {"ifOperStatus": Missing.NO_SUCH_INSTANCE},
        MemberView(U, reason="ifOperStatus: noSuchInstance", raw="noSuchInstance", missing=True),
    ),
    (
        {"ifOperStatus": "up"},
        MemberView(U, reason="ifOperStatus: expected an integer, got 'up'"),
    ),
    (
        {"ifOperStatus": "x" * 50},  # shown as its first 40 characters
        MemberView(U, reason="ifOperStatus: expected an integer, got '" + "x" * 39),
    ),
]


@pytest.mark.parametrize(("values", "view"), IF_LINK_VIEWS)
def test_if_link_reads_if_oper_status(values: dict[str, Value], view: MemberView) -> None:
    assert IfLinkKind().interpret(IfLinkParams(if_index=3), values) == view


def test_if_link_needs_an_if_index_of_one_or_more() -> None:
    kind = IfLinkKind()
    assert kind.check(IfLinkParams(if_index=1)) == []
    assert kind.check(IfLinkParams(if_index=0)) == [
        ("if_index", "ifIndex must be 1 or more, got 0")
    ]


# ---- evidence: addresses a member reports, never invented --------------------------------------


@pytest.mark.parametrize(
    ("text", "heard"),
    [
        ("10.99.1.2", "10.99.1.2"),
        ("2001:4860:4860::8888", "2001:4860:4860::8888"),
        ("0.0.0.0", None),
        ("255.255.255.255", None),
        ("240.0.0.1", None),  # reserved (240/4): no router sends from it
        ("127.0.0.1", None),
        ("224.0.0.18", None),  # VRRP's own multicast group
        ("local", None),
        (None, None),
    ],
)
def test_reported_ip_is_an_address_a_router_sends_from(text: str | None, heard: str | None) -> None:
    assert reported_ip(text) == heard


def test_reported_ipv4_is_never_an_ipv6_address() -> None:
    assert reported_ipv4("10.99.1.2") == "10.99.1.2"
    assert reported_ipv4("2001:4860:4860::8888") is None


@pytest.mark.parametrize(
    ("value", "heard"),
    [
        ("\x0a\x63\x01\x02", "10.99.1.2"),
        ("\udc80\x01\x02\x03", "128.1.2.3"),  # byte 0x80 kept as a surrogate escape
        ("\x0a\x01\x02\udcff", "10.1.2.255"),  # byte 0xff kept as a surrogate escape
        ("\x01\ufffd", None),  # a byte an older decoding lost: no evidence
        ("\x0a\x63\x01", None),
    ],
)
def test_inet_address_bytes_recovered_exactly(value: str, heard: str | None) -> None:
    assert reported_inet(value, 4) == heard


def test_bounded_text_keeps_the_limit_and_marks_a_cut() -> None:
    assert bounded("x" * MAX_TEXT) == "x" * MAX_TEXT
    cut = bounded("x" * (MAX_TEXT + 1))
    assert cut == "x" * (MAX_TEXT - 1) + "…"
    assert len(cut) == MAX_TEXT


@pytest.mark.parametrize("kind_name", ["cisco-ios-vrrp", "cisco-ios-hsrp"])
def test_an_error_instead_of_the_table_never_makes_a_pair_down(kind_name: str) -> None:
    """A command refused (authorization, a privilege level, a pager prompt) prints no table: the
    member is unknown, not missing, so two members both refused leave a healthy pair unknown
    instead of `down` (no evidence that no member is active)."""
    kind = fresh_kinds()[kind_name]
    params = case_params(kind_name, "init")
    command, _ = SENT[kind_name]
    for text in ("% Authorization failed.\n", "% Invalid input detected at '^' marker.\n", ""):
        view = kind.interpret(params, {"table": text})
        assert view == MemberView(U, reason=f"{command}: output not recognised"), text
    # The table itself, without the group: that is evidence the group is gone.
    header = recorded_output(kind_name, "init").splitlines()
    only_header = "\n".join(line for line in header if "Interface" in line or "|" in line)
    assert kind.interpret(params, {"table": only_header + "\n"}).missing


def test_table_seen_counts_only_a_header_that_leads_to_the_rows(tmp_path: Path) -> None:
    """A template's Start rules that stay in Start, end the parse or record nothing are no
    header: text they match is not a table."""
    template = tmp_path / "t.textfsm"
    template.write_text(
        "Value STATE (\\S+)\n\n"
        "Start\n"
        "  ^Load\\s+for\n"
        "  ^Again -> Start\n"
        "  ^% -> End\n"
        "  ^Stop -> EOF\n"
        "  ^Interface\\s+State\\s*$$ -> Rows\n\n"
        "Rows\n"
        "  ^\\S+\\s+${STATE} -> Record\n"
    )
    for text in ("Load for five secs: 1%\n", "Again\n", "% Authorization failed.\n", "Stop\n", ""):
        assert not table_seen(template, text), text
    assert table_seen(template, "Load for five secs: 1%\nInterface   State\n")
