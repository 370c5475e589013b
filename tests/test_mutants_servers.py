"""Tests that kill mutants of netmon's servers code that the other tests let live (docs/mutation.md).

The server kinds: `pacemaker` (crm_mon XML over SSH), `keepalived-ssh` and `linux-vip` (`ip -o
link show; ip -o addr show` plus a check command over SSH) and `custom` (an operator's OID and value table). Each
table row is a device answer and the exact member view an operator reads from it: the role, the
reason, the raw text, readiness, the peer evidence and the identity.

The crm_mon documents are written in the shape of Pacemaker's own recorded output
(ClusterLabs/pacemaker cts/cli/regression.crm_mon.exp, "XML output"; schema
xml/api/crm_mon-2.42.rng and resources-2.41.rng), cut down to the elements the kind reads.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from netmon.kinds.custom import CustomKind, CustomParams
from netmon.kinds.linux import (
    MARK_FAIL,
    MARK_OK,
    KeepalivedSshKind,
    KeepalivedSshParams,
    LinuxVipKind,
    LinuxVipParams,
)
from netmon.kinds.pacemaker import MAX_XML, PacemakerKind, PacemakerParams
from netmon.model import MemberView, Missing, Probe, Role, Value, ssh_probe

# --- pacemaker -------------------------------------------------------------------------------


def node(name: str, **attributes: str) -> str:
    """A <nodes><node> line as crm_mon writes it (online, not standby, unless told)."""
    attrs = {
        "name": name,
        "id": name,
        "online": "true",
        "standby": "false",
        "maintenance": "false",
        "unclean": "false",
        "type": "member",
        **attributes,
    }
    return "<node " + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "/>"


def rsc(rid: str, *on: str, active: str = "true", failed: str = "false") -> str:
    """A primitive <resource> with a <node> per node it runs on."""
    where = "".join(f'<node name="{n}" id="{n}" cached="true"/>' for n in on)
    return (
        f'<resource id="{rid}" resource_agent="ocf:heartbeat:Dummy" role="Started" '
        f'active="{active}" orphaned="false" blocked="false" managed="true" failed="{failed}" '
        f'failure_ignored="false" nodes_running_on="{len(on)}">{where}</resource>'
    )


def group(gid: str, *resources: str) -> str:
    return (
        f'<group id="{gid}" number_resources="{len(resources)}" managed="true" '
        f'disabled="false">{"".join(resources)}</group>'
    )


def crm(nodes: list[str], resources: list[str], summary: str = "") -> str:
    """A whole crm_mon status, with node_attributes and node_history as crm_mon adds them
    (their <node> elements name nodes too, without `online`)."""
    names = [n.split('name="')[1].split('"')[0] for n in nodes]
    extra = "".join(f'<node name="{n}"><attribute name="pingd" value="1"/></node>' for n in names)
    return (
        '<pacemaker-result api-version="2.30" request="crm_mon --one-shot --output-as=xml">\n'
        f"  <summary>{summary}</summary>\n"
        f"  <nodes>{''.join(nodes)}</nodes>\n"
        f"  <resources>{''.join(resources)}</resources>\n"
        f"  <node_attributes>{extra}</node_attributes>\n"
        '  <status code="0" message="OK"/>\n'
        "</pacemaker-result>\n"
    )


A, B = "web-a", "web-b"
QUORATE = '<current_dc present="true" version="2.1.5" name="web-b" id="2" with_quorum="true"/>'
NO_QUORUM = '<current_dc present="true" version="2.1.5" name="web-a" id="1" with_quorum="false"/>'
NO_DC = '<current_dc present="false"/>'
WEB_ON_B = group("web", rsc("vip", B), rsc("nginx", B))
BUNDLE = (
    '<bundle id="httpd-bundle" type="podman" image="pcmk:http" unique="false" managed="true" '
    'failed="false"><replica id="0">'
    + rsc("httpd-bundle-ip-192.168.122.131", B)
    + rsc("httpd", "httpd-bundle-0")
    + rsc("httpd-bundle-podman-0", B)
    + rsc("httpd-bundle-0", B)
    + "</replica></bundle>"
)
LONG_A = "web-a.dc1.prod.example.net-cluster-node-01"
LONG_B = "web-b.dc2.prod.example.net-cluster-node-02"


def view(
    role: Role,
    raw: str | None = None,
    reason: str | None = None,
    ready: bool = True,
    peer: str | None = None,
    identity: str | None = "web on nodes web-a, web-b",
    missing: bool = False,
) -> MemberView:
    return MemberView(role, reason, raw, ready, peer, identity, missing)


# (case, resource, node, crm_mon output, the view an operator reads)
PACEMAKER: list[tuple[str, str, str, str, MemberView]] = [
    (
        "runs_the_group",
        "web",
        A,
        crm([node(A), node(B)], [group("web", rsc("vip", A), rsc("nginx", A))]),
        view(Role.ACTIVE, "2/2 of web on web-a"),
    ),
    (
        "peer_runs_it",
        "web",
        A,
        crm([node(A), node(B)], [WEB_ON_B]),
        view(Role.STANDBY, "0/2 of web on web-a", peer="node web-b"),
    ),
    (
        # The group runs on a node the status does not list (a remote or guest node): no node
        # of the cluster is heard as active, and nothing raises.
        "runs_on_an_unlisted_node",
        "web",
        A,
        crm([node(A), node(B)], [group("web", rsc("vip", "web-c"), rsc("nginx", "web-c"))]),
        view(Role.STANDBY, "0/2 of web on web-a"),
    ),
    (
        "peer_runs_it_in_a_quorate_partition",
        "web",
        A,
        crm([node(A), node(B)], [WEB_ON_B], summary=QUORATE),
        view(Role.STANDBY, "0/2 of web on web-a", peer="node web-b"),
    ),
    (
        "peer_runs_it_without_quorum",
        "web",
        A,
        crm([node(A), node(B)], [WEB_ON_B], summary=NO_QUORUM),
        view(Role.STANDBY, "0/2 of web on web-a"),
    ),
    (
        "no_dc",
        "web",
        A,
        crm([node(A), node(B)], [WEB_ON_B], summary=NO_DC),
        view(Role.STANDBY, "0/2 of web on web-a"),
    ),
    (
        "node_offline",
        "web",
        A,
        crm([node(A, online="false"), node(B)], [WEB_ON_B]),
        view(Role.FAULT, "0/2 of web on web-a", "node offline", peer="node web-b"),
    ),
    (
        "node_in_maintenance",
        "web",
        A,
        crm([node(A, maintenance="true"), node(B)], [WEB_ON_B]),
        view(
            Role.STANDBY,
            "0/2 of web on web-a",
            "node in standby/maintenance: would not take over",
            ready=False,
            peer="node web-b",
        ),
    ),
    (
        "node_in_standby",
        "web",
        A,
        crm([node(A, standby="true"), node(B)], [WEB_ON_B]),
        view(
            Role.STANDBY,
            "0/2 of web on web-a",
            "node in standby/maintenance: would not take over",
            ready=False,
            peer="node web-b",
        ),
    ),
    (
        # Both resources failed here and recovered on web-b (crm_mon keeps failed="true").
        "failed_resources",
        "web",
        A,
        crm(
            [node(A), node(B)],
            [group("web", rsc("vip", B, failed="true"), rsc("nginx", B, failed="true"))],
        ),
        view(
            Role.STANDBY,
            "0/2 of web on web-a",
            "failed resources: vip, nginx",
            ready=False,
            peer="node web-b",
        ),
    ),
    (
        "half_started",
        "web",
        A,
        crm([node(A), node(B)], [group("web", rsc("vip", A), rsc("nginx", active="false"))]),
        view(Role.ACTIVE, "1/2 of web on web-a", "only 1 of 2 resources started", ready=False),
    ),
    (
        # One resource of a group named on its own: that resource alone, not its group.
        "single_resource",
        "vip",
        A,
        crm([node(A), node(B)], [group("web", rsc("vip", A), rsc("nginx", active="false"))]),
        view(Role.ACTIVE, "1/1 of vip on web-a", identity="vip on nodes web-a, web-b"),
    ),
    (
        # The other member of the pair asks the same status: its own node, not the first listed.
        "second_node_runs_it",
        "web",
        B,
        crm([node(A, online="false"), node(B)], [WEB_ON_B]),
        view(Role.ACTIVE, "2/2 of web on web-b"),
    ),
    (
        "clone_of_one_instance",
        "db-clone",
        A,
        crm(
            [node(A), node(B)],
            [
                '<clone id="db-clone" multi_state="false" unique="false" managed="true" '
                'disabled="false" failed="false" failure_ignored="false">'
                + rsc("db", A)
                + "</clone>"
            ],
        ),
        view(Role.ACTIVE, "1/1 of db-clone on web-a", identity="db-clone on nodes web-a, web-b"),
    ),
    (
        # A promotable clone runs on both nodes (Promoted on one, Unpromoted on the other):
        # "started here" would make both active, a split brain that is not there.
        "promotable_clone_is_not_guessed",
        "db-clone",
        A,
        crm(
            [node(A), node(B)],
            [
                '<clone id="db-clone" multi_state="true" unique="false" managed="true" '
                'disabled="false" failed="false" failure_ignored="false">'
                + rsc("db", A).replace('role="Started"', 'role="Promoted"')
                + rsc("db", B).replace('role="Started"', 'role="Unpromoted"')
                + "</clone>"
            ],
        ),
        view(
            Role.UNKNOWN,
            reason="resource 'db-clone' is a promotable clone: name the group or primitive that"
            " moves between the nodes",
            identity=None,
        ),
    ),
    (
        "bundle_on_an_online_node_is_not_guessed",
        "httpd-bundle",
        A,
        crm([node(A), node(B)], [BUNDLE]),
        view(
            Role.UNKNOWN,
            reason="resource 'httpd-bundle' is a bundle: name the group or primitive that"
            " moves between the nodes",
            identity=None,
        ),
    ),
    (
        "bundle_on_an_offline_node",
        "httpd-bundle",
        A,
        crm([node(A, online="false"), node(B)], [BUNDLE]),
        view(
            Role.FAULT,
            "0/4 of httpd-bundle on web-a",
            "node offline",
            identity="httpd-bundle on nodes web-a, web-b",
        ),
    ),
    (
        # A group listed with no resources (a filtered status): no evidence, and no crash.
        "empty_group",
        "web",
        A,
        crm([node(A), node(B)], [group("web")]),
        view(Role.STANDBY, "0/0 of web on web-a"),
    ),
    (
        "node_not_in_status",
        "web",
        "web-z",
        crm([node(A), node(B)], [WEB_ON_B]),
        view(
            Role.UNKNOWN,
            reason="node 'web-z' not in the cluster status",
            identity=None,
            missing=True,
        ),
    ),
    (
        "resource_not_in_status",
        "db",
        A,
        crm([node(A), node(B)], [WEB_ON_B]),
        view(
            Role.UNKNOWN,
            reason="resource 'db' not in the cluster status",
            identity=None,
            missing=True,
        ),
    ),
    (
        # Long host names: the identity line keeps them whole (it is bounded at 160, not 60).
        "long_node_names",
        "web",
        LONG_A,
        crm([node(LONG_A), node(LONG_B)], [group("web", rsc("vip", LONG_A))]),
        view(
            Role.ACTIVE,
            f"1/1 of web on {LONG_A}",
            identity=f"web on nodes {LONG_A}, {LONG_B}",
        ),
    ),
    (
        # A line before the XML (a shell's warning on the same stream) does not hide it.
        "noise_before_the_xml",
        "web",
        A,
        "crm_mon: warning: could not determine terminal width\n"
        + crm([node(A), node(B)], [group("web", rsc("vip", A), rsc("nginx", A))]),
        view(Role.ACTIVE, "2/2 of web on web-a"),
    ),
    (
        "not_xml",
        "web",
        A,
        "bash: crm_mon: command not found\n",
        view(Role.UNKNOWN, reason="crm_mon: not XML", identity=None),
    ),
]


@pytest.mark.parametrize("case", [row[0] for row in PACEMAKER])
def test_pacemaker_views(case: str) -> None:
    _, resource, node_name, output, expected = next(row for row in PACEMAKER if row[0] == case)
    params = PacemakerParams(resource=resource, node=node_name)
    assert PacemakerKind().interpret(params, {"crm_mon": output}) == expected


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({}, "crm_mon: no output"),
        ({"crm_mon": Missing.NOT_RETURNED}, "crm_mon: notReturned"),
        ({"crm_mon": 3}, "crm_mon: no output"),
    ],
)
def test_pacemaker_without_output(values: dict[str, Value], reason: str) -> None:
    params = PacemakerParams(resource="web", node=A)
    assert PacemakerKind().interpret(params, values) == MemberView(Role.UNKNOWN, reason=reason)


def test_pacemaker_output_size_limit() -> None:
    """A status of exactly MAX_XML characters is read; one character more is refused."""
    params = PacemakerParams(resource="web", node=A)
    body = crm([node(A), node(B)], [group("web", rsc("vip", A))])
    at_limit = body + " " * (MAX_XML - len(body))
    assert len(at_limit) == MAX_XML
    got = PacemakerKind().interpret(params, {"crm_mon": at_limit})
    assert (got.role, got.raw) == (Role.ACTIVE, "1/1 of web on web-a")
    too_large = PacemakerKind().interpret(params, {"crm_mon": at_limit + " "})
    assert too_large == MemberView(Role.UNKNOWN, reason="crm_mon: output too large")


@pytest.mark.parametrize(
    ("resource", "node_name", "problems"),
    [
        ("web", A, []),
        ("", A, [("resource", "must name the resource group")]),
        ("web", " ", [("node", "must name this member's cluster node")]),
        (
            " ",
            "",
            [
                ("resource", "must name the resource group"),
                ("node", "must name this member's cluster node"),
            ],
        ),
    ],
)
def test_pacemaker_params(resource: str, node_name: str, problems: list[tuple[str, str]]) -> None:
    assert PacemakerKind().check(PacemakerParams(resource=resource, node=node_name)) == problems


# --- keepalived-ssh and linux-vip ------------------------------------------------------------

# `ip -o link show; ip -o addr show`: the link lines first, then the addresses (iproute2 6.1).
LINK_LO = (
    "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group"
    " default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
)
LINK_ETH0 = (
    "2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT"
    " group default qlen 1000\\    link/ether b6:b8:96:17:0d:fc brd ff:ff:ff:ff:ff:ff\n"
)
LINK_ETH1 = LINK_ETH0.replace("2: eth0@if5", "3: eth1@if7")
LINKS = LINK_LO + LINK_ETH0 + LINK_ETH1
ADDR_VIP = LINKS + (
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
    "2: eth0    inet 10.99.0.11/24 scope global eth0\\       valid_lft forever preferred_lft forever\n"
    "2: eth0    inet 10.99.0.51/24 scope global secondary eth0\\       valid_lft forever"
    " preferred_lft forever\n"
)
ADDR_NO_VIP = LINKS + (
    "2: eth0    inet 10.99.0.12/24 scope global eth0\\       valid_lft forever preferred_lft forever\n"
)
# The VIP on another interface than the one the operator named.
ADDR_VIP_ON_ETH1 = LINKS + (
    "2: eth0    inet 10.99.0.12/24 scope global eth0\\       valid_lft forever preferred_lft forever\n"
    "3: eth1    inet 10.99.0.51/24 scope global eth1\\       valid_lft forever preferred_lft forever\n"
)
# A line that is no address line ahead of the addresses (a login shell's warning).
ADDR_AFTER_NOISE = (
    "bash: warning: setlocale: LC_ALL: cannot change locale (en_US.UTF-8)\n" + ADDR_VIP
)
# The addresses alone (the command before link lines were read): not the command's output.
ADDR_ONLY = ADDR_VIP[len(LINKS) :]
# FRR's backup: the VIP stays on its macvlan, which vrrpd sets protodown (the kernel drops its
# carrier: NO-CARRIER, state DOWN). Recorded (tests/fixtures/kinds/linux-vip/frr_*).
LINK_MACVLAN_UP = (
    "4: vrrp4-2-51@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode"
    " DEFAULT group default qlen 1000\\    link/ether 00:00:5e:00:01:33 brd ff:ff:ff:ff:ff:ff\n"
)
LINK_MACVLAN_PROTODOWN = (
    "4: vrrp4-2-51@eth0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN"
    " mode DEFAULT group default qlen 1000\\    link/ether 00:00:5e:00:01:33 brd"
    " ff:ff:ff:ff:ff:ff protodown on protodown_reason <7>\n"
)
ADDR_ON_MACVLAN = (
    "2: eth0    inet 10.99.0.12/24 scope global eth0\\       valid_lft forever preferred_lft forever\n"
    "4: vrrp4-2-51    inet 10.99.0.51/24 scope global vrrp4-2-51\\       valid_lft forever"
    " preferred_lft forever\n"
)


def link(state: str, flags: str, extra: str = "") -> str:
    """eth1's link line with the given operstate, flags and trailing attributes."""
    return (
        f"3: eth1@if7: <{flags}> mtu 1500 qdisc noqueue state {state} mode DEFAULT group default"
        f" qlen 1000\\    link/ether b6:b8:96:17:0d:fd brd ff:ff:ff:ff:ff:ff{extra}\n"
    )


def vip_on_eth1(eth1: str) -> str:
    return LINK_LO + LINK_ETH0 + eth1 + ADDR_VIP_ON_ETH1[len(LINKS) :]


NOT_LINUX = "% Invalid input detected at '^' marker.\n"

OK, FAILED = MARK_OK + "\n", MARK_FAIL + "\n"
VIP = "10.99.0.51"

# (case, interface, addr output, check output, role, reason, raw, ready) for keepalived-ssh;
# linux-vip reads the same with "health command" for "keepalived check".
VIP_CASES: list[
    tuple[str, str | None, Value | None, Value | None, Role, str | None, str | None, bool]
] = [
    ("holds_vip", None, ADDR_VIP, OK, Role.ACTIVE, None, f"holds {VIP}; {{s}} ok", True),
    ("no_vip", None, ADDR_NO_VIP, OK, Role.STANDBY, None, f"does not hold {VIP}; {{s}} ok", True),
    (
        "no_vip_check_failed",
        None,
        ADDR_NO_VIP,
        FAILED,
        Role.FAULT,
        "{s} failed",
        f"does not hold {VIP}; {{s}} failed",
        True,
    ),
    (
        "vip_check_failed",
        None,
        ADDR_VIP,
        FAILED,
        Role.ACTIVE,
        "holds the VIP but {s} failed",
        f"holds {VIP}; {{s}} failed",
        False,
    ),
    (
        "vip_on_the_named_interface",
        "eth1",
        ADDR_VIP_ON_ETH1,
        OK,
        Role.ACTIVE,
        None,
        f"holds {VIP}; {{s}} ok",
        True,
    ),
    (
        "vip_on_another_interface",
        "eth0",
        ADDR_VIP_ON_ETH1,
        OK,
        Role.STANDBY,
        None,
        f"does not hold {VIP}; {{s}} ok",
        True,
    ),
    ("noise_first", None, ADDR_AFTER_NOISE, OK, Role.ACTIVE, None, f"holds {VIP}; {{s}} ok", True),
    (
        "not_ip_output",
        None,
        NOT_LINUX,
        NOT_LINUX,
        Role.UNKNOWN,
        "ip -o addr: unrecognised output",
        None,
        True,
    ),
    ("empty_output", None, "", OK, Role.UNKNOWN, "ip -o addr: unrecognised output", None, True),
    (
        "addr_not_returned",
        None,
        Missing.NOT_RETURNED,
        OK,
        Role.UNKNOWN,
        "ip -o addr: notReturned",
        None,
        True,
    ),
    ("addr_absent", None, None, OK, Role.UNKNOWN, "ip -o addr: unrecognised output", None, True),
    ("check_no_marker", None, ADDR_VIP, NOT_LINUX, Role.UNKNOWN, "{s}: no result", None, True),
    (
        "addr_lines_only",
        None,
        ADDR_ONLY,
        OK,
        Role.UNKNOWN,
        "ip -o addr: unrecognised output",
        None,
        True,
    ),
    (
        "macvlan_up",
        None,
        LINK_LO + LINK_ETH0 + LINK_MACVLAN_UP + ADDR_ON_MACVLAN,
        OK,
        Role.ACTIVE,
        None,
        f"holds {VIP}; {{s}} ok",
        True,
    ),
    (
        "macvlan_protodown",
        None,
        LINK_LO + LINK_ETH0 + LINK_MACVLAN_PROTODOWN + ADDR_ON_MACVLAN,
        OK,
        Role.STANDBY,
        None,
        f"does not hold {VIP} ({VIP} on vrrp4-2-51, protodown); {{s}} ok",
        True,
    ),
    (
        "macvlan_protodown_check_failed",
        None,
        LINK_LO + LINK_ETH0 + LINK_MACVLAN_PROTODOWN + ADDR_ON_MACVLAN,
        FAILED,
        Role.FAULT,
        "{s} failed",
        f"does not hold {VIP} ({VIP} on vrrp4-2-51, protodown); {{s}} failed",
        True,
    ),
    # protodown with carrier still on (never seen: the kernel drops it) still is not held.
    (
        "protodown_flag_alone",
        None,
        vip_on_eth1(link("UP", "BROADCAST,UP,LOWER_UP", " protodown on")),
        OK,
        Role.STANDBY,
        None,
        f"does not hold {VIP} ({VIP} on eth1, protodown); {{s}} ok",
        True,
    ),
    (
        "admin_down",
        None,
        vip_on_eth1(link("DOWN", "BROADCAST,MULTICAST")),
        OK,
        Role.STANDBY,
        None,
        f"does not hold {VIP} ({VIP} on eth1, administratively down); {{s}} ok",
        True,
    ),
    (
        "no_carrier",
        None,
        vip_on_eth1(link("DOWN", "NO-CARRIER,BROADCAST,MULTICAST,UP")),
        OK,
        Role.STANDBY,
        None,
        f"does not hold {VIP} ({VIP} on eth1, no carrier (state DOWN)); {{s}} ok",
        True,
    ),
    (
        "dormant",
        None,
        vip_on_eth1(link("DORMANT", "BROADCAST,MULTICAST,UP,LOWER_UP")),
        OK,
        Role.STANDBY,
        None,
        f"does not hold {VIP} ({VIP} on eth1, state DORMANT); {{s}} ok",
        True,
    ),
    (
        "lower_layer_down",
        None,
        vip_on_eth1(link("LOWERLAYERDOWN", "BROADCAST,MULTICAST,UP,LOWER_UP")),
        OK,
        Role.STANDBY,
        None,
        f"does not hold {VIP} ({VIP} on eth1, state LOWERLAYERDOWN); {{s}} ok",
        True,
    ),
    # Loopback and dummy interfaces report operstate UNKNOWN, carrier on: up.
    (
        "state_unknown_is_up",
        None,
        vip_on_eth1(link("UNKNOWN", "BROADCAST,NOARP,UP,LOWER_UP")),
        OK,
        Role.ACTIVE,
        None,
        f"holds {VIP}; {{s}} ok",
        True,
    ),
    (
        "no_link_line",
        None,
        LINK_LO + LINK_ETH0 + ADDR_VIP_ON_ETH1[len(LINKS) :],
        OK,
        Role.UNKNOWN,
        f"{VIP} on eth1: no link line in `ip -o link`",
        None,
        True,
    ),
    # The same index under another name (renamed between the two commands): not eth1's line.
    (
        "link_line_of_another_name",
        None,
        vip_on_eth1(link("UP", "UP,LOWER_UP").replace("eth1@if7", "eth9")),
        OK,
        Role.UNKNOWN,
        f"{VIP} on eth1: no link line in `ip -o link`",
        None,
        True,
    ),
    (
        "conflicting_link_lines",
        None,
        vip_on_eth1(link("UP", "UP,LOWER_UP") + link("DOWN", "NO-CARRIER,UP")),
        OK,
        Role.UNKNOWN,
        f"{VIP} on eth1: conflicting link lines in `ip -o link`",
        None,
        True,
    ),
    # One interface up is enough (keepalived's VIP on eth0, a leftover on a down macvlan).
    (
        "up_on_one_of_two",
        None,
        LINK_LO
        + LINK_ETH0
        + LINK_MACVLAN_PROTODOWN
        + ADDR_ON_MACVLAN
        + "2: eth0    inet 10.99.0.51/32 scope global eth0\n",
        OK,
        Role.ACTIVE,
        None,
        f"holds {VIP}; {{s}} ok",
        True,
    ),
    ("check_absent", None, ADDR_VIP, None, Role.UNKNOWN, "{s}: no result", None, True),
]


def _values(addr: Value | None, check_key: str, check: Value | None) -> Mapping[str, Value]:
    values: dict[str, Value] = {}
    if addr is not None:
        values["addr"] = addr
    if check is not None:
        values[check_key] = check
    return values


@pytest.mark.parametrize("case", [row[0] for row in VIP_CASES])
def test_vip_kinds_views(case: str) -> None:
    _, interface, addr, check, role, reason, raw, ready = next(
        row for row in VIP_CASES if row[0] == case
    )
    for kind_view, service in (
        (
            KeepalivedSshKind().interpret(
                KeepalivedSshParams(vip=VIP, interface=interface),
                _values(addr, "service", check),
            ),
            "keepalived check",
        ),
        (
            LinuxVipKind().interpret(
                LinuxVipParams(vip=VIP, interface=interface), _values(addr, "health", check)
            ),
            "health command",
        ),
    ):
        assert kind_view == MemberView(
            role,
            reason=None if reason is None else reason.format(s=service),
            raw=None if raw is None else raw.format(s=service),
            ready=ready,
        )


@pytest.mark.parametrize("vip", ["2001:DB8::10", "2001:db8:0:0::10", "2001:db8::10"])
def test_vip_canonical_ipv6(vip: str) -> None:
    """An IPv6 VIP is matched as an address: `ip` prints it compressed in lower case, whatever
    form the inventory wrote (before the fix, 2001:DB8::10 never matched: the active server read
    as standby)."""
    addr = (
        "2: ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT\n"
        "2: ens3    inet6 2001:db8::10/64 scope global nodad \\       valid_lft forever\n"
    )
    got = LinuxVipKind().interpret(LinuxVipParams(vip=vip), {"addr": addr, "health": OK})
    assert (got.role, got.ready) == (Role.ACTIVE, True)


@pytest.mark.parametrize(
    ("interface", "command"),
    [
        (None, "ip -o link show; ip -o addr show"),
        ("eth1", "ip -o link show dev eth1; ip -o addr show dev eth1"),
        ("", "ip -o link show; ip -o addr show"),
        ("eth1; reboot", "ip -o link show dev 'eth1; reboot'; ip -o addr show dev 'eth1; reboot'"),
    ],
)
def test_vip_kinds_commands(interface: str | None, command: str) -> None:
    """The one command run on the server for the VIP: link lines, then addresses (of the named
    interface only)."""
    ka = KeepalivedSshKind().probes(
        KeepalivedSshParams(vip=VIP, interface=interface, service_check="pidof keepalived")
    )
    assert ka == (
        ssh_probe("addr", command),
        ssh_probe(
            "service", f"( pidof keepalived ) >/dev/null 2>&1 && echo {MARK_OK} || echo {MARK_FAIL}"
        ),
    )
    lv = LinuxVipKind().probes(LinuxVipParams(vip=VIP, interface=interface, health_command="true"))
    assert lv == (
        ssh_probe("addr", command),
        ssh_probe("health", f"( true ) >/dev/null 2>&1 && echo {MARK_OK} || echo {MARK_FAIL}"),
    )


@pytest.mark.parametrize(
    ("vip", "problems"),
    [
        (VIP, []),
        ("2001:db8::10", []),
        ("10.99.0.300", [("vip", "not an IP address: '10.99.0.300'")]),
        ("vip.example.net", [("vip", "not an IP address: 'vip.example.net'")]),
    ],
)
def test_vip_params(vip: str, problems: list[tuple[str, str]]) -> None:
    assert KeepalivedSshKind().check(KeepalivedSshParams(vip=vip)) == problems
    assert LinuxVipKind().check(LinuxVipParams(vip=vip)) == problems


# --- custom ----------------------------------------------------------------------------------

OID = "1.3.6.1.4.1.2636.3.1.14.1.7.1"
TABLE = {"2": "active", "3": "standby", "4": "fault"}


@pytest.mark.parametrize(
    ("params", "problems"),
    [
        (CustomParams(oid=OID, values=TABLE), []),
        (CustomParams(oid=OID, values=TABLE, method="walk"), []),
        (
            CustomParams(
                oid=OID, values=TABLE, method="walk", column="1.3.6.1.4.1.2636.3.1.14.1.7"
            ),
            [],
        ),
        (
            CustomParams(oid="1.3.6.x.1", values=TABLE),
            [("oid", "not a numeric OID: '1.3.6.x.1' (bad arc 'x')")],
        ),
        (
            # A column is no prefix of an OID that did not parse: only the OID is named.
            CustomParams(oid="1.3.6.x.1", values=TABLE, method="walk", column="1.3.6.1"),
            [("oid", "not a numeric OID: '1.3.6.x.1' (bad arc 'x')")],
        ),
        (
            CustomParams(oid=OID, values=TABLE, method="bulk"),
            [("method", "must be 'get' or 'walk', got 'bulk'")],
        ),
        (
            CustomParams(oid=OID, values=TABLE, method="walk", column="1.3.6.y"),
            [("column", "not a numeric OID: '1.3.6.y' (bad arc 'y')")],
        ),
        (
            CustomParams(oid=OID, values=TABLE, method="walk", column="1.3.6.1.2.1"),
            [("column", f"1.3.6.1.2.1 is not a prefix of oid {OID}")],
        ),
        (
            CustomParams(oid=OID, values={}),
            [("values", "needs at least one 'raw value: role' entry")],
        ),
        (
            CustomParams(oid=OID, values={"2": "master", "3": "standby"}),
            [("values.2", "unknown role 'master'; choose one of: active, standby, fault")],
        ),
    ],
)
def test_custom_params(params: CustomParams, problems: list[tuple[str, str]]) -> None:
    assert CustomKind().check(params) == problems


@pytest.mark.parametrize(
    ("params", "probe"),
    [
        (
            CustomParams(oid=OID, values=TABLE),
            Probe("value", (1, 3, 6, 1, 4, 1, 2636, 3, 1, 14, 1, 7, 1), "get", None),
        ),
        (
            # The walk starts from the column the operator named, not the OID's parent.
            CustomParams(oid=OID, values=TABLE, method="walk", column="1.3.6.1.4.1.2636.3.1.14"),
            Probe(
                "value",
                (1, 3, 6, 1, 4, 1, 2636, 3, 1, 14, 1, 7, 1),
                "walk",
                (1, 3, 6, 1, 4, 1, 2636, 3, 1, 14),
            ),
        ),
    ],
)
def test_custom_probe(params: CustomParams, probe: Probe) -> None:
    (got,) = CustomKind().probes(params)
    assert got == probe
    assert got.walk_start() == (probe.column or probe.oid[:-1])


LONG_TEXT = "standby-unit-of-the-pair-" + "x" * 30  # 55 characters
LONG_TABLE = {**TABLE, LONG_TEXT: "standby"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"value": 2}, MemberView(Role.ACTIVE, raw="2")),
        ({"value": "3"}, MemberView(Role.STANDBY, raw="3")),
        ({"value": 4}, MemberView(Role.FAULT, reason="value 4 maps to fault", raw="4")),
        ({"value": LONG_TEXT}, MemberView(Role.STANDBY, raw=LONG_TEXT[:40])),
        (
            {"value": 7},
            MemberView(Role.UNKNOWN, reason="unmapped value '7'", raw="7"),
        ),
        (
            {"value": "y" * 50},
            MemberView(Role.UNKNOWN, reason=f"unmapped value {'y' * 40!r}", raw="y" * 40),
        ),
        ({}, MemberView(Role.UNKNOWN, reason="value: notReturned", raw="notReturned")),
        (
            {"value": Missing.NO_SUCH_INSTANCE},
            MemberView(Role.UNKNOWN, reason="value: noSuchInstance", raw="noSuchInstance"),
        ),
    ],
)
def test_custom_views(values: dict[str, Value], expected: MemberView) -> None:
    params = CustomParams(oid=OID, values=LONG_TABLE)
    assert CustomKind().interpret(params, values) == expected
