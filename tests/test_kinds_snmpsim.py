"""Every SNMP kind, end to end: the recorded cases of tests/fixtures/kinds become snmpsim data
(one simulated agent per case, chosen by community), and `netmon check --json` reads them
through the real collector. Each member must come out with the role its case records.

Cases that need noSuchObject (a MIB the agent does not implement at all) are left out: snmpsim
answers noSuchInstance for every OID it lacks, which is the "peer absent" case instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netmon.kinds import KINDS
from netmon.model import parse_oid

from .conftest import free_udp_port, require, stop_process
from .test_kinds_contract import load_fixture

pytestmark = pytest.mark.daemon

SNMPSIM = Path(sys.executable).parent / "snmpsim-command-responder"


def snmprec_line(oid: str, value: Any) -> str:
    """One snmpsim record: OID|tag|value (2 INTEGER, 4 OCTET STRING)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{oid}: cannot record {value!r}")
    if isinstance(value, int):
        return f"{oid}|2|{value}"
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value):
        return f"{oid}|64|{value}"  # an IpAddress, as agents send cHsrpGrpActiveRouter & co.
    return f"{oid}|4|{value}"


def agent_name(kind: str, case: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{kind}__{case}")


def snmp_cases() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for name in KINDS.names():
        if KINDS.get(name).transport != "snmp":
            continue
        fixture = load_fixture(name)
        for case, spec in fixture["cases"].items():
            values = {str(k): v for k, v in spec["values"].items()}
            if any(v == "!noSuchObject" for v in values.values()):
                continue
            # A case's own `params` replace the fixture's (as in test_kinds_contract.py).
            params = spec.get("params", fixture["params"])
            out.append((name, case, {**spec, "params": params, "values": values}))
    return out


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    require(SNMPSIM.exists(), "snmpsim is not installed (make test installs it)")
    work = tmp_path_factory.mktemp("snmpsim")
    data, cache = work / "data", work / "cache"
    data.mkdir()
    cache.mkdir()
    for kind, case, spec in snmp_cases():
        rows = sorted(
            (parse_oid(oid), snmprec_line(oid, value))
            for oid, value in spec["values"].items()
            if not (isinstance(value, str) and value.startswith("!"))  # absent: noSuchInstance
        )
        (data / f"{agent_name(kind, case)}.snmprec").write_text(
            "".join(line + "\n" for _, line in rows)
        )
    port = free_udp_port()
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    log = (work / "snmpsim.log").open("wb")
    # No --timeout: in snmpsim 1.2.2 it is the responder's *lifetime* (the dispatcher stops
    # after that many seconds), not a request timeout. The responder runs until stop_process.
    proc = subprocess.Popen(
        [str(SNMPSIM), f"--data-dir={data}", f"--cache-dir={cache}",
         f"--agent-udpv4-endpoint=127.0.0.1:{port}"],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        probe = [
            shutil.which("snmpget") or "snmpget", "-v2c", "-c", agent_name(*snmp_cases()[0][:2]),
            "-t", "0.5", "-r", "0", f"127.0.0.1:{port}", next(iter(snmp_cases()[0][2]["values"])),
        ]  # fmt: skip
        while time.monotonic() < deadline:
            if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
                break
            assert proc.poll() is None, (work / "snmpsim.log").read_text()[-2000:]
            time.sleep(0.5)
        else:
            pytest.fail("snmpsim did not answer within 60 s")
        yield port, work
        # Every case was read from a responder that stayed up (none ended on its own).
        assert proc.poll() is None, (work / "snmpsim.log").read_text()[-2000:]
    finally:
        stop_process(proc)
        log.close()


def test_every_snmp_kind_read_end_to_end_by_netmon_check(agents: tuple[int, Path]) -> None:
    port, work = agents
    cases = snmp_cases()
    devices, pairs = [], []
    for i, (kind, case, spec) in enumerate(cases):
        name = agent_name(kind, case)
        # Two device names for the one simulated agent: both members read the same case (the
        # inventory refuses two members reading one unit of one device).
        for dev in (f"d{i}", f"e{i}"):
            devices.append(
                f"  {dev}: {{address: 127.0.0.1, snmp: {{port: {port}, community: {{env: C{i}}}}}}}"
            )
        params = json.dumps(spec["params"])
        pairs.append(
            f"  - {{name: {name}, kind: {kind}, members: [{{name: m, device: d{i}, params: {params}}},"
            f" {{name: n, device: e{i}, params: {params}}}]}}"
        )
    inventory = work / "kinds.yaml"
    inventory.write_text(
        "version: 1\ndefaults:\n  snmp: {timeout: 3, retries: 1}\n"
        "  pair: {probes: {enabled: false}}\n"
        "devices:\n" + "\n".join(devices) + "\npairs:\n" + "\n".join(pairs) + "\n"
    )
    env = {**os.environ, **{f"C{i}": agent_name(k, c) for i, (k, c, _) in enumerate(cases)}}
    run = subprocess.run(
        [sys.executable, "-m", "netmon", "check", "-i", str(inventory), "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    # Both members read the same case: the first one is checked.
    seen = {p["pair"]: p["members"][0] for p in json.loads(run.stdout)["pairs"]}
    wrong: list[tuple[Any, ...]] = []
    for kind, case, spec in cases:
        member = seen[agent_name(kind, case)]
        # `ready` means something for an active or standby member only; null otherwise.
        plain = spec["role"] in ("active", "standby")
        expected = (spec["role"], spec.get("ready", True) if plain else None)
        if (member["role"], member["ready"]) != expected:
            wrong.append((kind, case, expected, member["role"], member["ready"], member["reason"]))
        # What the case says the operator is shown (identity, the active peer heard, the reason)
        # must come through the real collector too.
        for key in ("reason", "identity", "peer_active"):
            want = spec.get(key)
            if isinstance(want, str) and want not in (member[key] or ""):
                wrong.append((kind, case, key, want, member[key]))
    assert not wrong, wrong
    assert len(cases) >= 60  # every SNMP kind, several cases each


def test_pairs_judged_on_evidence_never_on_blindness(agents: tuple[int, Path]) -> None:
    """Recorded agents judged as pairs by `netmon check`: a standby that names the active router
    while that router is unreachable from netmon is `degraded` with the reason that says so; two
    members whose rows are absent are `unknown`; only two members that answer and say "not
    active" are `down`."""
    port, work = agents
    dead = free_udp_port()  # nothing listens here: that member is unreachable from netmon
    hsrp = load_fixture("hsrp")
    vrrp = load_fixture("vrrp")
    heard = hsrp["cases"]["standby_hears_active"]["peer_active"]
    heard_v = vrrp["cases"]["backup_hears_master"]["peer_active"]
    agent = {
        "hsrp-standby": agent_name("hsrp", "standby_hears_active"),
        "vrrp-backup": agent_name("vrrp", "backup_hears_master"),
        "vrrp-absent": agent_name("vrrp", "row_absent"),
        "vrrp-init": agent_name("vrrp", "initialize"),
    }
    env = {**os.environ, "C_DEAD": "public"}
    devices = [
        f"  dead: {{address: 127.0.0.1, snmp: {{port: {dead}, community: {{env: C_DEAD}}}}}}"
    ]
    for i, (dev, community) in enumerate(agent.items()):
        env[f"C_{i}"] = community
        for copy in ("a", "b"):
            devices.append(
                f"  {dev}-{copy}: {{address: 127.0.0.1, snmp: {{port: {port}, community: {{env: C_{i}}}}}}}"
            )
    hp, vp = json.dumps(hsrp["params"]), json.dumps(vrrp["params"])

    def pair(name: str, kind: str, params: str, a: str, b: str) -> str:
        return (
            f"  - {{name: {name}, kind: {kind}, params: {params}, members: "
            f"[{{name: a, device: {a}}}, {{name: b, device: {b}}}]}}"
        )

    inventory = work / "evidence.yaml"
    inventory.write_text(
        "version: 1\ndefaults:\n  snmp: {timeout: 0.5, retries: 0}\n"
        "  pair: {probes: {enabled: false}}\n"
        "devices:\n" + "\n".join(devices) + "\npairs:\n" + "\n".join([
            pair("hsrp-blind", "hsrp", hp, "dead", "hsrp-standby-a"),
            pair("vrrp-blind", "vrrp", vp, "dead", "vrrp-backup-a"),
            pair("vrrp-unread", "vrrp", vp, "vrrp-absent-a", "vrrp-absent-b"),
            pair("vrrp-down", "vrrp", vp, "vrrp-init-a", "vrrp-init-b"),
        ]) + "\n"
    )  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "netmon", "check", "-i", str(inventory), "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr[-3000:]
    pairs = {p["pair"]: p for p in json.loads(run.stdout)["pairs"]}
    assert {n: p["state"] for n, p in pairs.items()} == {
        "hsrp-blind": "degraded",
        "vrrp-blind": "degraded",
        "vrrp-unread": "unknown",
        "vrrp-down": "down",
    }, {n: p["reasons"] for n, p in pairs.items()}
    for name, ip in (("hsrp-blind", heard), ("vrrp-blind", heard_v)):
        assert f"active unreachable from netmon (a); b hears {ip} as active" in " ".join(
            pairs[name]["reasons"]
        ), pairs[name]["reasons"]
        a, b = pairs[name]["members"]
        assert (a["role"], a["ready"]) == ("unreachable", None)
        assert (b["role"], b["peer_active"]) == ("standby", ip)
    assert [m["ready"] for m in pairs["vrrp-unread"]["members"]] == [None, None]
