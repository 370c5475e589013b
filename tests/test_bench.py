"""The benchmark itself stays runnable: a tiny run of `python -m bench.run` on a real snmpd fleet
(the exporter's rows appear only where prometheus-snmp-exporter is installed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.snmpd
def test_a_small_bench_run_polls_every_pair_and_reports(tmp_path: Path) -> None:
    require(shutil.which("snmpd") is not None or Path("/usr/sbin/snmpd").exists(), "no snmpd")
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--pairs", "10", "--daemon-pairs", "10",
         "--cycles", "1", "--interval", "2", "--daemon-cycles", "1", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    poll_path = next(r for r in results if r["peer"] == "netmon")
    assert poll_path["pair_states"] == {"healthy": 10}
    daemon = next(r for r in results if r["peer"].startswith("netmon daemon"))
    assert daemon["pair_states"] == {"healthy": 10}
    assert daemon["polls_missed"] == 0
    assert daemon["pair_polls"] >= daemon["expected_pair_polls"]
    assert daemon["scrape_bytes"] > 0
    assert "ratios: netmon CPU / snmp_exporter CPU" in run.stdout
