"""The benchmark measures what docs/performance.md says it does: a tiny run of `python -m bench.run`
on a real snmpd fleet against the real prometheus-snmp-exporter (in the Makefile's DEBS; a run
without it fails, here as in the bench), a ratio on every netmon row, and `bench.check` holding
the doc's figures to its stated tolerance."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bench.check import main as check_main
from bench.check import parse_doc
from bench.run import add_ratios

from .conftest import require

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "performance.md"
SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"


def bench(
    out: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.run", *args, "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=180, check=False, env=env,
    )  # fmt: skip


def path_without_exporter(tmp_path: Path, fake: str | None = None) -> dict[str, str]:
    """A PATH holding only what the bench runs besides the exporter (snmpd, snmpget), and
    `fake` as prometheus-snmp-exporter if given."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("snmpget",):
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    if Path(SNMPD).exists():
        (bindir / "snmpd").symlink_to(SNMPD)
    if fake is not None:
        exe = bindir / "prometheus-snmp-exporter"
        exe.write_text(f"#!{sys.executable}\n{fake}")
        exe.chmod(0o755)
    return {**os.environ, "PATH": str(bindir)}


def rows(out: Path) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads(out.read_text())["results"]
    return results


@pytest.mark.snmpd
def test_a_small_bench_run_computes_a_ratio_for_every_netmon_row(tmp_path: Path) -> None:
    require(Path(SNMPD).exists(), "no snmpd")
    out = tmp_path / "results.json"
    # 100 pairs, 1 cycle: the exporter's CPU is read in clock ticks (10 ms), and at 10 pairs its
    # `get` config used 2 of them; 100 pairs give ~20, and the run stays under ~20 s.
    run = bench(out, "--pairs", "100", "--daemon-pairs", "100", "--cycles", "1", "--interval", "2",
                "--daemon-cycles", "1")  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    results = rows(out)
    cpu = {r["peer"]: r["cpu_s_per_1k_pair_polls"] for r in results}
    for module in ("walk", "get"):
        exporter = next(r for r in results if r["peer"] == f"snmp_exporter ({module})")
        assert exporter["pairs"] == 100
        assert exporter["cpu_s_per_1k_pair_polls"] > 0
        assert exporter["scrape_bytes_per_device"] > 0
    netmon_rows = [r for r in results if r["peer"].startswith("netmon")]
    assert [r["peer"] for r in netmon_rows] == ["netmon", "netmon daemon (2 s cycle)"]
    for row in netmon_rows:
        for module in ("walk", "get"):
            ratio = row[f"ratio_{module}"]
            assert isinstance(ratio, float)
            assert math.isfinite(ratio)
            assert ratio > 0
            # this row's own CPU over the exporter's, not another row's
            mine = row["cpu_s_per_1k_pair_polls"] / cpu[f"snmp_exporter ({module})"]
            assert ratio == pytest.approx(mine)
        assert f"{row['peer']:30} {row['pairs']:>6} pairs: vs walk {row['ratio_walk']:5.2f}" in (
            run.stdout
        )
    assert not any("ratio_walk" in r for r in results if r["peer"].startswith("snmp_exporter"))
    poll_path = next(r for r in results if r["peer"] == "netmon")
    assert poll_path["pair_states"] == {"healthy": 100}
    daemon = next(r for r in results if r["peer"].startswith("netmon daemon"))
    assert daemon["pair_states"] == {"healthy": 100}
    assert daemon["polls_missed"] == 0
    assert daemon["pair_polls"] >= daemon["expected_pair_polls"]
    assert daemon["scrape_bytes"] > 0


def test_the_bench_refuses_to_run_without_its_peer(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    run = bench(out, "--pairs", "10", "--cycles", "1", env=path_without_exporter(tmp_path))
    assert run.returncode != 0
    assert "prometheus-snmp-exporter is not on PATH" in run.stderr
    assert not out.exists()


def test_the_bench_fails_when_its_peer_exits_at_start(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = path_without_exporter(tmp_path, fake="import sys\nsys.exit(3)\n")
    run = bench(out, "--pairs", "10", "--cycles", "1", env=env)
    assert run.returncode != 0
    assert "prometheus-snmp-exporter exited with 3" in run.stderr
    assert not out.exists()


# Answers every request with 200 and an empty body: an exporter that serves but measured nothing.
EMPTY_EXPORTER = textwrap.dedent("""
    import sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    listen = next(a for a in sys.argv if a.startswith("--web.listen-address="))
    host, port = listen.split("=", 1)[1].rsplit(":", 1)
    class Empty(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *args):
            pass
    HTTPServer((host, int(port)), Empty).serve_forever()
""")


@pytest.mark.snmpd
def test_the_bench_fails_when_its_peer_returns_no_device_data(tmp_path: Path) -> None:
    require(Path(SNMPD).exists(), "no snmpd")
    out = tmp_path / "results.json"
    env = path_without_exporter(tmp_path, fake=EMPTY_EXPORTER)
    run = bench(out, "--pairs", "10", "--cycles", "1", "--interval", "2", env=env)
    assert run.returncode != 0
    assert "snmp_exporter (walk) returned no device data" in run.stderr
    assert not out.exists()


# --- bench.check: the doc's figures, held to the tolerance the doc states -------------------

# Every netmon row `make bench` and `make bench-full` produce.
MADE = [("netmon", 100), ("netmon", 1000), ("netmon", 5000),
        ("netmon daemon (30 s cycle)", 1000), ("netmon daemon (30 s cycle)", 5000)]  # fmt: skip


def test_the_doc_documents_every_figure_the_make_targets_produce() -> None:
    doc = parse_doc(DOC.read_text())
    assert 0 < doc.tolerance < 1
    assert sorted(doc.ratios) == sorted(MADE)
    for ratios in doc.ratios.values():
        assert all(math.isfinite(v) and v > 0 for v in ratios.values())
    # The tolerance the check applies is the one the doc's reader is told.
    assert f"**±{doc.tolerance:.0%}**" in DOC.read_text()


def documented_run(scale: dict[tuple[str, int, str], float] | None = None) -> dict[str, Any]:
    """A results file whose netmon rows carry the doc's own ratios, times `scale`."""
    doc = parse_doc(DOC.read_text())
    results: list[dict[str, Any]] = [
        {"peer": "snmp_exporter (walk)", "pairs": 100, "cpu_s_per_1k_pair_polls": 1.0}
    ]
    for (peer, pairs), ratios in doc.ratios.items():
        row: dict[str, Any] = {"peer": peer, "pairs": pairs, "cpu_s_per_1k_pair_polls": 0.5}
        for module, value in ratios.items():
            row[f"ratio_{module}"] = value * (scale or {}).get((peer, pairs, module), 1.0)
        results.append(row)
    return {"results": results}


def run_check(tmp_path: Path, data: dict[str, Any]) -> int:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return check_main([str(path), "--doc", str(DOC)])


def test_the_documented_figures_pass_the_check(tmp_path: Path) -> None:
    assert run_check(tmp_path, documented_run()) == 0


@pytest.mark.parametrize("module", ["walk", "get"])
@pytest.mark.parametrize("direction", [1, -1])
def test_a_ratio_outside_the_tolerance_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], module: str, direction: int
) -> None:
    tolerance = parse_doc(DOC.read_text()).tolerance
    inside = documented_run({("netmon", 1000, module): 1 + direction * 0.9 * tolerance})
    assert run_check(tmp_path, inside) == 0
    outside = documented_run({("netmon", 1000, module): 1 + direction * 1.1 * tolerance})
    assert run_check(tmp_path, outside) == 1
    assert f"netmon at 1000 pairs: ratio vs {module}" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), 0.0, "0.4"])
def test_a_row_without_a_numeric_ratio_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: object
) -> None:
    data = documented_run()
    row = next(r for r in data["results"] if r["peer"] == "netmon daemon (30 s cycle)")
    if bad is None:
        del row["ratio_get"]
    else:
        row["ratio_get"] = bad
    assert run_check(tmp_path, data) == 1
    assert "netmon daemon (30 s cycle) at 1000 pairs: ratio vs get" in capsys.readouterr().err


def test_an_undocumented_figure_or_no_figure_fails_the_check(tmp_path: Path) -> None:
    data = documented_run()
    data["results"].append({"peer": "netmon", "pairs": 200, "ratio_walk": 0.3, "ratio_get": 0.8})
    assert run_check(tmp_path, data) == 1
    only_exporter = [r for r in documented_run()["results"] if r["peer"].startswith("snmp")]
    assert run_check(tmp_path, {"results": only_exporter}) == 1


def test_the_recorded_full_run_matches_the_doc(tmp_path: Path) -> None:
    """bench/results.json is the `make bench-full` run the doc's figures were read from."""
    assert check_main([str(REPO / "bench" / "results.json"), "--doc", str(DOC)]) == 0


def test_each_ratio_is_taken_against_the_exporter_at_its_own_size() -> None:
    """Two sizes, the exporter's CPU different at each: every netmon row's ratios use the
    exporter rows of its own size and module, never another size's or the last row's."""
    results: list[dict[str, Any]] = [
        {"peer": "netmon", "pairs": 100, "cpu_s_per_1k_pair_polls": 0.4},
        {"peer": "snmp_exporter (walk)", "pairs": 100, "cpu_s_per_1k_pair_polls": 2.0},
        {"peer": "snmp_exporter (get)", "pairs": 100, "cpu_s_per_1k_pair_polls": 0.8},
        {"peer": "netmon", "pairs": 1000, "cpu_s_per_1k_pair_polls": 0.6},
        {"peer": "snmp_exporter (walk)", "pairs": 1000, "cpu_s_per_1k_pair_polls": 3.0},
        {"peer": "snmp_exporter (get)", "pairs": 1000, "cpu_s_per_1k_pair_polls": 1.5},
        {"peer": "netmon daemon (30 s cycle)", "pairs": 1000, "cpu_s_per_1k_pair_polls": 0.9},
    ]
    assert add_ratios(results) == []
    got = {
        (r["peer"], r["pairs"]): (r["ratio_walk"], r["ratio_get"])
        for r in results
        if "ratio_walk" in r
    }
    assert got == {
        ("netmon", 100): (pytest.approx(0.2), pytest.approx(0.5)),
        ("netmon", 1000): (pytest.approx(0.2), pytest.approx(0.4)),
        ("netmon daemon (30 s cycle)", 1000): (pytest.approx(0.3), pytest.approx(0.6)),
    }
    # A size without an exporter figure is named, not compared with another size's.
    lonely = [{"peer": "netmon", "pairs": 5000, "cpu_s_per_1k_pair_polls": 0.7}, *results[1:3]]
    assert add_ratios(lonely) == ["netmon at 5000 pairs: no snmp_exporter figure"]
    assert "ratio_walk" not in lonely[0]
