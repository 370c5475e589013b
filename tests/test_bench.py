"""The benchmark measures what docs/performance.md says it does: a tiny run of `python -m bench.run`
on a real snmpd fleet against the real prometheus-snmp-exporter (in the Makefile's DEBS; a run
without it fails, here as in the bench), over SNMPv2c and SNMPv3 in the same run, a ratio on
every netmon row (a v3 row also against its v2c twin), and `bench.check` holding the doc's
figures to its stated tolerance."""

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

from bench.check import DocError, parse_doc
from bench.check import main as check_main
from bench.fleet import COMMUNITY, V3_AUTH_KEY, V3_PRIV_KEY, V3_USER
from bench.run import (
    GOAL_INTERVAL_S,
    GOAL_PAIRS,
    add_ratios,
    exporter_config,
    inventory,
    inventory_yaml,
)
from netmon.inventory.loader import load_inventory
from netmon.model import SnmpV2c, SnmpV3

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
    for module in ("walk", "get", "walk_v3", "get_v3"):
        exporter = next(r for r in results if r["peer"] == f"snmp_exporter ({module})")
        assert exporter["pairs"] == 100
        assert exporter["cpu_s_per_1k_pair_polls"] > 0
        assert exporter["scrape_bytes_per_device"] > 0
    netmon_rows = [r for r in results if r["peer"].startswith("netmon")]
    assert [(r["peer"], r["snmp"]) for r in netmon_rows] == [
        ("netmon", "v2c"),
        ("netmon v3", "v3"),
        ("netmon daemon (2 s cycle)", "v2c"),
        ("netmon v3 daemon (2 s cycle)", "v3"),
    ]
    for row in netmon_rows:
        suffix = "" if row["snmp"] == "v2c" else "_v3"
        for module in ("walk", "get"):
            ratio = row[f"ratio_{module}"]
            assert isinstance(ratio, float)
            assert math.isfinite(ratio)
            assert ratio > 0
            # this row's own CPU over the exporter's over the same SNMP version, not another row's
            mine = row["cpu_s_per_1k_pair_polls"] / cpu[f"snmp_exporter ({module}{suffix})"]
            assert ratio == pytest.approx(mine)
        line = f"{row['peer']:30} {row['pairs']:>6} pairs: vs walk {row['ratio_walk']:5.2f}"
        assert line in run.stdout
        # every pair polled and healthy: a v3 poll refused by the agent would be cheap, not a figure
        assert row["pair_states"] == {"healthy": 100}
    for v3 in netmon_rows[1::2]:
        twin = next(
            r for r in netmon_rows if r["peer"] == v3["peer"].replace("netmon v3", "netmon")
        )
        assert v3["ratio_v2c"] == pytest.approx(
            v3["cpu_s_per_1k_pair_polls"] / twin["cpu_s_per_1k_pair_polls"]
        )
        assert f"vs v2c {v3['ratio_v2c']:5.2f}" in run.stdout
    assert not any("ratio_v2c" in r for r in netmon_rows[0::2])
    assert not any("ratio_walk" in r for r in results if r["peer"].startswith("snmp_exporter"))
    for daemon in (r for r in netmon_rows if r["role"] == "daemon"):
        assert daemon["polls_missed"] == 0
        assert daemon["pair_polls"] >= daemon["expected_pair_polls"]
        assert daemon["scrape_bytes"] > 0
        # the goal's share of one core, from this row's own CPU per pair-poll
        per_poll = daemon["cpu_s_per_1k_pair_polls"] / 1000
        assert daemon["core_share_at_goal"] == pytest.approx(
            per_poll * GOAL_PAIRS / GOAL_INTERVAL_S
        )
        assert daemon["peer"] in run.stdout.split("daemon  ", 1)[1]  # in the daemon table


def test_v3_is_measured_only_beside_v2c(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    run = bench(out, "--pairs", "10", "--cycles", "1", "--snmp", "v3")
    assert run.returncode == 2
    assert "--snmp v3 needs v2c beside it" in run.stderr
    assert not out.exists()


@pytest.mark.parametrize("v3", [False, True])
def test_the_daemons_inventory_file_is_the_poll_paths_fleet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, v3: bool
) -> None:
    """The daemon and the poll path poll the same devices with the same credentials: the file
    `inventory_yaml` writes loads (its secrets from the environment bench.run sets) to what
    `inventory` builds."""
    monkeypatch.setenv("NETMON_BENCH_COMMUNITY", COMMUNITY)
    monkeypatch.setenv("NETMON_BENCH_AUTH", V3_AUTH_KEY)
    monkeypatch.setenv("NETMON_BENCH_PRIV", V3_PRIV_KEY)
    path = tmp_path / "inventory.yaml"
    path.write_text(inventory_yaml(3, 30.0, v3=v3))
    loaded, built = load_inventory(path), inventory(3, v3=v3)
    assert sorted(loaded.devices) == sorted(built.devices)
    assert [p.name for p in loaded.pairs] == [p.name for p in built.pairs]
    for name, device in built.devices.items():
        got = loaded.devices[name]
        assert got.snmp is not None and device.snmp is not None
        assert (got.address, got.snmp.port) == (device.address, device.snmp.port)
        creds, want = got.snmp.credentials, device.snmp.credentials
        assert type(creds) is type(want)
        if isinstance(creds, SnmpV3):
            assert isinstance(want, SnmpV3)
            assert (creds.user, creds.auth_protocol, creds.priv_protocol) == (
                want.user, want.auth_protocol, want.priv_protocol,
            )  # fmt: skip
            assert creds.user == V3_USER
            assert creds.auth_key is not None and want.auth_key is not None
            assert creds.priv_key is not None and want.priv_key is not None
            assert creds.auth_key.reveal() == want.auth_key.reveal() == V3_AUTH_KEY
            assert creds.priv_key.reveal() == want.priv_key.reveal() == V3_PRIV_KEY
        else:
            assert isinstance(creds, SnmpV2c) and isinstance(want, SnmpV2c)
            assert creds.community.reveal() == want.community.reveal() == COMMUNITY


def test_the_exporters_v3_modules_read_what_its_v2c_modules_read(tmp_path: Path) -> None:
    """walk_v3 and get_v3 are walk and get over the fleet's v3 user (SHA-256, AES-128,
    authPriv): the same OIDs and metrics, so the v3 ratios compare like with like. That exporter
    0.21 accepts them and reads the fleet with them, the small bench run shows."""
    from ruamel.yaml import YAML

    path = tmp_path / "snmp.yml"
    exporter_config(path)
    modules = YAML(typ="safe").load(path.read_text())
    assert sorted(modules) == ["get", "get_v3", "walk", "walk_v3"]
    for config in ("walk", "get"):
        v2c, v3 = modules[config], modules[f"{config}_v3"]
        assert (v2c["version"], v3["version"]) == (2, 3)
        assert v2c["auth"] == {"community": COMMUNITY}
        assert v3["auth"] == {
            "username": V3_USER,
            "security_level": "authPriv",
            "password": V3_AUTH_KEY,
            "auth_protocol": "SHA256",
            "priv_protocol": "AES",
            "priv_password": V3_PRIV_KEY,
        }
        assert v3[config] == v2c[config]
        assert v3["metrics"] == v2c["metrics"]
        assert len(v2c[config]) == 10


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

# Every netmon row `make bench` and `make bench-full` produce, v2c and v3.
MADE = [(peer, pairs) for peer in ("netmon", "netmon v3") for pairs in (100, 1000, 5000)] + [
    (peer, pairs)
    for peer in ("netmon daemon (30 s cycle)", "netmon v3 daemon (30 s cycle)")
    for pairs in (1000, 5000)
]


def test_the_doc_documents_every_figure_the_make_targets_produce() -> None:
    doc = parse_doc(DOC.read_text())
    assert 0 < doc.tolerance < 1
    assert sorted(doc.ratios) == sorted(MADE)
    for (peer, _pairs), ratios in doc.ratios.items():
        assert all(math.isfinite(v) and v > 0 for v in ratios.values())
        # a v3 row has its ratio to v2c; a v2c row has none to itself
        want = ["get", "v2c", "walk"] if peer.startswith("netmon v3") else ["get", "walk"]
        assert sorted(ratios) == want
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
        row["snmp"] = "v3" if peer.startswith("netmon v3") else "v2c"
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


@pytest.mark.parametrize(
    ("peer", "module"),
    [
        ("netmon", "walk"),
        ("netmon", "get"),
        ("netmon v3", "walk"),
        ("netmon v3", "get"),
        ("netmon v3", "v2c"),
        ("netmon v3 daemon (30 s cycle)", "v2c"),
    ],
)
@pytest.mark.parametrize("direction", [1, -1])
def test_a_ratio_outside_the_tolerance_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], peer: str, module: str, direction: int
) -> None:
    tolerance = parse_doc(DOC.read_text()).tolerance
    inside = documented_run({(peer, 1000, module): 1 + direction * 0.9 * tolerance})
    assert run_check(tmp_path, inside) == 0
    outside = documented_run({(peer, 1000, module): 1 + direction * 1.1 * tolerance})
    assert run_check(tmp_path, outside) == 1
    assert f"{peer} at 1000 pairs: ratio vs {module}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("peer", "module"),
    [("netmon daemon (30 s cycle)", "get"), ("netmon v3 daemon (30 s cycle)", "v2c")],
)
@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), 0.0, "0.4"])
def test_a_row_without_a_numeric_ratio_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], peer: str, module: str, bad: object
) -> None:
    data = documented_run()
    row = next(r for r in data["results"] if r["peer"] == peer and r["pairs"] == 1000)
    if bad is None:
        del row[f"ratio_{module}"]
    else:
        row[f"ratio_{module}"] = bad
    assert run_check(tmp_path, data) == 1
    assert f"{peer} at 1000 pairs: ratio vs {module}" in capsys.readouterr().err


def test_a_v3_row_needs_a_documented_ratio_to_v2c(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dash under `v3 / v2c` is a v2c row's (it has no such ratio); on a v3 row the fresh
    ratio has nothing to be held to, and the check says so."""
    text = DOC.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `netmon v3` | 1,000 |"))
    cells = row.split("|")
    dashed = "|".join([*cells[:-2], " - ", ""])
    doc = tmp_path / "performance.md"
    doc.write_text(text.replace(row, dashed))
    assert "v2c" not in parse_doc(doc.read_text()).ratios[("netmon v3", 1000)]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(documented_run()))
    assert check_main([str(path), "--doc", str(doc)]) == 1
    assert "netmon v3 at 1000 pairs: no documented 'v3 / v2c' figure" in capsys.readouterr().err


def test_a_dash_is_no_figure_for_walk_or_get(tmp_path: Path) -> None:
    text = DOC.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `netmon` | 1,000 |"))
    cells = row.split("|")
    cells[-4] = " - "  # netmon / walk
    with pytest.raises(DocError, match="no figure under netmon / walk"):
        parse_doc(text.replace(row, "|".join(cells)))


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
    assert add_ratios(lonely) == [
        "netmon at 5000 pairs: no snmp_exporter (walk) figure",
        "netmon at 5000 pairs: no snmp_exporter (get) figure",
    ]
    assert "ratio_walk" not in lonely[0]


def test_a_v3_row_is_taken_against_the_exporter_over_v3_and_its_own_v2c_twin() -> None:
    """netmon over v3 against the exporter's v3 modules (never its v2c ones), and against netmon
    over v2c: the same peer (poll path or daemon) at the same size."""
    results: list[dict[str, Any]] = [
        {"peer": "netmon", "snmp": "v2c", "pairs": 100, "cpu_s_per_1k_pair_polls": 0.4},
        {"peer": "netmon v3", "snmp": "v3", "pairs": 100, "cpu_s_per_1k_pair_polls": 0.6},
        {"peer": "netmon", "snmp": "v2c", "pairs": 1000, "cpu_s_per_1k_pair_polls": 0.5},
        {"peer": "netmon v3", "snmp": "v3", "pairs": 1000, "cpu_s_per_1k_pair_polls": 1.0},
        {"peer": "snmp_exporter (walk)", "pairs": 1000, "cpu_s_per_1k_pair_polls": 2.0},
        {"peer": "snmp_exporter (get)", "pairs": 1000, "cpu_s_per_1k_pair_polls": 0.8},
        {"peer": "snmp_exporter (walk_v3)", "pairs": 1000, "cpu_s_per_1k_pair_polls": 4.0},
        {"peer": "snmp_exporter (get_v3)", "pairs": 1000, "cpu_s_per_1k_pair_polls": 1.25},
        {"peer": "snmp_exporter (walk_v3)", "pairs": 100, "cpu_s_per_1k_pair_polls": 3.0},
        {"peer": "snmp_exporter (get_v3)", "pairs": 100, "cpu_s_per_1k_pair_polls": 1.2},
        {"peer": "snmp_exporter (walk)", "pairs": 100, "cpu_s_per_1k_pair_polls": 2.4},
        {"peer": "snmp_exporter (get)", "pairs": 100, "cpu_s_per_1k_pair_polls": 0.6},
        {"peer": "netmon daemon (30 s cycle)", "snmp": "v2c", "pairs": 1000,
         "cpu_s_per_1k_pair_polls": 0.8},
        {"peer": "netmon v3 daemon (30 s cycle)", "snmp": "v3", "pairs": 1000,
         "cpu_s_per_1k_pair_polls": 1.0},
    ]  # fmt: skip
    assert add_ratios(results) == []
    got = {
        (r["peer"], r["pairs"]): (r["ratio_walk"], r["ratio_get"], r.get("ratio_v2c"))
        for r in results
        if "ratio_walk" in r
    }
    approx = pytest.approx
    assert got == {
        ("netmon", 100): (approx(0.4 / 2.4), approx(0.4 / 0.6), None),
        ("netmon v3", 100): (approx(0.2), approx(0.5), approx(1.5)),
        ("netmon", 1000): (approx(0.25), approx(0.625), None),
        ("netmon v3", 1000): (approx(0.25), approx(0.8), approx(2.0)),
        ("netmon daemon (30 s cycle)", 1000): (approx(0.4), approx(1.0), None),
        ("netmon v3 daemon (30 s cycle)", 1000): (approx(0.25), approx(0.8), approx(1.25)),
    }
    # Without its v2c twin or the exporter over v3, a v3 row names what it lacks.
    alone = [
        {"peer": "netmon v3", "snmp": "v3", "pairs": 100, "cpu_s_per_1k_pair_polls": 0.6},
        {"peer": "snmp_exporter (walk)", "pairs": 100, "cpu_s_per_1k_pair_polls": 2.4},
        {"peer": "snmp_exporter (get)", "pairs": 100, "cpu_s_per_1k_pair_polls": 0.6},
        {"peer": "netmon", "snmp": "v2c", "pairs": 1000, "cpu_s_per_1k_pair_polls": 0.5},
    ]
    assert add_ratios(alone) == [
        "netmon v3 at 100 pairs: no snmp_exporter (walk_v3) figure",
        "netmon v3 at 100 pairs: no snmp_exporter (get_v3) figure",
        "netmon v3 at 100 pairs: no netmon figure",
        "netmon at 1000 pairs: no snmp_exporter (walk) figure",
        "netmon at 1000 pairs: no snmp_exporter (get) figure",
    ]
    assert not any(k.startswith("ratio_") for k in alone[0])
