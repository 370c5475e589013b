"""The lab's pairs named as NetBox names them (issue 19): lab-v2 by `interface: eth0` (resolved
over the routers' IF-MIB ifName) instead of `if_index: 2`, lab-ka by `vrid: 51` (resolved over
KEEPALIVED-MIB vrrpInstanceVirtualRouterId) instead of `instance: 1`; `netmon check` judges both
healthy, through the same rows as the numbered ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netmon.lab import Lab

from .conftest import REPO

pytestmark = [pytest.mark.lab, pytest.mark.root]

NETMON = [sys.executable, "-m", "netmon"]


def test_lab_pairs_named_by_interface_and_vrid_are_healthy(lab: Lab, tmp_path: Path) -> None:
    text = (REPO / "inventory" / "lab.yaml").read_text()
    named = text.replace("params: {if_index: 2, vrid: 51}", "params: {interface: eth0, vrid: 51}")
    named = named.replace("    params: {instance: 1}\n", "    params: {vrid: 51}\n", 1)
    assert named.count("interface: eth0, vrid: 51") == 1 and "params: {vrid: 51}" in named
    # Its drill then names the instance its SET goes to (the loader refuses a guess).
    ka_drill = "drill: {actuator: keepalived-priority, max_switchover: 8"
    assert named.count(ka_drill) == 1
    named = named.replace(
        ka_drill, ka_drill.replace("priority,", "priority, params: {instance: 1},")
    )
    path = tmp_path / "lab-names.yaml"
    path.write_text(named)
    run = subprocess.run([*NETMON, "check", "-i", str(path), "--json"],
                         capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    pairs = {p["pair"]: p for p in json.loads(run.stdout)["pairs"]}
    for name, shown in (("lab-v2", "ifIndex 2 (eth0) VRID 51"), ("lab-ka", "VRID 51")):
        assert pairs[name]["state"] == "healthy", (name, pairs[name]["reasons"])
        assert all(shown in (m["identity"] or "") for m in pairs[name]["members"]), pairs[name]
