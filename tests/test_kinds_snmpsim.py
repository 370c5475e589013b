"""Every SNMP kind, end to end: the recorded agents of tests/fixtures/kinds/<kind>/<case>.snmprec
are served as they are by snmpsim (the fixture directory is its data directory: one simulated
agent per case, chosen by the community `<kind>/<case>`), and `netmon check --json` reads them
through the real collector. Each member must come out with the role the case's expectation file
(tests/fixtures/kinds/<kind>.yaml, written from the MIB, apart from the data) records.

Nothing is converted on the way: the data the contract tests read is the data the agent serves,
exceptions included (snmprec tag 128 is noSuchObject; an OID the file lacks is noSuchInstance).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from netmon.kinds import KINDS

from .conftest import free_udp_port, require, stop_process
from .test_kinds_contract import FIXTURES, agent_data, load_fixture

pytestmark = pytest.mark.daemon

SNMPSIM = Path(sys.executable).parent / "snmpsim-command-responder"


def community(kind: str, case: str) -> str:
    """snmpsim's community for a data file: its path under the data directory, no extension."""
    return f"{kind}/{case}"


def snmp_cases() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for name in KINDS.names():
        if KINDS.get(name).transport != "snmp":
            continue
        fixture = load_fixture(name)
        for case, spec in fixture["cases"].items():
            # A case's own `params` replace the fixture's (as in test_kinds_contract.py).
            out.append((name, case, {**spec, "params": spec.get("params", fixture["params"])}))
    return out


@contextmanager
def snmpsim_agent(data: Path, work: Path, community: str, oid: str) -> Iterator[int]:
    """snmpsim serving `data` (*.snmprec) on a loopback port of this session's own, once it
    answers a GET of `oid` with `community`; its port. Stopped (and checked alive) at the end."""
    require(SNMPSIM.exists(), "snmpsim is not installed (make test installs it)")
    cache = work / "cache"
    cache.mkdir()
    port = free_udp_port()
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    log = (work / "snmpsim.log").open("wb")
    # No --timeout: in snmpsim 1.2.2 it is the responder's *lifetime* (the dispatcher stops
    # after that many seconds), not a request timeout. The responder runs until stop_process.
    # snmpsim reads only *.snmprec in the data directory; its indexes go to the cache directory.
    proc = subprocess.Popen(
        [str(SNMPSIM), f"--data-dir={data}", f"--cache-dir={cache}",
         f"--agent-udpv4-endpoint=127.0.0.1:{port}"],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        probe = [
            shutil.which("snmpget") or "snmpget", "-v2c", "-c", community,
            "-t", "0.5", "-r", "0", f"127.0.0.1:{port}", oid,
        ]  # fmt: skip
        while time.monotonic() < deadline:
            if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
                break
            assert proc.poll() is None, (work / "snmpsim.log").read_text()[-2000:]
            time.sleep(0.5)
        else:
            pytest.fail("snmpsim did not answer within 60 s")
        yield port
        # Every case was read from a responder that stayed up (none ended on its own).
        assert proc.poll() is None, (work / "snmpsim.log").read_text()[-2000:]
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    work = tmp_path_factory.mktemp("snmpsim")
    kind, case, _ = next(c for c in snmp_cases() if agent_data(c[0], c[1]))
    first_oid = ".".join(map(str, next(iter(agent_data(kind, case)))))
    # The data directory is the fixture directory itself.
    with snmpsim_agent(FIXTURES, work, community(kind, case), first_oid) as port:
        yield port, work


def pair_name(kind: str, case: str) -> str:
    return f"{kind}__{case}".replace("-", "_")


def test_every_snmp_kind_read_end_to_end_by_netmon_check(agents: tuple[int, Path]) -> None:
    port, work = agents
    cases = snmp_cases()
    devices, pairs = [], []
    for i, (kind, case, spec) in enumerate(cases):
        name = pair_name(kind, case)
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
    env = {**os.environ, **{f"C{i}": community(k, c) for i, (k, c, _) in enumerate(cases)}}
    run = subprocess.run(
        [sys.executable, "-m", "netmon", "check", "-i", str(inventory), "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    # Both members read the same case: the first one is checked.
    seen = {p["pair"]: p["members"][0] for p in json.loads(run.stdout)["pairs"]}
    wrong: list[tuple[Any, ...]] = []
    for kind, case, spec in cases:
        member = seen[pair_name(kind, case)]
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
    # Every agent snmpsim serves was judged (the noSuchObject cases too).
    assert len(cases) == len(list(FIXTURES.glob("*/*.snmprec"))) > 150


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
        "hsrp-standby": community("hsrp", "standby_hears_active"),
        "vrrp-backup": community("vrrp", "backup_hears_master"),
        "vrrp-absent": community("vrrp", "row_absent"),
        "vrrp-init": community("vrrp", "initialize"),
    }
    env = {**os.environ, "C_DEAD": "public"}
    devices = [
        f"  dead: {{address: 127.0.0.1, snmp: {{port: {dead}, community: {{env: C_DEAD}}}}}}"
    ]
    for i, (dev, name) in enumerate(agent.items()):
        env[f"C_{i}"] = name
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
