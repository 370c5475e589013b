"""Inventory loading: strict shape, every problem with file:line, secrets masked everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netmon.cli import app
from netmon.errors import ConfigError
from netmon.inventory import load_inventory
from netmon.model import Mode, SnmpV2c, SnmpV3

from .conftest import REPO

FIX = Path(__file__).parent / "fixtures" / "inventory"
runner = CliRunner()


def write(tmp_path: Path, text: str, name: str = "inv.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    return [str(p) for p in info.value.problems]


def test_validate_reports_unknown_key_dangling_member_and_bad_oid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NETMON_TEST_COMMUNITY", "c0mmunity-value-xyz")
    path = FIX / "broken.yaml"
    result = runner.invoke(app, ["inventory", "validate", str(path)])
    assert result.exit_code == 2
    lines = [l for l in result.stderr.splitlines() if re.match(r"^\S+:\d+: ", l)]
    assert lines == [
        f"{path}:13: pairs[0].prefered: unknown key 'prefered'; allowed here: config, drill, flap_threshold, "
        "flap_window, interval, kind, labels, links, members, mode, name, params, preferred, "
        "probes, split_brain_debounce, stale_after, thresholds, virtual_ip",
        f"{path}:19: pairs[1].members[1].device: member 'r3' names unknown device 'r3' (devices: r1, r2)",
        f"{path}:23: pairs[2].params.oid: not a numeric OID: '1.3.6.1.4.1.x.1' (bad arc 'x')",
    ]
    assert "Traceback" not in result.output


def test_shipped_inventories_are_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".local" / "state" / "netmon").mkdir(parents=True)
    (tmp_path / ".local" / "state" / "netmon" / "demo-community").write_text("x\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETMON_SNMP_AUTH", "authkey-1")
    monkeypatch.setenv("NETMON_SNMP_PRIV", "privkey-1")
    demo = load_inventory(REPO / "inventory" / "demo.yaml")
    assert len(demo.pairs) >= 4
    example = load_inventory(REPO / "inventory" / "example.yaml")
    core = example.devices["core-a"].snmp
    assert core is not None and isinstance(core.credentials, SnmpV3)
    acc = example.devices["acc-1"].snmp
    assert acc is not None and isinstance(acc.credentials, SnmpV2c)  # the group overrides v3
    dc = example.pair("dc-vrrp")
    assert dc is not None
    assert [getattr(m.params, "if_index", None) for m in dc.members] == [
        3,
        4,
    ]  # member params override the pair's
    sup = example.pair("core-sup")
    assert sup is not None and {m.device for m in sup.members} == {"sup"}


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "devices:\n  r1: {address: 10.99.0.1\npairs: []\n")
    found = problems(path)
    assert len(found) == 1
    # The flow mapping opened on line 2 is still open where line 3 begins: YAML marks line 3.
    assert re.match(rf"^{re.escape(str(path))}:3: <document>: invalid YAML", found[0]), found


def test_a_problem_in_a_list_names_the_item_line(tmp_path: Path) -> None:
    """A scalar list item on a line of its own is reported at that line, not at the key above."""
    path = write(
        tmp_path,
        "version: 1\n"
        "devices:\n"
        "  r1: {address: 10.99.0.1}\n"
        "  r2: {address: 10.99.0.2}\n"
        "pairs:\n"
        "  - name: p\n"
        "    kind: keepalived\n"
        "    params: {instance: 1}\n"
        "    members:\n"
        "      - r1\n"
        "      - r3\n",
    )
    found = problems(path)
    assert any(p.startswith(f"{path}:11: pairs[0].members[1]") for p in found), found


def test_undecodable_and_unreadable_text_names_its_line(tmp_path: Path) -> None:
    """A byte that is not UTF-8 and a control character YAML refuses each name the line they
    are on; a bare scalar or an empty file is a problem at line 1."""
    bad_byte = tmp_path / "latin1.yaml"
    bad_byte.write_bytes(b"version: 1\ndevices:\n  r\xe9: {address: 10.99.0.1}\n")
    assert problems(bad_byte) == [f"{bad_byte}:3: <document>: not UTF-8: byte 0xe9 at offset 23"]
    control = write(tmp_path, "version: 1\ndevices: {}\npairs: [\x07]\n")
    found = problems(control)
    assert len(found) == 1 and found[0].startswith(f"{control}:3: <document>: invalid YAML")
    scalar = write(tmp_path, "5\n", "scalar.yaml")
    assert problems(scalar)[0].startswith(f"{scalar}:1: ")


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "devices:\n  r1: {address: 10.99.0.1}\n  r1: {address: 10.99.0.2}\n")
    assert "invalid YAML" in problems(path)[0]


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    assert "file not found" in problems(tmp_path / "nope.yaml")[0]
    assert "must be a mapping" in problems(write(tmp_path, "- a\n- b\n"))[0]


def test_missing_secret_names_the_reference_not_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NETMON_NOT_SET_ANYWHERE", raising=False)
    path = write(
        tmp_path,
        "devices:\n  r1:\n    address: 10.99.0.1\n    snmp:\n      community: {env: NETMON_NOT_SET_ANYWHERE}\n",
    )
    assert problems(path) == [
        f"{path}:5: devices.r1.snmp.community: secret: environment variable NETMON_NOT_SET_ANYWHERE is not set"
    ]


def test_inline_secret_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "devices:\n  r1:\n    address: 10.99.0.1\n    snmp: {community: public}\n"
    )
    found = problems(path)
    assert found and found[0].startswith(f"{path}:4: devices.r1.snmp.community")
    assert "public" not in found[0]


def test_secret_from_file_is_masked(tmp_path: Path) -> None:
    (tmp_path / "comm.txt").write_text("file-s3cret-value\n")
    path = write(
        tmp_path,
        "devices:\n  r1: {address: 10.99.0.1, snmp: {community: {file: comm.txt}}}\n"
        "pairs:\n  - {name: p, kind: keepalived, params: {instance: 1}, members: [r1, r2]}\n"
        "  - {name: q, kind: keepalived, params: {instance: 2}, members: [r1]}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    text = str(info.value)
    assert "file-s3cret-value" not in text
    assert "names unknown device 'r2'" in text
    assert "needs at least two members" in text


def test_secret_never_in_repr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETMON_T_COMM", "repr-s3cret-value")
    path = write(
        tmp_path,
        "devices:\n  r1: {address: 10.99.0.1, snmp: {community: {env: NETMON_T_COMM}}}\n"
        "  r2: {address: 10.99.0.2, snmp: {community: {env: NETMON_T_COMM}}}\n"
        "pairs:\n  - {name: p, kind: vrrpv3, mode: active_active, params: {if_index: 2, vrid: 9}, members: [r1, r2]}\n",
    )
    inv = load_inventory(path)
    assert "repr-s3cret-value" not in repr(inv)
    assert "repr-s3cret-value" not in str(inv)
    assert inv.pairs[0].mode is Mode.ACTIVE_ACTIVE
    creds = inv.devices["r1"].snmp.credentials  # type: ignore[union-attr]
    assert isinstance(creds, SnmpV2c) and creds.community.reveal() == "repr-s3cret-value"


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "defaults:\n  snmp: {community: {env: HOME}, timeout: -1}\n"
        "groups:\n  g: {snmp: {port: 70000}}\n"
        "devices:\n  r1: {address: 10.99.0.1, group: g}\n  r2: {address: 10.99.0.2, group: nope}\n"
        "pairs:\n"
        "  - {name: p, kind: vrrpz, members: [r1, r2]}\n"
        "  - {name: q, kind: vrrp, params: {if_index: 2}, members: [r1, r2]}\n"
        "  - {name: q, kind: vrrp, params: {if_index: 2, vrid: 300}, members: [r1, r2], preferred: r9}\n",
    )
    text = "\n".join(problems(path))
    assert ":2: defaults.snmp.timeout:" in text  # reported where it was written
    assert ":4: groups.g.snmp.port:" in text
    assert "unknown group 'nope'" in text
    assert (
        "unknown pair kind 'vrrpz'; choose one of: arista-eos-vrrp, arista-redundancy, cisco-asa, cisco-ios-hsrp,"
        in text
    )
    assert "kind 'vrrp' needs parameter 'vrid'" in text
    assert "pair name 'q' is used twice" in text


def test_kind_range_checks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "devices:\n  r1: {address: 10.99.0.1, snmp: {community: {env: HOME}}}\n"
        "  r2: {address: 10.99.0.2, snmp: {community: {env: HOME}}}\n"
        "pairs:\n  - name: p\n    kind: vrrp\n    params: {if_index: 0, vrid: 300}\n"
        "    members: [r1, r2]\n    preferred: r9\n",
    )
    assert problems(path) == [
        f"{path}:7: pairs[0].params.vrid: VRID must be 1..255, got 300",
        f"{path}:7: pairs[0].params.if_index: ifIndex must be 1 or more, got 0",
        f"{path}:9: pairs[0].preferred: preferred member 'r9' is not one of: r1, r2",
    ]


def test_kind_parameter_errors_point_into_params(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "devices:\n  r1: {address: 10.99.0.1, snmp: {community: {env: HOME}}}\n"
        "  r2: {address: 10.99.0.2, snmp: {community: {env: HOME}}}\n"
        "pairs:\n  - name: p\n    kind: vrrp\n    params: {if_index: 2, vrid: 300, colour: red}\n"
        "    members: [r1, r2]\n",
    )
    text = "\n".join(problems(path))
    assert (
        f"{path}:7: pairs[0].params.colour: unknown key 'colour'; allowed here: if_index, vrid"
        in text
    )


def test_snmp_v3_shape_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "devices:\n  r1:\n    address: 10.99.0.1\n    snmp: {version: '3', user: u, priv_protocol: AES, priv_key: {env: HOME}}\n",
    )
    assert "privacy (priv_*) needs authentication (auth_*) too" in problems(path)[0]


def test_two_members_reading_the_same_unit_are_refused(tmp_path: Path) -> None:
    """The same device and the same params: both members would always agree (a split-brain
    forever, or a standby that is the active one). A typo, said where it is."""
    path = write(
        tmp_path,
        "version: 1\ndevices:\n  fw: {address: 10.99.0.9, snmp: {community: {env: HOME}}}\n"
        "pairs:\n  - name: p\n    kind: fortigate-ha\n    members:\n"
        "      - {name: a, device: fw, params: {hostname: FW1}}\n"
        "      - {name: b, device: fw, params: {hostname: FW1}}\n",
    )
    found = problems(path)
    assert any("pairs[0].members[1]" in p and "reads the same unit as 'a'" in p for p in found), (
        found
    )
    # As the kind matches names: ignoring case (FortiGate hostnames), "Routing Engine 1" and
    # re 1 (Junos descriptions).
    for kind, a, b in (
        ("fortigate-ha", "{hostname: FW1}", "{hostname: 'fw1 '}"),
        ("junos-re", "{re: 1}", "{descr: routing  engine 1}"),
    ):
        path = write(
            tmp_path,
            "version: 1\ndevices:\n  fw: {address: 10.99.0.9, snmp: {community: {env: HOME}}}\n"
            f"pairs:\n  - name: p\n    kind: {kind}\n    members:\n"
            f"      - {{name: a, device: fw, params: {a}}}\n"
            f"      - {{name: b, device: fw, params: {b}}}\n",
        )
        assert any("reads the same unit as 'a'" in p for p in problems(path)), kind


def test_a_binary_secret_file_is_a_config_error_without_its_bytes(tmp_path: Path) -> None:
    from netmon.errors import SecretError
    from netmon.inventory.secrets import resolve

    secret = tmp_path / "community"
    secret.write_bytes(b"\xff\xfeS3cr\xe9t")
    with pytest.raises(SecretError, match="is not UTF-8 text") as caught:
        resolve(None, str(secret), tmp_path)
    assert "S3cr" not in str(caught.value)


def test_a_secret_file_others_can_read_is_warned_about_by_path_never_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from netmon.inventory.secrets import resolve

    secret = tmp_path / "community"
    secret.write_text("S3cretCommunity\n", encoding="utf-8")
    secret.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="netmon.inventory.secrets"):
        assert resolve(None, str(secret), tmp_path).reveal() == "S3cretCommunity"
    assert not caplog.records  # owner-only: silent
    for mode in (0o640, 0o604, 0o644):
        secret.chmod(mode)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="netmon.inventory.secrets"):
            resolve(None, str(secret), tmp_path)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, oct(mode)
        text = warnings[0].getMessage()
        assert str(secret) in text and "chmod 600" in text
        assert "S3cret" not in caplog.text
