"""Config drift: what is compared, what is ignored, what is never shown."""

from __future__ import annotations

from netmon.drift import RULE_SETS, compare, mask, normalise

KA = """! Configuration File for keepalived
global_defs {
    router_id r1
    snmp_socket unix:/var/lib/netmon-lab/r1/agentx.sock
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cretVRRP
    }
    unicast_src_ip 10.99.0.11
    unicast_peer {
        10.99.0.12
    }
    virtual_ipaddress {
        10.99.0.51/24 dev eth0
    }
}
"""


def peer_of(text: str) -> str:
    return (
        text.replace("router_id r1", "router_id r2")
        .replace("/r1/", "/r2/")
        .replace("state MASTER", "state BACKUP")
        .replace("priority 150", "priority 100")
        .replace("unicast_src_ip 10.99.0.11", "unicast_src_ip 10.99.0.12")
        .replace("        10.99.0.12\n", "        10.99.0.11\n")
    )


OWN = {"r1": ["r1", "10.99.0.11"], "r2": ["r2", "10.99.0.12"]}


def test_member_specific_lines_are_ignored() -> None:
    result = compare({"r1": KA, "r2": peer_of(KA)}, RULE_SETS["keepalived"], (), OWN)
    assert result.in_sync, result.diff


def test_a_real_difference_is_shown() -> None:
    changed = peer_of(KA).replace("advert_int 1", "advert_int 3")
    result = compare({"r1": KA, "r2": changed}, RULE_SETS["keepalived"], (), OWN)
    assert not result.in_sync
    assert "-    advert_int 1" in result.diff
    assert "+    advert_int 3" in result.diff
    assert result.diff[0].startswith("--- r1")


def test_differing_secret_is_drift_but_never_shown() -> None:
    changed = peer_of(KA).replace("auth_pass s3cretVRRP", "auth_pass 0therPass")
    result = compare({"r1": KA, "r2": changed}, RULE_SETS["keepalived"], (), OWN)
    assert not result.in_sync  # a VRRP password mismatch breaks failover: it must count
    text = "\n".join(result.diff)
    assert "s3cretVRRP" not in text
    assert "0therPass" not in text
    assert "auth_pass <masked>" in text


def test_pair_ignore_patterns() -> None:
    changed = peer_of(KA).replace("advert_int 1", "advert_int 3")
    assert compare(
        {"r1": KA, "r2": changed}, RULE_SETS["keepalived"], [r"^\s*advert_int\b"], OWN
    ).in_sync


def test_cisco_rules_and_timestamps() -> None:
    a = "Building configuration...\n! Last configuration change at 01:42:00 KST\nhostname core-a\ninterface Vlan10\n ip address 10.99.1.2 255.255.255.0\n standby 10 priority 110\n standby 10 ip 10.99.1.1\nsnmp-server community Publ1c RO\n"
    b = "Building configuration...\n! Last configuration change at 08:40:00 KST\nhostname core-b\ninterface Vlan10\n ip address 10.99.1.3 255.255.255.0\n standby 10 priority 100\n standby 10 ip 10.99.1.1\nsnmp-server community Publ1c RO\n"
    assert compare({"a": a, "b": b}, RULE_SETS["cisco-ios"], (), {}).in_sync
    c = b.replace("standby 10 ip 10.99.1.1", "standby 10 ip 10.99.1.9")
    assert not compare({"a": a, "b": c}, RULE_SETS["cisco-ios"], (), {}).in_sync


def test_mask_common_spellings() -> None:
    assert mask("enable secret 5 $1$abc$xyz") == "enable secret 5 <masked>"
    assert mask(" password 7 0822455D0A16") == " password 7 <masked>"
    assert mask("snmp-server community Publ1c RO") == "snmp-server community <masked> RO"
    assert mask('set authentication-key "abc"') == "set authentication-key <masked>"


def test_own_names_are_whole_words_only() -> None:
    lines = normalise("track r1 r10 r1.x /r1/ xr1\n", (), (), ["r1"])
    assert lines == ["track <member> r10 <member>.x /<member>/ xr1"]
